//! A team's profile, in the spirit of RFC 2350: who it is, what it covers,
//! how to reach it and how to encrypt to it.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{Error, Signature, TeamId, codec};

/// Largest encoded profile, in bytes.
pub const MAX_PROFILE_BYTES: usize = 16 * 1024;

/// Longest contact line: an address, a phone number, a URL.
pub const MAX_CONTACT_BYTES: usize = 256;

/// One entry of a constituency.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Constituency {
    /// An IPv4 or IPv6 prefix.
    Prefix(ipnet::IpNet),
    /// An autonomous system number.
    Asn(u32),
    /// A DNS domain and its subdomains (lowercase, no trailing dot).
    Domain(String),
}

impl fmt::Display for Constituency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Constituency::Prefix(p) => write!(f, "{p}"),
            Constituency::Asn(a) => write!(f, "AS{a}"),
            Constituency::Domain(d) => f.write_str(d),
        }
    }
}

impl FromStr for Constituency {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let err = |reason: &str| Error::Parse {
            what: "constituency entry",
            input: s.to_owned(),
            reason: reason.into(),
        };
        if s.contains('/') {
            let net: ipnet::IpNet = s
                .parse()
                .map_err(|_| err("not an IP prefix like 203.0.113.0/24"))?;
            return Ok(Constituency::Prefix(net.trunc()));
        }
        if let Some(n) = s.strip_prefix("AS").or_else(|| s.strip_prefix("as")) {
            let asn = n
                .parse()
                .map_err(|_| err("not an AS number like AS64500"))?;
            return Ok(Constituency::Asn(asn));
        }
        let domain = s.trim_end_matches('.').to_ascii_lowercase();
        let ok = !domain.is_empty()
            && domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !ok {
            return Err(err(
                "expected an IP prefix (a.b.c.d/n), an ASN (AS64500) or a domain (example.org)",
            ));
        }
        Ok(Constituency::Domain(domain))
    }
}

/// Roles a team may take for the mesh.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Runs a circuit relay and serves as a bootstrap point.
    Relay,
    /// CSIRT of last resort for these economies (ISO 3166 alpha-2 codes).
    LastResortFor(Vec<String>),
}

/// A team's profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The team's signing key.
    pub team: TeamId,
    /// Its name, as the community knows it.
    pub name: String,
    /// ISO 3166 alpha-2 country code, uppercase.
    pub country: Option<String>,
    /// The networks it is responsible for.
    pub constituency: Vec<Constituency>,
    /// How to reach its people (e-mail, phone), free text.
    pub contact: Option<String>,
    /// Its age X25519 recipient (`age1...`), to encrypt to it.
    pub recipient: String,
    /// libp2p PeerIds of its nodes, as bytes (multihash), so nodes can be
    /// tied to teams without `proto` knowing libp2p.
    pub peers: Vec<Vec<u8>>,
    /// For each of `peers`, in order, that node's signature of
    /// [`node_proof_message`] for this team: a team lists only nodes whose
    /// keys consent, so no team can claim another team's node.
    pub node_proofs: Vec<Signature>,
    /// Roles in the mesh.
    pub roles: Vec<Role>,
    /// Its RFC 2350 details (hours, emergency phone, PGP key...).
    pub details: crate::rfc2350::TeamDetails,
    /// When this version of the profile was made (ms since epoch); a newer
    /// profile of the same team replaces an older one.
    pub updated_at: u64,
}

impl Profile {
    /// Checks the fields a user typed.
    pub fn check(&self) -> Result<(), Error> {
        if self.name.trim().is_empty() || self.name.len() > 128 {
            return Err(Error::Invalid {
                field: "name",
                reason: "a team name needs 1 to 128 bytes".into(),
            });
        }
        crate::text::check_line("name", &self.name, 128)?;
        if self.constituency.len() > MAX_CONSTITUENCY {
            return Err(Error::Invalid {
                field: "constituency",
                reason: format!(
                    "{} entries, at most {MAX_CONSTITUENCY} (list aggregates, not every prefix)",
                    self.constituency.len()
                ),
            });
        }
        let distinct: std::collections::HashSet<&Constituency> = self.constituency.iter().collect();
        if distinct.len() != self.constituency.len() {
            return Err(Error::Invalid {
                field: "constituency",
                reason: "an entry is listed twice".into(),
            });
        }
        // A domain decoded from a peer went through no parser: it must be
        // one a user could have typed; a prefix, one with no host bits.
        for c in &self.constituency {
            if let Constituency::Prefix(p) = c
                && p.trunc() != *p
            {
                return Err(Error::Invalid {
                    field: "constituency",
                    reason: format!("{p} has host bits set (write {})", p.trunc()),
                });
            }
            if let Constituency::Domain(d) = c
                && d.parse::<Constituency>().ok().as_ref() != Some(c)
            {
                return Err(Error::Invalid {
                    field: "constituency",
                    reason: format!(
                        "{:?} is not a domain name",
                        crate::text::printable(d, false)
                    ),
                });
            }
        }
        if let Some(c) = &self.contact {
            crate::text::check_line("contact", c, MAX_CONTACT_BYTES)?;
        }
        if let Some(c) = &self.country
            && (c.len() != 2 || !c.chars().all(|c| c.is_ascii_uppercase()))
        {
            return Err(Error::Invalid {
                field: "country",
                reason: format!("{c:?} is not an ISO 3166 alpha-2 code like BR"),
            });
        }
        if !self.recipient.starts_with("age1") {
            return Err(Error::Invalid {
                field: "recipient",
                reason: "not an age X25519 recipient (age1...)".into(),
            });
        }
        self.details.check()?;
        check_nodes("peers", &self.peers)?;
        if self.node_proofs.len() != self.peers.len() {
            return Err(Error::Invalid {
                field: "node_proofs",
                reason: format!(
                    "{} node signatures for {} nodes: each listed node signs its listing",
                    self.node_proofs.len(),
                    self.peers.len()
                ),
            });
        }
        Ok(())
    }
}

