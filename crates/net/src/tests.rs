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

/// A running node: its client, its events, its loop's task, its address.
type Running = (
    Client,
    mpsc::Receiver<Event>,
    tokio::task::JoinHandle<()>,
    Multiaddr,
);

/// Starts a node with `cfg` and waits (bounded) until it listens.
async fn start(cfg: Config, shutdown: &CancellationToken) -> Running {
    let (client, mut events, event_loop) = new(NodeKey::generate(), cfg).unwrap();
    let task = tokio::spawn(event_loop.run(shutdown.clone()));
    let addr = next_matching(&mut events, |e| match e {
        Event::Listening { addr } => Some(addr),
        _ => None,
    })
    .await;
    (client, events, task, addr)
}

#[tokio::test]
async fn gossip_and_sync_between_two_nodes() {
    let shutdown = CancellationToken::new();
    let (a, mut a_events, a_task, a_addr) = start(config(vec![]), &shutdown).await;
    let (b, mut b_events, b_task, _) = start(config(vec![a_addr]), &shutdown).await;
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
    a.validate(id, source, Validation::Accept).unwrap();

    // Sync: A asks B, B answers.
    let b_peer = timeout(WAIT, b.status()).await.unwrap().unwrap().peer_id;
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
    b.respond(channel, b"everything".to_vec()).unwrap();
    let got = timeout(WAIT, answer).await.unwrap().unwrap().unwrap();
    assert_eq!(got, b"everything");

    // Traffic counters come from libp2p's metrics: A received one gossip
    // message, no duplicate, and bytes both ways.
    let traffic = timeout(WAIT, a.status()).await.unwrap().unwrap().traffic;
    assert_eq!(traffic.gossip_received, 1, "{traffic:?}");
    assert_eq!(traffic.gossip_duplicates, 0, "{traffic:?}");
    assert!(traffic.bytes_in > 0 && traffic.bytes_out > 0, "{traffic:?}");

    shutdown.cancel();
    timeout(WAIT, a_task).await.unwrap().unwrap();
    timeout(WAIT, b_task).await.unwrap().unwrap();
}

