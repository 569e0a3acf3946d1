//! Node configuration: a TOML file, every option also a flag; validated once
//! into [`Config`], which cannot be invalid.
//!
//! ```toml
//! data_dir = "/var/lib/csirtmesh"
//! charter = "/etc/csirtmesh/charter.toml"   # copied into data_dir on first run
//! listen = ["/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"]
//! bootstrap = ["/ip4/192.0.2.10/tcp/4001/p2p/12D3Koo..."]
//! api_listen = "127.0.0.1:7700"
//! metrics_listen = "0.0.0.0:9464"   # GET /metrics only, no token
//! external_addresses = ["/ip4/203.0.113.7/tcp/4001"]
//! sync_interval_secs = 30
//! ```

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::datadir::DataDir;

/// The config file's shape. Unknown keys are refused, so a typo is an error
/// rather than a silently ignored setting.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The data directory.
    pub data_dir: Option<PathBuf>,
    /// The charter file.
    pub charter: Option<PathBuf>,
    /// libp2p listen addresses.
    #[serde(default)]
    pub listen: Vec<String>,
    /// Bootstrap peers.
    #[serde(default)]
    pub bootstrap: Vec<String>,
    /// The admin API's address (loopback only).
    pub api_listen: Option<String>,
    /// A listener for `GET /metrics` alone, without a token (any address:
    /// for a Prometheus in another container or host).
    pub metrics_listen: Option<String>,
    /// This node's public addresses, when it knows them (a NAT or port
    /// forward in front of it): announced to peers.
    #[serde(default)]
    pub external_addresses: Vec<String>,
    /// The mesh runs on a private network: AutoNAT dials back private
    /// addresses too (on the internet it dials public ones only).
    #[serde(default)]
    pub private_network: bool,
    /// Seconds between anti-entropy rounds with a random peer.
    pub sync_interval_secs: Option<u64>,
    /// Emulated delay on incoming messages, ms (test builds only).
    pub emulate_delay_ms: Option<u64>,
    /// Emulated loss of incoming gossip, 0..1 (test builds only).
    pub emulate_loss: Option<f64>,
    /// Play a censoring member: relay nothing, answer no sync (test builds
    /// only).
    #[serde(default)]
    pub emulate_censor: bool,
    /// Emulated bandwidth of every incoming link, kbit/s (test builds only).
    pub emulate_bandwidth_kbps: Option<u64>,
}

impl FileConfig {
    /// Reads a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))
    }
}

/// A validated node configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The data directory.
    pub data_dir: DataDir,
    /// A charter file to adopt (first run) or check against the adopted one.
    pub charter: Option<PathBuf>,
    /// Network settings (listen, bootstrap; the topic is set from the charter).
    pub net: net::Config,
    /// Where the admin API listens (loopback).
    pub api_listen: SocketAddr,
    /// Where `GET /metrics` is served without a token, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Time between anti-entropy rounds.
    pub sync_interval: Duration,
}

/// Default listen addresses: loopback, any port, TCP and QUIC.
pub const DEFAULT_LISTEN: [&str; 2] = ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"];

