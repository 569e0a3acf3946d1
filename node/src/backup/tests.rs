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
    let done = restore(&out, &new, PASS, 1_700_000_100_000, false).unwrap();
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
        restored(&new, 0).unwrap(),
        Some(Restored {
            backup_created_at: 1_700_000_000_000,
            restored_at: 1_700_000_100_000,
            write_after: 1_700_000_100_000 + mesh_core::validate::MAX_CLOCK_SKEW_MS,
        })
    );
    assert_eq!(restored(&dir, 0).unwrap(), None);
}

#[test]
fn a_backup_is_taken_while_another_connection_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = team_dir(tmp.path(), 10);
    // The "running node": another connection that keeps committing while
    // the copy is taken.
    let db = dir.file(files::DATABASE);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut live = store::Store::open(&db).unwrap();
            let t = testkit::Team::new("later");
            let mut seq = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && seq < 5_000 {
                seq += 1;
                live.insert(
                    t.clear_comment(seq, "written during the backup").envelope(),
                    &store::Derived::default(),
                    seq,
                )
                .unwrap();
            }
            seq
        })
    };
    // Some rows are in before the copy starts.
    while store::Store::open(&dir.file(files::DATABASE))
        .unwrap()
        .count()
        .unwrap()
        < 20
    {
        std::thread::yield_now();
    }
    let out = tmp.path().join("b");
    let made = backup(&dir, &out, PASS, 5).unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(
        made.manifest.envelopes >= 20 && made.manifest.envelopes <= 10 + written,
        "the copy holds {} of {} rows",
        made.manifest.envelopes,
        10 + written
    );
    // The copy is the store at one instant: whole, and as many rows as
    // its manifest says.
    let new = DataDir::new(tmp.path().join("r"));
    assert_eq!(
        restore(&out, &new, PASS, 6, false).unwrap().envelopes,
        made.manifest.envelopes
    );
    assert!(
        !dir.file(files::BACKUP_COPY).exists(),
        "the copy is removed"
    );
}

#[test]
fn no_backup_while_a_key_is_being_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = team_dir(tmp.path(), 1);
    fs::write(dir.file(files::TEAM_KEY_NEXT), b"half done").unwrap();
    let out = tmp.path().join("b");
    let err = backup(&dir, &out, PASS, 5).unwrap_err().to_string();
    assert!(err.contains("being replaced"), "{err}");
    assert!(!out.exists());
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
        restore(&out, &new, "not the passphrase at all", 7, false).unwrap_err()
    );
    assert!(err.contains("cannot decrypt"), "{err}");
    assert!(!new.root().exists());
    assert!(!new.root().with_extension("restoring").exists());

    let err = restore(&out, &dir, PASS, 7, false).unwrap_err().to_string();
    assert!(err.contains("not empty"), "{err}");

    // A cut file: nothing restored.
    let bytes = fs::read(&out).unwrap();
    let cut = tmp.path().join("cut");
    fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let err = format!("{:#}", restore(&cut, &new, PASS, 7, false).unwrap_err());
    assert!(!new.root().exists(), "{err}");
}

/// An archive's entries: names, types and contents.
type Entries<'a> = &'a [(&'a str, tar::EntryType, &'a [u8])];

/// An archive made by hand, encrypted to the passphrase.
fn archive(entries: Entries) -> Vec<u8> {
    let mut w = seal::passphrase::PassphraseWriter::new(Vec::new(), PASS).unwrap();
    {
        let mut tar = tar::Builder::new(&mut w);
        for (name, kind, bytes) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o600);
            h.set_entry_type(*kind);
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
    use tar::EntryType::{GNULongName, Regular, Symlink, XHeader};
    let m = (MANIFEST, Regular, manifest.as_bytes());
    let big = vec![b'k'; 2 << 20];
    let cases: [(Entries, &str); 10] = [
        (&[m, ("../escape", Regular, b"x")], "not a plain file name"),
        (
            &[m, ("/etc/passwd", Regular, b"x")],
            "not a plain file name",
        ),
        (&[m, ("authorized_keys", Regular, b"x")], "unexpected file"),
        (&[(files::TEAM_KEY, Regular, b"x")], "manifest"),
        (&[m], "lacks team.key"),
        (&[m, (files::TEAM_KEY, Symlink, b"")], "not a regular file"),
        (
            &[m, (files::TEAM_KEY, GNULongName, b"x")],
            "not a regular file",
        ),
        (&[m, (files::TEAM_KEY, XHeader, b"x")], "not a regular file"),
        (
            &[
                m,
                (files::TEAM_KEY, Regular, b"a"),
                (files::TEAM_KEY, Regular, b"b"),
            ],
            "twice",
        ),
        (
            &[m, (files::TEAM_KEY, Regular, &big)],
            "more than a key file",
        ),
    ];
    for (i, (entries, want)) in cases.iter().enumerate() {
        let file = tmp.path().join(format!("h{i}"));
        fs::write(&file, archive(entries)).unwrap();
        let target = DataDir::new(tmp.path().join(format!("t{i}")));
        let err = format!("{:#}", restore(&file, &target, PASS, 1, false).unwrap_err());
        assert!(err.contains(want), "case {i}: {err}");
        assert!(!target.root().exists(), "case {i}");
        assert!(!tmp.path().join("escape").exists());
    }
}