/// A node that stops reading events (busy, or waiting on the network itself)
/// must not stop the network from answering it: with the event channel full
/// of gossip, status and publish still answer, and nothing queued is lost.
#[tokio::test]
async fn a_full_event_channel_does_not_stall_commands() {
    const SENT: usize = 40;
    let shutdown = CancellationToken::new();
    let a_cfg = Config {
        event_capacity: 4,
        ..config(vec![])
    };
    let (a, mut a_events, a_task, a_addr) = start(a_cfg, &shutdown).await;
    let (b, mut b_events, b_task, _) = start(config(vec![a_addr]), &shutdown).await;
    next_matching(&mut b_events, |e| {
        matches!(e, Event::Subscribed { .. }).then_some(())
    })
    .await;
    // B floods A; A reads none of it, so A's four event slots fill.
    for i in 0..SENT {
        timeout(WAIT, async {
            while let Err(Error::NoPeers) = b.publish(format!("flood {i}").into_bytes()).await {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("B publishes");
    }
    // Wait (bounded) until A's loop holds more than its channel takes:
    // then it is parked on an event the node has not read.
    timeout(WAIT, async {
        while a_events.capacity() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("A's event channel fills");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The commands a node handler awaits still answer.
    let status = timeout(WAIT, a.status()).await;
    assert!(status.is_ok(), "status stalled behind a full event channel");
    let publish = timeout(WAIT, a.publish(b"from A".to_vec())).await;
    assert!(
        publish.is_ok(),
        "publish stalled behind a full event channel"
    );
    // Draining the events delivers every flooded message, none dropped.
    let mut got = 0;
    while got < SENT {
        next_matching(&mut a_events, |e| match e {
            Event::Gossip {
                message_id, source, ..
            } => Some((message_id, source)),
            _ => None,
        })
        .await;
        got += 1;
    }
    shutdown.cancel();
    timeout(WAIT, a_task).await.unwrap().unwrap();
    timeout(WAIT, b_task).await.unwrap().unwrap();
}

/// A banned peer stays out: its connection is closed, its dials back (every
/// 300 ms here) are refused until the ban ends, the status says who is out
/// and why, and once the ban is over it connects again.
#[tokio::test]
async fn a_ban_sticks_until_it_ends() {
    let shutdown = CancellationToken::new();
    let a_cfg = Config {
        ban_time: Duration::from_secs(3),
        ..config(vec![])
    };
    let (a, mut a_events, a_task, a_addr) = start(a_cfg, &shutdown).await;
    let b_cfg = Config {
        discovery_interval: Duration::from_millis(300),
        ..config(vec![a_addr])
    };
    let (b, _b_events, b_task, _) = start(b_cfg, &shutdown).await;
    let b_peer = timeout(WAIT, b.status()).await.unwrap().unwrap().peer_id;
    next_matching(&mut a_events, |e| {
        matches!(e, Event::Connected { peer } if peer == b_peer).then_some(())
    })
    .await;
    a.ban(b_peer, "3 invalid envelopes".into()).unwrap();
    next_matching(&mut a_events, |e| {
        matches!(e, Event::Disconnected { peer } if peer == b_peer).then_some(())
    })
    .await;
    let blocked = timeout(WAIT, a.status()).await.unwrap().unwrap().blocked;
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0].peer, b_peer);
    assert_eq!(blocked[0].reason, "3 invalid envelopes");
    // B dials back every 300 ms while banned: A lets none through (no
    // connection event for B until the ban is nearly over).
    let early = timeout(
        Duration::from_millis(2500),
        next_matching(&mut a_events, |e| {
            matches!(e, Event::Connected { peer } if peer == b_peer).then_some(())
        }),
    )
    .await;
    assert!(early.is_err(), "B got in while banned");
    // The ban ends; B's next dial gets in.
    next_matching(&mut a_events, |e| {
        matches!(e, Event::Connected { peer } if peer == b_peer).then_some(())
    })
    .await;
    assert!(
        timeout(WAIT, a.status())
            .await
            .unwrap()
            .unwrap()
            .blocked
            .is_empty()
    );
    shutdown.cancel();
    timeout(WAIT, a_task).await.unwrap().unwrap();
    timeout(WAIT, b_task).await.unwrap().unwrap();
}

/// A message over the size limit is not dropped silently inside gossipsub:
/// it reaches the node (which refuses it, logs it and counts it against the
/// peer that sent it).
#[tokio::test]
async fn an_oversized_message_reaches_the_node_to_be_refused() {
    let shutdown = CancellationToken::new();
    let (a, mut a_events, a_task, a_addr) = start(config(vec![]), &shutdown).await;
    let (b, mut b_events, b_task, _) = start(config(vec![a_addr]), &shutdown).await;
    next_matching(&mut b_events, |e| {
        matches!(e, Event::Subscribed { .. }).then_some(())
    })
    .await;
    let big = vec![7u8; Config::default().max_message_bytes * 2];
    timeout(WAIT, async {
        while let Err(Error::NoPeers) = b.publish(big.clone()).await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("B publishes");
    let (id, source, len) = next_matching(&mut a_events, |e| match e {
        Event::Gossip {
            message_id,
            source,
            data,
        } => Some((message_id, source, data.len())),
        _ => None,
    })
    .await;
    assert_eq!(len, big.len());
    a.validate(id, source, Validation::Reject).unwrap();
    shutdown.cancel();
    timeout(WAIT, a_task).await.unwrap().unwrap();
    timeout(WAIT, b_task).await.unwrap().unwrap();
}

/// A relay serves only the peers it is told are members' nodes.
#[tokio::test]
async fn the_relay_serves_members_nodes_only() {
    for allow in [false, true] {
        let shutdown = CancellationToken::new();
        let relay_cfg = Config {
            relay_server: true,
            ..config(vec![])
        };
        let (relay, mut relay_events, relay_loop) = new(NodeKey::generate(), relay_cfg).unwrap();
        let relay_task = tokio::spawn(relay_loop.run(shutdown.clone()));
        let relay_addr = next_matching(&mut relay_events, |e| match e {
            Event::Listening { addr } => Some(addr),
            _ => None,
        })
        .await;
        let client_key = NodeKey::generate();
        let client_peer = client_key.peer_id();
        relay
            .set_admitted(if allow { vec![client_peer] } else { vec![] }, vec![])
            .unwrap();
        let circuit = relay_addr
            .clone()
            .with(libp2p::multiaddr::Protocol::P2pCircuit);
        let client_cfg = Config {
            listen: vec![circuit],
            discovery_interval: Duration::from_millis(300),
            ..config(vec![relay_addr])
        };
        let (client, _client_events, client_loop) = new(client_key, client_cfg).unwrap();
        let client_task = tokio::spawn(client_loop.run(shutdown.clone()));
        // Give the client a few reservation attempts.
        let got = timeout(Duration::from_secs(5), async {
            loop {
                if client
                    .status()
                    .await
                    .unwrap()
                    .listen_addrs
                    .iter()
                    .any(|a| a.to_string().contains("p2p-circuit"))
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .is_ok();
        assert_eq!(
            got, allow,
            "a relayed address only for an allowed peer (allowed: {allow})"
        );
        shutdown.cancel();
        timeout(WAIT, relay_task).await.unwrap().unwrap();
        timeout(WAIT, client_task).await.unwrap().unwrap();
    }
}

/// The bare-gossipsub baseline delivers every message to every other node
/// and counts its traffic (correctness only; its figures are for the bench).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_baseline_delivers_everything() {
    let report = crate::baseline::run(&crate::baseline::BaselineConfig {
        dials: None,
        nodes: 3,
        messages: 5,
        payload_bytes: 64,
        rate_per_sec: 50.0,
        timeout: Duration::from_secs(30),
    })
    .await
    .unwrap();
    assert_eq!(report.expected, 10);
    assert_eq!(report.latencies_us.len(), 10);
    assert!(report.traffic.bytes_out > 10 * 64, "{:?}", report.traffic);
}

/// Only members' and applicants' nodes keep a connection, and only
/// members' nodes get gossip: a stranger that dials in and subscribes is
/// published nothing, and is closed once its window is over (counted in the
/// status), while an admitted peer that dials in the same way gets what is
/// published and stays.
#[tokio::test]
async fn a_stranger_gets_no_gossip_and_is_closed_after_its_window() {
    let shutdown = CancellationToken::new();
    let a_cfg = Config {
        stranger_window: Duration::from_millis(1500),
        ..config(vec![])
    };
    let (a, mut a_events, a_task, a_addr) = start(a_cfg, &shutdown).await;
    let member_key = NodeKey::generate();
    a.set_admitted(vec![member_key.peer_id()], vec![]).unwrap();
    let (stranger, _s_events, s_task, _) = start(config(vec![a_addr.clone()]), &shutdown).await;
    let stranger_peer = timeout(WAIT, stranger.status())
        .await
        .unwrap()
        .unwrap()
        .peer_id;
    next_matching(&mut a_events, |e| {
        matches!(e, Event::Subscribed { peer } if peer == stranger_peer).then_some(())
    })
    .await;
    // Subscribed, but below the publish threshold: nobody to publish to.
    assert!(matches!(
        a.publish(b"for members".to_vec()).await,
        Err(Error::NoPeers)
    ));
    let (member, mut m_events, member_loop) = new(member_key, config(vec![a_addr])).unwrap();
    let m_task = tokio::spawn(member_loop.run(shutdown.clone()));
    let member_peer = timeout(WAIT, member.status())
        .await
        .unwrap()
        .unwrap()
        .peer_id;
    next_matching(&mut a_events, |e| {
        matches!(e, Event::Subscribed { peer } if peer == member_peer).then_some(())
    })
    .await;
    timeout(WAIT, async {
        while let Err(Error::NoPeers) = a.publish(b"for members".to_vec()).await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("A publishes to the member");
    let got = next_matching(&mut m_events, |e| match e {
        Event::Gossip { data, .. } => Some(data),
        _ => None,
    })
    .await;
    assert_eq!(got, b"for members");
    // (Polled, not awaited as an event: on a loaded machine the close may
    // come before the member's subscription.)
    let closed = timeout(WAIT, async {
        loop {
            let s = a.status().await.unwrap();
            if s.strangers_closed >= 1 {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the stranger is closed within the bounded wait");
    assert!(closed.connected.contains(&member_peer), "{closed:?}");
    // Past several windows, the member is still connected.
    tokio::time::sleep(Duration::from_millis(4000)).await;
    let status = timeout(WAIT, a.status()).await.unwrap().unwrap();
    assert!(status.connected.contains(&member_peer), "{status:?}");
    shutdown.cancel();
    for task in [a_task, s_task, m_task] {
        timeout(WAIT, task).await.unwrap().unwrap();
    }
}

/// A node proves its listing with its key; another key's signature, other
/// bytes, or an id that only hashes its key (no key inside to check with)
/// are refused.
#[test]
fn a_node_signature_checks_against_the_key_inside_its_id() {
    let (key, other) = (NodeKey::generate(), NodeKey::generate());
    let id = key.peer_id().to_bytes();
    let sig = key.sign(b"listed by team T").unwrap();
    assert!(crate::verify_node_signature(&id, b"listed by team T", &sig).is_ok());
    assert!(crate::verify_node_signature(&id, b"listed by team U", &sig).is_err());
    let forged = other.sign(b"listed by team T").unwrap();
    assert!(crate::verify_node_signature(&id, b"listed by team T", &forged).is_err());
    // A SHA-256 multihash (as RSA keys' ids are): nothing to check with.
    let hashed =
        PeerId::from_multihash(libp2p::multihash::Multihash::wrap(0x12, &[7u8; 32]).unwrap())
            .unwrap();
    let err = crate::verify_node_signature(&hashed.to_bytes(), b"listed by team T", &sig)
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not carry its public key"), "{err}");
    assert!(crate::verify_node_signature(b"junk", b"x", &sig).is_err());
}
