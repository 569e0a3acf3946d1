//! The node's data directory: keys, profile, charter, database, API token.
//!
//! ```text
//! DIR/                 0700
//!   team.key           0600  ed25519 signing key (hex): the team's identity
//!   age.key            0600  age X25519 identity: opens what is sealed to the team
//!   node.key           0600  libp2p node key (protobuf)
//!   api.token          0600  bearer token of the local admin API
//!   profile.bin        0644  the team's self-signed profile (share it with the forum)
//!   charter.toml       0644  the mesh charter (copied in on first run)
//!   node.sqlite        0600  the envelope log
//!   api.addr           0644  where the running node's admin API listens
//!   restored.toml      0600  after a restore, until the node caught up (see backup)
//! ```
//!
//! `init` refuses a directory that already holds keys: overwriting a team's
//! keys would silently turn it into another team.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use proto::{Constituency, Profile, SignedProfile};
use seal::TeamKeys;

/// How long a replaced age identity is kept: a sender that had not yet
/// learned the new recipient, or an envelope sealed before the change that
/// arrives late, still opens. Past it, what was sealed to the old recipient
/// and not yet opened stays unread: a later theft of the data directory no
/// longer yields the old key.
pub const RETIRED_AGE_KEY_KEEP_MS: u64 = 30 * 24 * 3_600_000;

/// The node's signature consenting to be listed in `team`'s profile.
pub fn node_proof(key: &net::NodeKey, team: &proto::TeamId) -> Result<proto::Signature> {
    let sig = key.sign(&proto::profile::node_proof_message(team))?;
    let sig: [u8; 64] = sig
        .try_into()
        .map_err(|s: Vec<u8>| anyhow::anyhow!("a node signature of {} bytes, not 64", s.len()))?;
    Ok(proto::Signature(sig))
}

/// File names, in one place.
pub mod files {
    /// The team's signing key.
    pub const TEAM_KEY: &str = "team.key";
    /// A new signing key during a key rotation (see `csirtmesh rotate-key`).
    pub const TEAM_KEY_NEXT: &str = "team.key.next";
    /// The team's age identity.
    pub const AGE_KEY: &str = "age.key";
    /// A new age identity while its profile is being published.
    pub const AGE_KEY_NEXT: &str = "age.key.next";
    /// Age identities the team replaced, one per line with the time it was
    /// replaced (ms since epoch): kept [`super::RETIRED_AGE_KEY_KEEP_MS`] to
    /// open what senders sealed to the old recipient before they learned the
    /// new one, then deleted.
    pub const AGE_KEY_RETIRED: &str = "age.key.retired";
    /// The node's libp2p key.
    pub const NODE_KEY: &str = "node.key";
    /// The admin API token.
    pub const API_TOKEN: &str = "api.token";
    /// The signed profile.
    pub const PROFILE: &str = "profile.bin";
    /// The charter.
    pub const CHARTER: &str = "charter.toml";
    /// The database.
    pub const DATABASE: &str = "node.sqlite";
    /// The running API's address.
    pub const API_ADDR: &str = "api.addr";
    /// Present after `csirtmesh restore`: the node writes nothing until it
    /// has caught up with a member, then continues its chain past what it
    /// may have written after the backup.
    pub const RESTORED: &str = "restored.toml";
    /// The store's copy while `csirtmesh backup` writes it into the archive.
    pub const BACKUP_COPY: &str = "backup-copy.sqlite";
}

/// What `init` is told about the team.
#[derive(Clone, Debug, Default)]
pub struct InitOptions {
    /// Team name.
    pub name: String,
    /// ISO country code.
    pub country: Option<String>,
    /// Constituency entries (prefixes, ASNs, domains).
    pub constituency: Vec<Constituency>,
    /// Contact line.
    pub contact: Option<String>,
    /// Roles.
    pub roles: Vec<proto::Role>,
    /// RFC 2350 details.
    pub details: proto::rfc2350::TeamDetails,
}