impl Profile {
    /// The bytes a team signs: the previous release's shape when there are
    /// no RFC 2350 details (so its nodes keep reading this profile), the
    /// current one otherwise.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        match crate::legacy::ProfileV0::from_current(self) {
            Some(v0) => codec::encode("profile", &v0),
            None => codec::encode("profile", self),
        }
    }
}

/// What a node signs (with its libp2p key) to be listed in `team`'s
/// profile: `NODE_PROOF || 0 || team id`.
pub fn node_proof_message(team: &TeamId) -> Vec<u8> {
    let mut m = Vec::with_capacity(crate::context::NODE_PROOF.len() + 1 + 32);
    m.extend_from_slice(crate::context::NODE_PROOF);
    m.push(0);
    m.extend_from_slice(team.as_bytes());
    m
}

/// The most entries a constituency may list: every route and overlap is
/// computed over every member's entries.
pub const MAX_CONSTITUENCY: usize = 256;

/// The most node ids a profile (or an invitation) may list: every one may
/// hold connections to every member, so a team cannot claim many.
pub const MAX_NODES: usize = 8;

/// Longest node id (a libp2p PeerId as bytes is 38 for Ed25519 keys).
pub const MAX_NODE_ID_BYTES: usize = 64;

/// Checks a list of node ids: at most [`MAX_NODES`], each short.
pub fn check_nodes(field: &'static str, nodes: &[Vec<u8>]) -> Result<(), Error> {
    if nodes.len() > MAX_NODES {
        return Err(Error::Invalid {
            field,
            reason: format!("{} node ids, at most {MAX_NODES}", nodes.len()),
        });
    }
    if nodes
        .iter()
        .any(|n| n.is_empty() || n.len() > MAX_NODE_ID_BYTES)
    {
        return Err(Error::Invalid {
            field,
            reason: format!("a node id needs 1 to {MAX_NODE_ID_BYTES} bytes"),
        });
    }
    Ok(())
}

/// A profile signed by its own team (context `PROFILE`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedProfile {
    /// The exact encoding of a [`Profile`].
    pub content: Vec<u8>,
    /// The team's signature over it.
    pub signature: Signature,
}

impl SignedProfile {
    /// Encodes for a file or an envelope body.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        codec::encode("signed profile", self)
    }

    /// Decodes from a file or an envelope body, bounded.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        codec::decode("signed profile", bytes, MAX_PROFILE_BYTES)
    }

    /// Decodes the profile (the signature is checked by `csirtmesh-seal`).
    /// Both shapes decode: see [`Profile::to_bytes`].
    pub fn profile(&self) -> Result<Profile, Error> {
        let p: Profile = match codec::decode::<Profile>("profile", &self.content, MAX_PROFILE_BYTES)
        {
            // One value, one spelling (see `Profile::to_bytes`).
            Ok(p) if p.to_bytes().ok().as_deref() != Some(&self.content[..]) => {
                return Err(Error::NotCanonical { what: "profile" });
            }
            Ok(p) => p,
            Err(current) => codec::decode::<crate::legacy::ProfileV0>(
                "profile",
                &self.content,
                MAX_PROFILE_BYTES,
            )
            .map(Into::into)
            .map_err(|_| current)?,
        };
        p.check()?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_constituency_entries() {
        assert_eq!(
            "203.0.113.7/24"
                .parse::<Constituency>()
                .unwrap()
                .to_string(),
            "203.0.113.0/24"
        );
        assert_eq!(
            "AS64500".parse::<Constituency>().unwrap(),
            Constituency::Asn(64500)
        );
        assert_eq!(
            "Example.ORG.".parse::<Constituency>().unwrap(),
            Constituency::Domain("example.org".into())
        );
        assert!("2001:db8::/32".parse::<Constituency>().is_ok());
        assert!("not a thing".parse::<Constituency>().is_err());
        assert!("ASxyz".parse::<Constituency>().is_err());
    }
}
