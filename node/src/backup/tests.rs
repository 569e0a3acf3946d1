//! Backups round-trip, refuse what they must, and leave nothing behind when
//! they fail.

use std::io::Write;

use super::*;
use crate::datadir::InitOptions;

const PASS: &str = "a long enough passphrase";

/// A data directory with `n` envelopes in its store.
fn team_dir(root: &Path, n: u64) -> DataDir {
    let dir = DataDir::new(root.join("a"));
    dir.init(
        &InitOptions {
            name: "CSIRT-A".into(),
            ..Default::default()
        },
        1,
    )
    .unwrap();
    let mut store = store::Store::open(&dir.file(files::DATABASE)).unwrap();
    let t = testkit::Team::new("writer");
    for seq in 1..=n {
        let env = t.clear_comment(seq, &format!("comment {seq}"));
        store
            .insert(env.envelope(), &store::Derived::default(), seq)
            .unwrap();
    }
    dir
}

#[test]
fn a_backup_restores_keys_and_store_and_marks_the_node_restored() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = team_dir(tmp.path(), 25);
    let out = tmp.path().join("a.backup");
    let made = backup(&dir, &out, PASS, 1_700_000_000_000).unwrap();
    assert_eq!(made.manifest.envelopes, 25);
    assert_eq!(
        made.manifest.team,
        dir.team_keys().unwrap().team_id().to_string()
    );
    // Encrypted: no key text and no envelope text in the file.
    let bytes = fs::read(&out).unwrap();
    let age_key = fs::read(dir.file(files::AGE_KEY)).unwrap();
    assert!(!bytes.windows(20).any(|w| w == &age_key[..20]));
    assert!(!bytes.windows(9).any(|w| w == b"comment 1"));

    let new = DataDir::new(tmp.path().join("restored"));
    let done = restore(&out, &new, PASS, 1_700_000_100_000).unwrap();
    assert_eq!(done.envelopes, 25);
    for (name, mode, _) in FILES.iter().filter(|f| f.2) {
        assert_eq!(
            fs::read(dir.file(name)).unwrap(),
            fs::read(new.file(name)).unwrap(),
            "{name}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let got = fs::metadata(new.file(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(got, *mode, "{name}");
        }
    }
    assert_eq!(
        restored(&new).unwrap(),
        Some(Restored {
            backup_created_at: 1_700_000_000_000,
            restored_at: 1_700_000_100_000,
        })
    );
    assert_eq!(restored(&dir).unwrap(), None);
}

#[test]
fn a_backup_is_taken_while_another_connection_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = team_dir(tmp.path(), 10);
    // The "running node": a connection that keeps a write transaction's
    // results in the WAL (not checkpointed) while the copy is taken.
    let mut live = store::Store::open(&dir.file(files::DATABASE)).unwrap();
    let t = testkit::Team::new("later");
    for seq in 1..=5 {
        live.insert(
            t.clear_comment(seq, "in the wal").envelope(),
            &store::Derived::default(),
            seq,
        )
        .unwrap();
    }
    let out = tmp.path().join("b");
    let made = backup(&dir, &out, PASS, 5).unwrap();
    assert_eq!(
        made.manifest.envelopes, 15,
        "what the live connection committed is in the copy"
    );
    let new = DataDir::new(tmp.path().join("r"));
    assert_eq!(restore(&out, &new, PASS, 6).unwrap().envelopes, 15);
}

#[test]
fn wrong_passphrase_existing_target_or_output_are_refused_and_leave_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = team_dir(tmp.path(), 3);
    let out = tmp.path().join("c");
    backup(&dir, &out, PASS, 5).unwrap();
    let err = backup(&dir, &out, PASS, 6).unwrap_err().to_string();
    assert!(err.contains("refusing to overwrite"), "{err}");

    let new = DataDir::new(tmp.path().join("r"));
    let err = format!(
        "{:#}",
        restore(&out, &new, "not the passphrase at all", 7).unwrap_err()
    );
    assert!(err.contains("cannot decrypt"), "{err}");
    assert!(!new.root().exists());
    assert!(!new.root().with_extension("restoring").exists());

    let err = restore(&out, &dir, PASS, 7).unwrap_err().to_string();
    assert!(err.contains("not empty"), "{err}");

    // A cut file: nothing restored.
    let bytes = fs::read(&out).unwrap();
    let cut = tmp.path().join("cut");
    fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let err = format!("{:#}", restore(&cut, &new, PASS, 7).unwrap_err());
    assert!(!new.root().exists(), "{err}");
}

/// An archive's entries: names and contents.
type Entries<'a> = &'a [(&'a str, &'a [u8])];

/// An archive made by hand, encrypted to the passphrase.
fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = seal::passphrase::PassphraseWriter::new(Vec::new(), PASS).unwrap();
    {
        let mut tar = tar::Builder::new(&mut w);
        for (name, bytes) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o600);
            h.set_entry_type(tar::EntryType::Regular);
            // `append_data` refuses `..`; write the raw name as a hostile
            // archive would.
            h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            tar.append(&h, *bytes).unwrap();
        }
        tar.finish().unwrap();
    }
    w.flush().unwrap();
    w.finish().unwrap()
}

#[test]
fn hostile_archives_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = toml::to_string(&Manifest {
        format: FORMAT,
        team: "00".repeat(32),
        created_at: 1,
        envelopes: 0,
        schema: 0,
        version: "0".into(),
    })
    .unwrap();
    let cases: [(Entries, &str); 5] = [
        (
            &[(MANIFEST, manifest.as_bytes()), ("../escape", b"x")],
            "not a plain file name",
        ),
        (
            &[(MANIFEST, manifest.as_bytes()), ("/etc/passwd", b"x")],
            "not a plain file name",
        ),
        (
            &[(MANIFEST, manifest.as_bytes()), ("authorized_keys", b"x")],
            "unexpected file",
        ),
        (&[(files::TEAM_KEY, b"x")], "manifest"),
        (&[(MANIFEST, manifest.as_bytes())], "lacks team.key"),
    ];
    for (i, (entries, want)) in cases.iter().enumerate() {
        let file = tmp.path().join(format!("h{i}"));
        fs::write(&file, archive(entries)).unwrap();
        let target = DataDir::new(tmp.path().join(format!("t{i}")));
        let err = format!("{:#}", restore(&file, &target, PASS, 1).unwrap_err());
        assert!(err.contains(want), "case {i}: {err}");
        assert!(!target.root().exists(), "case {i}");
        assert!(!tmp.path().join("escape").exists());
    }
}