/// A node's data directory.
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The directory at `root` (not checked).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    /// Its path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A file inside it.
    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Creates a team identity: keys, node key, API token and signed profile.
    /// Refuses if the directory already holds a team key.
    pub fn init(&self, opts: &InitOptions, now_ms: u64) -> Result<Profile> {
        if self.file(files::TEAM_KEY).exists() {
            bail!(
                "{} already holds a team identity ({}); refusing to overwrite its keys. \
                 Use another --data-dir for another team.",
                self.root.display(),
                files::TEAM_KEY
            );
        }
        fs::create_dir_all(&self.root)
            .with_context(|| format!("cannot create {}", self.root.display()))?;
        set_mode(&self.root, 0o700)?;
        let keys = TeamKeys::generate();
        let node_key = net::NodeKey::generate();
        let profile = Profile {
            team: keys.team_id(),
            name: opts.name.trim().to_owned(),
            country: opts.country.as_ref().map(|c| c.trim().to_ascii_uppercase()),
            constituency: opts.constituency.clone(),
            contact: opts.contact.clone(),
            recipient: keys.recipient(),
            peers: vec![node_key.peer_id().to_bytes()],
            node_proofs: vec![node_proof(&node_key, &keys.team_id())?],
            roles: opts.roles.clone(),
            updated_at: now_ms,
            details: opts.details.clone(),
        };
        profile.check()?;
        let signed = seal::sign_profile(&keys, &profile)?;
        let (signing, age) = keys.secrets();
        let token: [u8; 32] = rand::random();
        write_new(&self.file(files::TEAM_KEY), signing.as_bytes(), 0o600)?;
        write_new(&self.file(files::AGE_KEY), age.as_bytes(), 0o600)?;
        write_new(&self.file(files::NODE_KEY), &node_key.to_bytes()?, 0o600)?;
        write_new(
            &self.file(files::API_TOKEN),
            hex::encode(token).as_bytes(),
            0o600,
        )?;
        write_new(&self.file(files::PROFILE), &signed.to_bytes()?, 0o644)?;
        Ok(profile)
    }

    /// The team's keys, with the retired age identities still kept.
    pub fn team_keys(&self) -> Result<TeamKeys> {
        let signing = self.read_secret(files::TEAM_KEY)?;
        let age = self.read_secret(files::AGE_KEY)?;
        let retired = self.retired_age_keys()?.into_iter().map(|(_, k)| k);
        Ok(TeamKeys::from_secrets(&signing, &age)?.with_retired(retired.collect()))
    }

    /// The retired age identities with the time each was replaced, newest
    /// first.
    pub fn retired_age_keys(&self) -> Result<Vec<(u64, seal::AgeIdentity)>> {
        let path = self.file(files::AGE_KEY_RETIRED);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let mut keys = Vec::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let bad = || {
                format!(
                    "{} line {}: expected `TIME_MS AGE-SECRET-KEY-1...`",
                    path.display(),
                    n + 1
                )
            };
            let (at, secret) = line.trim().split_once(' ').with_context(bad)?;
            let at: u64 = at.parse().ok().with_context(bad)?;
            let key = seal::parse_identity(secret).ok().with_context(bad)?;
            keys.push((at, key));
        }
        keys.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        Ok(keys)
    }

    /// Keeps `identity` as retired at `now` (atomically, with the others
    /// still within [`RETIRED_AGE_KEY_KEEP_MS`]) and deletes those past it,
    /// except one whose recipient is `named` (the recipient the mesh holds
    /// for this team: while it names a key, the key stays).
    pub fn retire_age_keys(
        &self,
        identity: Option<&seal::AgeIdentity>,
        now: u64,
        named: Option<&str>,
    ) -> Result<usize> {
        let mut keys = self.retired_age_keys()?;
        let before = keys.len();
        keys.retain(|(at, k)| {
            at.saturating_add(RETIRED_AGE_KEY_KEEP_MS) > now
                || named.is_some_and(|n| k.to_public().to_string() == n)
        });
        let dropped = before - keys.len();
        if let Some(id) = identity {
            keys.insert(0, (now, id.clone()));
        }
        if identity.is_none() && dropped == 0 {
            return Ok(0);
        }
        let text: String = keys
            .iter()
            .map(|(at, k)| format!("{at} {}\n", seal::identity_secret(k)))
            .collect();
        replace(&self.file(files::AGE_KEY_RETIRED), text.as_bytes(), 0o600)?;
        Ok(dropped)
    }

    /// The signing key being rotated to, if a rotation was interrupted.
    pub fn next_signing_key(&self) -> Result<Option<String>> {
        match fs::read_to_string(self.file(files::TEAM_KEY_NEXT)) {
            Ok(s) => Ok(Some(s.trim().to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).context("cannot read team.key.next"),
        }
    }

    /// The node's libp2p key.
    pub fn node_key(&self) -> Result<net::NodeKey> {
        let bytes =
            fs::read(self.file(files::NODE_KEY)).with_context(|| self.missing(files::NODE_KEY))?;
        Ok(net::NodeKey::from_bytes(&bytes)?)
    }

    /// The team's signed profile, verified.
    pub fn profile(&self) -> Result<(SignedProfile, Profile)> {
        read_profile(&self.file(files::PROFILE))
    }

    /// The team's profile as stored, without checking who signed it (to
    /// re-sign it after a key rotation).
    pub fn profile_unchecked(&self) -> Result<(SignedProfile, Profile)> {
        let path = self.file(files::PROFILE);
        let bytes =
            fs::read(&path).with_context(|| format!("cannot read profile {}", path.display()))?;
        let signed = SignedProfile::from_bytes(&bytes)?;
        let profile = signed.profile()?;
        Ok((signed, profile))
    }

    /// The admin API token.
    pub fn api_token(&self) -> Result<String> {
        self.read_secret(files::API_TOKEN)
    }

    fn read_secret(&self, name: &str) -> Result<String> {
        Ok(fs::read_to_string(self.file(name))
            .with_context(|| self.missing(name))?
            .trim()
            .to_owned())
    }

    fn missing(&self, name: &str) -> String {
        format!(
            "cannot read {} in {}: is this a data directory made by `csirtmesh init`?",
            name,
            self.root.display()
        )
    }
}

