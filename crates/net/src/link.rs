//! Link emulation (feature `link-emulation`, tests and testnet only): every
//! byte read from a connection is held back for the link's one-way delay,
//! whatever protocol it carries, so each hop of gossip, each sync round
//! trip and each handshake pays the latency of the link it crosses.
//!
//! The delay is applied on the receiving side of each substream, keyed by
//! the remote peer: a node configured with a delay of `d` sees every link
//! to it as `d` long in the direction towards it. Data keeps its order and
//! its pace (bytes are read ahead and released when due), as on a long wire.
//!
//! A bandwidth cap makes the link serial: all substreams of a connection
//! share one wire, and a chunk read when the wire is still busy is due only
//! once the chunks before it have passed at the link's rate (plus the delay).

use std::{
    collections::VecDeque,
    io,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use futures::{AsyncRead, AsyncWrite};
use libp2p::core::muxing::{StreamMuxer, StreamMuxerEvent};
use tokio::time::{Instant, Sleep};

/// Most bytes read ahead and held on one substream; beyond it the sender
/// is slowed by the muxer's flow control, as a full link would.
const MAX_HELD: usize = 1024 * 1024;
/// Size of one read from the underlying substream.
const CHUNK: usize = 16 * 1024;

/// One connection's wire when its bandwidth is capped: bytes per second,
/// and when the wire is free again (shared by its substreams).
#[derive(Clone)]
pub(crate) struct Wire {
    rate: u64,
    free_at: Arc<Mutex<Option<Instant>>>,
}

impl Wire {
    fn new(rate: u64) -> Self {
        Wire {
            rate: rate.max(1),
            free_at: Arc::new(Mutex::new(None)),
        }
    }

    /// When `n` bytes that arrived at `now` have crossed the wire.
    fn crossed(&self, now: Instant, n: usize) -> Instant {
        let took = Duration::from_secs_f64(n as f64 / self.rate as f64);
        let Ok(mut free) = self.free_at.lock() else {
            return now + took;
        };
        let start = free.map_or(now, |f| f.max(now));
        let done = start + took;
        *free = Some(done);
        done
    }
}

/// A muxer whose substreams deliver what they read `delay` late (and, with
/// a bandwidth cap, no faster than the wire carries).
pub(crate) struct Delayed<M> {
    inner: M,
    delay: Duration,
    wire: Option<Wire>,
}

impl<M> Delayed<M> {
    pub(crate) fn new(inner: M, delay: Duration, bandwidth: Option<u64>) -> Self {
        Delayed {
            inner,
            delay,
            wire: bandwidth.map(Wire::new),
        }
    }
}

impl<M> StreamMuxer for Delayed<M>
where
    M: StreamMuxer + Unpin,
    M::Substream: Unpin,
{
    type Substream = DelayedStream<M::Substream>;
    type Error = M::Error;

    fn poll_inbound(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Substream, Self::Error>> {
        let (delay, wire) = (self.delay, self.wire.clone());
        Pin::new(&mut self.inner)
            .poll_inbound(cx)
            .map_ok(|s| DelayedStream::new(s, delay, wire))
    }

    fn poll_outbound(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Substream, Self::Error>> {
        let (delay, wire) = (self.delay, self.wire.clone());
        Pin::new(&mut self.inner)
            .poll_outbound(cx)
            .map_ok(|s| DelayedStream::new(s, delay, wire))
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<StreamMuxerEvent, Self::Error>> {
        Pin::new(&mut self.inner).poll(cx)
    }
}

/// A substream whose reads lag by the link's delay.
pub(crate) struct DelayedStream<S> {
    inner: S,
    delay: Duration,
    /// The connection's capped wire, if any.
    wire: Option<Wire>,
    /// Bytes read from `inner`, with when each chunk is due.
    held: VecDeque<(Instant, Vec<u8>)>,
    held_bytes: usize,
    /// How far the front chunk has been handed out.
    front_offset: usize,
    /// When the end of the stream (or its error) is due.
    end: Option<(Instant, Option<io::Error>)>,
    timer: Option<Pin<Box<Sleep>>>,
    /// Where reads land before they are held (allocated once).
    scratch: Vec<u8>,
}

impl<S> DelayedStream<S> {
    fn new(inner: S, delay: Duration, wire: Option<Wire>) -> Self {
        DelayedStream {
            inner,
            delay,
            wire,
            held: VecDeque::new(),
            held_bytes: 0,
            front_offset: 0,
            end: None,
            timer: None,
            scratch: vec![0; CHUNK],
        }
    }

    /// Waits until `due`; `Ready` once it has passed.
    fn wait_until(&mut self, due: Instant, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= due {
            return Poll::Ready(());
        }
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
        timer.as_mut().reset(due);
        timer.as_mut().poll(cx)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for DelayedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        // Read ahead whatever has arrived, stamping when it is due.
        while this.end.is_none() && this.held_bytes < MAX_HELD {
            match Pin::new(&mut this.inner).poll_read(cx, &mut this.scratch) {
                Poll::Ready(Ok(0)) => this.end = Some((Instant::now() + this.delay, None)),
                Poll::Ready(Ok(n)) => {
                    this.held_bytes += n;
                    let now = Instant::now();
                    let crossed = this.wire.as_ref().map_or(now, |w| w.crossed(now, n));
                    this.held
                        .push_back((crossed + this.delay, this.scratch[..n].to_vec()));
                }
                Poll::Ready(Err(e)) => this.end = Some((Instant::now() + this.delay, Some(e))),
                Poll::Pending => break,
            }
        }
        if let Some((due, _)) = this.held.front() {
            let due = *due;
            if this.wait_until(due, cx).is_pending() {
                return Poll::Pending;
            }
            let Some((_, chunk)) = this.held.front() else {
                return Poll::Pending;
            };
            let n = buf.len().min(chunk.len() - this.front_offset);
            buf[..n].copy_from_slice(&chunk[this.front_offset..this.front_offset + n]);
            this.front_offset += n;
            if this.front_offset == chunk.len() {
                this.held.pop_front();
                this.front_offset = 0;
            }
            this.held_bytes -= n;
            return Poll::Ready(Ok(n));
        }
        if let Some((due, _)) = &this.end {
            let due = *due;
            if this.wait_until(due, cx).is_pending() {
                return Poll::Pending;
            }
            return match this.end.as_mut().and_then(|(_, e)| e.take()) {
                Some(e) => Poll::Ready(Err(e)),
                None => Poll::Ready(Ok(0)),
            };
        }
        Poll::Pending
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for DelayedStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn bytes_arrive_in_order_after_the_delay() {
        let (a, b) = tokio::io::duplex(64 * 1024);
        use tokio_util::compat::TokioAsyncReadCompatExt;
        let mut writer = a.compat();
        let mut reader = DelayedStream::new(b.compat(), Duration::from_millis(50), None);
        let start = Instant::now();
        writer.write_all(b"hello ").await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        writer.write_all(b"world").await.unwrap();
        writer.close().await.unwrap();
        drop(writer);
        let mut got = Vec::new();
        reader.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"hello world");
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(60),
            "the last byte left 10 ms after the first and is due 50 ms later: {took:?}"
        );
    }

    /// With a bandwidth cap, two substreams of one connection share the
    /// wire: 20 KB at 10 KB/s take two seconds, whichever stream carries
    /// them.
    #[tokio::test(start_paused = true)]
    async fn a_capped_link_carries_no_more_than_its_rate() {
        use tokio_util::compat::TokioAsyncReadCompatExt;
        let wire = Wire::new(10_000);
        let mut readers = Vec::new();
        let mut writers = Vec::new();
        for _ in 0..2 {
            let (a, b) = tokio::io::duplex(64 * 1024);
            writers.push(a.compat());
            readers.push(DelayedStream::new(
                b.compat(),
                Duration::ZERO,
                Some(wire.clone()),
            ));
        }
        let start = Instant::now();
        for w in &mut writers {
            w.write_all(&[7u8; 10_000]).await.unwrap();
            w.close().await.unwrap();
        }
        drop(writers);
        // Both read at once: separate caps per stream would take 1 s.
        let [r1, r2] = &mut readers[..] else {
            unreachable!()
        };
        let (mut g1, mut g2) = (Vec::new(), Vec::new());
        let (a, b) = futures::join!(r1.read_to_end(&mut g1), r2.read_to_end(&mut g2));
        a.unwrap();
        b.unwrap();
        assert_eq!((g1.len(), g2.len()), (10_000, 10_000));
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(1_990) && took < Duration::from_millis(2_500),
            "20 KB at 10 KB/s: {took:?}"
        );
    }
}
