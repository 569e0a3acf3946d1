//! Two real swarms on loopback in one process: gossip needs the node's
//! verdict before relaying, and sync requests reach their answer.

use std::time::Duration;

use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

use super::*;

const WAIT: Duration = Duration::from_secs(20);

fn config(bootstrap: Vec<Multiaddr>) -> Config {
    Config {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootstrap,
        topic: protocol::envelope_topic("test"),
        heartbeat: Duration::from_millis(200),
        ..Config::default()
    }
}

async fn next_matching<T>(
    rx: &mut mpsc::Receiver<Event>,
    mut f: impl FnMut(Event) -> Option<T>,
) -> T {
    timeout(WAIT, async {
        loop {
            let e = rx.recv().await.expect("event loop alive");
            if let Some(t) = f(e) {
                return t;
            }
        }
    })
    .await
    .expect("event within the bounded wait")
}

#[tokio::test]
async fn gossip_and_sync_between_two_nodes() {
    let shutdown = CancellationToken::new();
    let (a, mut a_events, a_loop) = new(NodeKey::generate(), config(vec![])).unwrap();
    let a_task = tokio::spawn(a_loop.run(shutdown.clone()));
    let a_addr = next_matching(&mut a_events, |e| match e {
        Event::Listening { addr } => Some(addr),
        _ => None,
    })
    .await;

    let (b, mut b_events, b_loop) = new(NodeKey::generate(), config(vec![a_addr])).unwrap();
    let b_task = tokio::spawn(b_loop.run(shutdown.clone()));
    next_matching(&mut a_events, |e| {
        matches!(e, Event::Subscribed { .. }).then_some(())
    })
    .await;
    next_matching(&mut b_events, |e| {
        matches!(e, Event::Subscribed { .. }).then_some(())
    })
    .await;

    // Gossip: B publishes, A receives and accepts.
    let published = timeout(WAIT, async {
        loop {
            match b.publish(b"envelope bytes".to_vec()).await {
                Ok(()) => return,
                Err(Error::NoPeers) => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await;
    assert!(published.is_ok());
    let (id, source, data) = next_matching(&mut a_events, |e| match e {
        Event::Gossip {
            message_id,
            source,
            data,
        } => Some((message_id, source, data)),
        _ => None,
    })
    .await;
    assert_eq!(data, b"envelope bytes");
    assert_eq!(id, MessageId::from(blake3::hash(&data).as_bytes().to_vec()));
    a.validate(id, source, Validation::Accept).await.unwrap();

    // Sync: A asks B, B answers.
    let b_peer = b.status().await.unwrap().peer_id;
    let answer = tokio::spawn({
        let a = a.clone();
        async move { a.request(b_peer, b"what do you have?".to_vec()).await }
    });
    let (data, channel) = next_matching(&mut b_events, |e| match e {
        Event::Request { data, channel, .. } => Some((data, channel)),
        _ => None,
    })
    .await;
    assert_eq!(data, b"what do you have?");
    b.respond(channel, b"everything".to_vec()).await.unwrap();
    let got = timeout(WAIT, answer).await.unwrap().unwrap().unwrap();
    assert_eq!(got, b"everything");

    shutdown.cancel();
    timeout(WAIT, a_task).await.unwrap().unwrap();
    timeout(WAIT, b_task).await.unwrap().unwrap();
}
