//! `csirtmesh doctor`: gathers the facts ([`crate::doctor::Facts`]) from the
//! data directory, its file system and the running node, and prints what
//! [`crate::doctor::diagnose`] makes of them.

use anyhow::{Result, bail};

use super::{args::ClientArgs, render::print};
use crate::{
    api::client::ApiClient,
    datadir::{DataDir, files},
    doctor::{Facts, FileFact, Finding, Level, diagnose},
    now_ms,
};

/// The files `doctor` looks at, and whether only the owner may read them.
const FILES: &[(&str, bool)] = &[
    (files::TEAM_KEY, true),
    (files::AGE_KEY, true),
    (files::NODE_KEY, true),
    (files::API_TOKEN, true),
    (files::PROFILE, false),
];

/// A path's permission bits and owner; `Ok(None)` when it does not exist,
/// `Err` when this user may not look.
fn look(path: &std::path::Path) -> Result<Option<(u32, Option<u32>)>, String> {
    match std::fs::metadata(path) {
        Ok(meta) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::{MetadataExt, PermissionsExt};
                Ok(Some((meta.permissions().mode() & 0o7777, Some(meta.uid()))))
            }
            #[cfg(not(unix))]
            {
                let _ = meta;
                Ok(Some((0o600, None)))
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        // Permission denied (doctor runs as another user), or a failing
        // disk: not "missing".
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn disk(dir: &std::path::Path) -> Option<(u64, u64)> {
    let s = nix::sys::statvfs::statvfs(dir).ok()?;
    let unit = s.fragment_size() as u64;
    Some((
        (s.blocks_available() as u64).saturating_mul(unit),
        (s.blocks() as u64).saturating_mul(unit),
    ))
}

async fn node(
    dir: &DataDir,
) -> Result<
    (
        crate::api::types::StatusView,
        crate::api::types::MembersView,
    ),
    String,
> {
    let api = ApiClient::for_data_dir(dir).map_err(|e| format!("{e:#}"))?;
    let status = api.status().await.map_err(|e| format!("{e:#}"))?;
    let members = api.members().await.map_err(|e| format!("{e:#}"))?;
    Ok((status, members))
}

pub(super) async fn doctor(c: ClientArgs) -> Result<()> {
    let dir = DataDir::new(&c.data_dir);
    let mut denied = None;
    let (dir_mode, dir_owner) = match look(dir.root()) {
        Ok(found) => (found.map(|f| f.0), found.and_then(|f| f.1)),
        Err(path) => {
            denied = Some(path);
            (None, None)
        }
    };
    let mut files = Vec::new();
    let optional = [(files::AGE_KEY_RETIRED, true)];
    for (name, secret) in FILES.iter().chain(optional.iter()) {
        match look(&dir.file(name)) {
            Ok(None) if optional.iter().any(|(n, _)| n == name) => {}
            Ok(found) => files.push(FileFact {
                name,
                mode: found.map(|f| f.0),
                owner: found.and_then(|f| f.1),
                secret: *secret,
            }),
            Err(path) => {
                denied.get_or_insert(path);
            }
        }
    }
    let charter_path = dir.file(files::CHARTER);
    let charter = if charter_path.exists() {
        crate::load_charter(&charter_path)
            .map(|(c, _)| c.name)
            .map_err(|e| format!("{e:#}"))
    } else {
        Err(format!("no charter in {}", dir.root().display()))
    };
    let facts = Facts {
        dir: dir.root().display().to_string(),
        dir_mode,
        dir_owner,
        denied,
        files,
        charter,
        disk: disk(dir.root()),
        node: node(&dir).await,
        now: now_ms(),
    };
    let found = diagnose(&facts);
    print(&c, &found, render)?;
    if found.iter().any(|f| f.level == Level::Fail) {
        bail!("the node has problems (see above)");
    }
    Ok(())
}

fn render(found: &Vec<Finding>) -> String {
    let mut out = String::new();
    for f in found {
        let tag = match f.level {
            Level::Ok => "ok  ",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        };
        // Peers chose some of this text (team names, their sync errors):
        // one line each, control characters shown, not obeyed.
        let what = proto::text::printable(&f.what, false);
        out += &format!("{tag} {:<13} {what}\n", f.check);
        if let Some(fix) = &f.fix {
            let fix = proto::text::printable(fix, false);
            out += &format!("     {:<13} -> {fix}\n", "");
        }
    }
    out
}