/// Reads a signed profile file and checks its signature.
pub fn read_profile(path: &Path) -> Result<(SignedProfile, Profile)> {
    let bytes =
        fs::read(path).with_context(|| format!("cannot read profile {}", path.display()))?;
    let signed = SignedProfile::from_bytes(&bytes)
        .with_context(|| format!("{} is not a team profile", path.display()))?;
    let profile = seal::verify_profile(&signed)
        .with_context(|| format!("profile {} does not verify", path.display()))?;
    Ok((signed, profile))
}

/// Writes a file that must not exist yet, with `mode`, and syncs it.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut f = create_new(path, mode)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    set_mode(path, mode)?;
    sync_parent(path)
}

/// Creates a file that must not exist yet, with `mode` from the start (a
/// key is never readable by others, not even for a moment).
pub fn create_new(path: &Path, mode: u32) -> Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

/// Makes a file's creation or renaming in its directory durable (a
/// renamed key file must survive a power loss once anything names it).
pub fn sync_parent(path: &Path) -> Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync directory {}", dir.display()))?;
    }
    Ok(())
}

/// Replaces a file atomically (write to a temporary name, sync, rename).
pub fn replace(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    write_new(&tmp, bytes, mode)?;
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    sync_parent(path)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set permissions on {}", path.display()))?;
    }
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_creates_owner_only_keys_and_refuses_twice() {
        let dir = tempfile::tempdir().unwrap();
        let dd = DataDir::new(dir.path().join("a"));
        let opts = InitOptions {
            name: "CSIRT-A".into(),
            country: Some("br".into()),
            ..Default::default()
        };
        let p = dd.init(&opts, 1).unwrap();
        assert_eq!(p.country.as_deref(), Some("BR"));
        assert_eq!(dd.team_keys().unwrap().team_id(), p.team);
        assert_eq!(dd.profile().unwrap().1, p);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in [
                files::TEAM_KEY,
                files::AGE_KEY,
                files::NODE_KEY,
                files::API_TOKEN,
            ] {
                let mode = fs::metadata(dd.file(f)).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{f}");
            }
        }
        let key_before = fs::read(dd.file(files::TEAM_KEY)).unwrap();
        let err = dd.init(&opts, 2).unwrap_err().to_string();
        assert!(err.contains("refusing to overwrite"), "{err}");
        assert_eq!(fs::read(dd.file(files::TEAM_KEY)).unwrap(), key_before);
    }
}
