//! `export`, `import` and `profile`: the CSIRT toolchain's formats and the
//! team's RFC 2350 details, through the running node.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use super::{args::*, client, render::print};
use crate::api::types::*;

/// RFC 2350 details from the command line, in their checked form.
pub(super) fn details(a: DetailsArgs) -> Result<proto::rfc2350::TeamDetails> {
    let d = proto::rfc2350::TeamDetails {
        time_zone: a.time_zone,
        business_hours: a.business_hours,
        emergency_phone: a.emergency_phone,
        pgp_fingerprint: a.pgp_fingerprint,
        constituency_type: a.constituency_type,
        languages: a
            .languages
            .into_iter()
            .filter(|l| !l.trim().is_empty())
            .collect(),
        rfc2350_url: a.rfc2350_url,
    }
    .normalized();
    d.check()?;
    Ok(d)
}

/// `--since`: a time, or a span back from now.
fn since(s: &str, now: SystemTime) -> Result<u64> {
    let at = match humantime::parse_rfc3339_weak(s.trim()) {
        Ok(t) => t,
        Err(_) => {
            let span = humantime::parse_duration(s.trim()).with_context(|| {
                format!("--since {s:?}: expected a time (2026-11-01T00:00:00Z) or a span (7d, 12h)")
            })?;
            now.checked_sub(span).unwrap_or(UNIX_EPOCH)
        }
    };
    Ok(at
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis()
        .try_into()
        .unwrap_or(u64::MAX))
}

pub(super) async fn export(a: ExportArgs) -> Result<()> {
    let q = ExportQuery {
        format: a.format,
        incident: a.incident,
        since: a
            .since
            .as_deref()
            .map(|s| since(s, SystemTime::now()))
            .transpose()?,
    };
    let doc = client(&a.client)?.export(&q).await?;
    let text = match (q.format, &doc) {
        (ExportFormat::Xarf, serde_json::Value::Array(docs)) => interop::xarf::to_lines(docs),
        _ => format!("{}\n", serde_json::to_string_pretty(&doc)?),
    };
    match a.out {
        Some(path) => {
            crate::datadir::write_new(&path, text.as_bytes(), 0o600)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("Wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

pub(super) async fn import(a: ImportArgs) -> Result<()> {
    let meta =
        std::fs::metadata(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    if meta.len() > interop::import::MAX_IMPORT_BYTES as u64 {
        bail!(
            "{} is {} bytes; an import takes at most {} (split it)",
            a.file.display(),
            meta.len(),
            interop::import::MAX_IMPORT_BYTES
        );
    }
    let file =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let to: Vec<String> = a.to.into_iter().filter(|t| !t.trim().is_empty()).collect();
    let q = ImportQuery {
        tlp: a.tlp,
        to: (!to.is_empty()).then(|| to.join(",")),
        reshare_restricted: a.reshare_restricted,
    };
    let r = client(&a.client)?.import(file, &q).await?;
    print(&a.client, &r, super::render::render_import)
}

pub(super) async fn profile(c: &ClientArgs, a: DetailsArgs) -> Result<()> {
    let d = details(a)?;
    let p = client(c)?.set_profile(&d).await?;
    print(c, &p, |p| {
        format!("Published this team's new profile ({})\n", p.id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_time_or_a_span() {
        let now = UNIX_EPOCH + Duration::from_secs(10 * 86_400);
        assert_eq!(since("2d", now).unwrap(), 8 * 86_400 * 1000);
        assert_eq!(since("1970-01-02T00:00:00Z", now).unwrap(), 86_400 * 1000);
        assert!(
            since("last tuesday", now)
                .unwrap_err()
                .to_string()
                .contains("--since")
        );
    }
}