impl Config {
    /// Merges flags over a file over defaults, and validates.
    pub fn build(file: FileConfig, flags: FileConfig) -> Result<Self> {
        let data_dir = flags
            .data_dir
            .or(file.data_dir)
            .context("no data directory: pass --data-dir or set data_dir in the config file")?;
        let listen = if !flags.listen.is_empty() {
            flags.listen
        } else if !file.listen.is_empty() {
            file.listen
        } else {
            DEFAULT_LISTEN.iter().map(|s| s.to_string()).collect()
        };
        let bootstrap = if !flags.bootstrap.is_empty() {
            flags.bootstrap
        } else {
            file.bootstrap
        };
        let parse = |what: &str, s: &str| -> Result<net::Multiaddr> {
            s.parse()
                .with_context(|| format!("invalid {what} address {s:?}: expected a multiaddr like /ip4/127.0.0.1/tcp/4001"))
        };
        let listen = listen
            .iter()
            .map(|s| parse("listen", s))
            .collect::<Result<Vec<_>>>()?;
        let bootstrap = bootstrap
            .iter()
            .map(|s| parse("bootstrap", s))
            .collect::<Result<Vec<_>>>()?;
        let external = if !flags.external_addresses.is_empty() {
            flags.external_addresses
        } else {
            file.external_addresses
        };
        let external_addresses = external
            .iter()
            .map(|s| parse("external", s))
            .collect::<Result<Vec<_>>>()?;
        for a in &external_addresses {
            if a.iter()
                .any(|p| matches!(p, net::multiaddr::Protocol::P2p(_)))
            {
                bail!(
                    "external address {a} names a peer: give the address alone, without /p2p/..."
                );
            }
        }
        let metrics_listen = flags
            .metrics_listen
            .or(file.metrics_listen)
            .map(|m| {
                m.parse::<SocketAddr>().with_context(|| {
                    format!("invalid metrics_listen {m:?}: expected an address like 0.0.0.0:9464")
                })
            })
            .transpose()?;
        for b in &bootstrap {
            if !b
                .iter()
                .any(|p| matches!(p, net::multiaddr::Protocol::P2p(_)))
            {
                bail!(
                    "bootstrap address {b} lacks /p2p/<peer id>: copy the full address the other node prints"
                );
            }
        }
        let api = flags
            .api_listen
            .or(file.api_listen)
            .unwrap_or_else(|| "127.0.0.1:0".into());
        let api_listen: SocketAddr = api.parse().with_context(|| {
            format!("invalid api_listen {api:?}: expected an address like 127.0.0.1:7700")
        })?;
        if !api_listen.ip().is_loopback() {
            bail!(
                "api_listen {api_listen} is not a loopback address: the admin API is for this machine only"
            );
        }
        let sync_secs = flags
            .sync_interval_secs
            .or(file.sync_interval_secs)
            .unwrap_or(15);
        if sync_secs == 0 {
            bail!("sync_interval_secs must be at least 1");
        }
        let delay = flags.emulate_delay_ms.or(file.emulate_delay_ms);
        let loss = flags.emulate_loss.or(file.emulate_loss);
        let censor = flags.emulate_censor || file.emulate_censor;
        let kbps = flags.emulate_bandwidth_kbps.or(file.emulate_bandwidth_kbps);
        let emulation = match (delay, loss) {
            (None, None) if !censor && kbps.is_none() => None,
            _ if !net::LINK_EMULATION => bail!(
                "link emulation (emulate_delay_ms, emulate_loss, emulate_censor, emulate_bandwidth_kbps) is for tests: this build has no `link-emulation` feature"
            ),
            _ if kbps == Some(0) => bail!("emulate_bandwidth_kbps must be at least 1"),
            (d, l) => {
                let loss = l.unwrap_or(0.0);
                if !(0.0..=1.0).contains(&loss) {
                    bail!("emulate_loss is a share, from 0 to 1 (got {loss})");
                }
                Some(net::LinkEmulation {
                    delay: Duration::from_millis(d.unwrap_or(0)),
                    loss,
                    links: Default::default(),
                    censor,
                    bandwidth: kbps.map(|k| k.saturating_mul(1000) / 8),
                })
            }
        };
        Ok(Config {
            data_dir: DataDir::new(data_dir),
            charter: flags.charter.or(file.charter),
            net: net::Config {
                listen,
                bootstrap,
                external_addresses,
                private_network: flags.private_network || file.private_network,
                emulation,
                ..net::Config::default()
            },
            api_listen,
            metrics_listen,
            sync_interval: Duration::from_secs(sync_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_and_bad_values_are_named() {
        let file: FileConfig =
            toml::from_str("data_dir = \"/a\"\napi_listen = \"127.0.0.1:9\"").unwrap();
        let flags = FileConfig {
            data_dir: Some("/b".into()),
            ..Default::default()
        };
        let c = Config::build(file, flags).unwrap();
        assert_eq!(c.data_dir.root(), Path::new("/b"));
        assert_eq!(c.api_listen.port(), 9);
        assert_eq!(c.net.listen.len(), 2);

        let bad = FileConfig {
            data_dir: Some("/a".into()),
            api_listen: Some("0.0.0.0:80".into()),
            ..Default::default()
        };
        assert!(
            Config::build(FileConfig::default(), bad)
                .unwrap_err()
                .to_string()
                .contains("loopback")
        );
        assert!(toml::from_str::<FileConfig>("dta_dir = 1").is_err());
        let no_peer = FileConfig {
            data_dir: Some("/a".into()),
            bootstrap: vec!["/ip4/127.0.0.1/tcp/1".into()],
            ..Default::default()
        };
        assert!(
            Config::build(FileConfig::default(), no_peer)
                .unwrap_err()
                .to_string()
                .contains("/p2p/")
        );
    }
}
