//! The TCP transport (noise, yamux), built by hand rather than by
//! `SwarmBuilder::with_tcp` so that the testnet build can add what tests
//! need: an in-process memory transport for simulations and emulated link
//! delay (feature `link-emulation`). A production build gets exactly what
//! `with_tcp` would give.

use libp2p::{
    PeerId, Transport,
    core::{muxing::StreamMuxerBox, transport::Boxed, upgrade::Version},
    identity::Keypair,
    noise, tcp, yamux,
};

use crate::Config;

/// TCP (and, in test builds, `/memory`) with noise and yamux.
pub(crate) fn build(
    key: &Keypair,
    config: &Config,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, noise::Error> {
    let tcp = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true));
    #[cfg(feature = "link-emulation")]
    let base = tcp.or_transport(libp2p::core::transport::MemoryTransport::default());
    #[cfg(not(feature = "link-emulation"))]
    let base = tcp;
    #[cfg(not(feature = "link-emulation"))]
    let _ = config;
    let upgraded = base
        .upgrade(Version::V1Lazy)
        .authenticate(noise::Config::new(key)?)
        .multiplex(yamux::Config::default());
    #[cfg(feature = "link-emulation")]
    {
        let emulation = config.emulation.clone();
        Ok(upgraded
            .map(move |(peer, muxer), _| match &emulation {
                Some(e) if e.link(&peer).shaped() => {
                    let link = e.link(&peer);
                    let shaped = crate::link::Delayed::new(muxer, link.delay, link.bandwidth);
                    (peer, StreamMuxerBox::new(shaped))
                }
                _ => (peer, StreamMuxerBox::new(muxer)),
            })
            .boxed())
    }
    #[cfg(not(feature = "link-emulation"))]
    Ok(upgraded
        .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
        .boxed())
}
