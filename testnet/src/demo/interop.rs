//! The demo's interop step: every team exports what it reads as STIX 2.1,
//! MISP events and X-ARF reports (written under `--export-dir` when given);
//! C's export holds nothing of the AMBER thread it was not addressed; D,
//! which never read A's incidents, imports A's STIX export and holds the
//! same incidents (titles, labels, indicators, comments).

use std::{collections::BTreeMap, path::Path, time::Instant};

use anyhow::{Context, Result};
use csirtmesh::api::{
    client::ApiClient,
    types::{EventKind, ExportFormat, ExportQuery, ImportQuery},
};

use super::{A, B, C, D, Demo, TEAMS};

/// What a team's view of an incident is compared by: title, label, sorted
/// indicators, comments in order.
type Seen = (String, String, Vec<String>, Vec<String>);

async fn export(api: &ApiClient, format: ExportFormat) -> Result<serde_json::Value> {
    api.export(&ExportQuery {
        format,
        incident: None,
        since: None,
    })
    .await
}

/// Every incident a team reads (only those `author` opened, if named), by
/// title.
async fn seen(api: &ApiClient, author: Option<&str>) -> Result<BTreeMap<String, Seen>> {
    let mut out = BTreeMap::new();
    for s in api.incidents().await? {
        let Some(title) = s.title.clone() else {
            continue;
        };
        if author.is_some_and(|a| s.author.name.as_deref() != Some(a)) {
            continue;
        }
        let v = api.incident(&s.id).await?;
        let mut indicators: Vec<String> = v.indicators.iter().map(|i| i.to_string()).collect();
        indicators.sort();
        let comments = v
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Comment)
            .filter_map(|e| e.text.clone())
            .collect();
        out.insert(
            title.clone(),
            (title, s.tlp.to_string(), indicators, comments),
        );
    }
    Ok(out)
}

fn write(dir: &Path, team: &str, name: &str, text: &str) -> Result<()> {
    let team_dir = dir.join(team);
    std::fs::create_dir_all(&team_dir)?;
    let path = team_dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

impl Demo {
    /// Exports from every team; C's leaks nothing; D imports A's export.
    pub(super) async fn interop(&mut self, export_dir: Option<&Path>) -> Result<()> {
        let t = Instant::now();
        let mut files = 0;
        let mut leaks = 0;
        for team in TEAMS {
            let api = self.net.api(team)?;
            let stix = export(&api, ExportFormat::Stix).await?;
            let misp = export(&api, ExportFormat::Misp).await?;
            let xarf = export(&api, ExportFormat::Xarf).await?;
            if team == C {
                let text = format!("{stix}{misp}{xarf}");
                leaks += usize::from(text.contains("Phishing kit on 203.0.113.7"))
                    + usize::from(text.contains("bank/login"));
            }
            if let Some(dir) = export_dir {
                write(
                    dir,
                    team,
                    "incidents.stix.json",
                    &serde_json::to_string_pretty(&stix)?,
                )?;
                write(
                    dir,
                    team,
                    "incidents.misp.json",
                    &serde_json::to_string_pretty(&misp)?,
                )?;
                files += 2;
                let reports = xarf.as_array().cloned().unwrap_or_default();
                if !reports.is_empty() {
                    write(
                        dir,
                        team,
                        "reports.xarf.json",
                        &interop::xarf::to_lines(&reports),
                    )?;
                    files += 1;
                }
            }
        }
        self.report.export_files = files;
        self.report.export_leaks = leaks;
        let (a, d) = (self.net.api(A)?, self.net.api(D)?);
        let from_a = export(&a, ExportFormat::Stix).await?;
        let file = serde_json::to_vec(&from_a)?;
        let q = ImportQuery {
            tlp: None,
            to: Some(B.into()),
            reshare_restricted: false,
        };
        let imported = d.import(file.clone(), &q).await?;
        let again = d.import(file, &q).await?;
        // D's own copies only: D reads one of A's GREEN advisories itself.
        let (want, got) = (seen(&a, None).await?, seen(&d, Some(D)).await?);
        let missing: Vec<&String> = want
            .iter()
            .filter(|(title, v)| got.get(*title) != Some(v))
            .map(|(title, _)| title)
            .collect();
        let opened_again = again.incidents.iter().filter(|i| i.created).count();
        self.report.import_reproduced = missing.is_empty() && opened_again == 0 && leaks == 0;
        let r = if !missing.is_empty() {
            Err(format!("D's import of A's export differs for {missing:?}"))
        } else if opened_again > 0 {
            Err(format!(
                "a second import opened {opened_again} incidents again"
            ))
        } else if leaks > 0 {
            Err(format!(
                "C's exports hold {leaks} traces of the AMBER thread it was not addressed"
            ))
        } else {
            Ok(format!(
                "every team exported STIX, MISP and X-ARF{}; C's holds nothing of the AMBER thread; D imported A's {} incidents (titles, labels, indicators, comments), and a second import opened none",
                export_dir
                    .map(|d| format!(" ({files} files under {})", d.display()))
                    .unwrap_or_default(),
                imported.incidents.len()
            ))
        };
        self.record("STIX, MISP and X-ARF out; A's STIX into D", t, r);
        Ok(())
    }
}
