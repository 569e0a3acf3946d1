//! Store behaviour: durable across reopen, idempotent inserts, waiting for
//! keys, sender keys.

use proto::{Body, Envelope, KeyId, Kind, SealedTo, Tlp};
use testkit::Team;

use super::*;

fn env(team: &Team, seq: u64) -> Envelope {
    team.clear_comment(seq, "hello").into_inner()
}

#[test]
fn persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.sqlite");
    let a = Team::new("A");
    let e1 = env(&a, 1);
    {
        let mut s = Store::open(&path).unwrap();
        assert!(s.insert(&e1, &Derived::default(), 1).unwrap());
        assert!(
            s.insert(
                &env(&a, 2),
                &Derived {
                    opened: Some(vec![1, 2]),
                    ..Derived::default()
                },
                2
            )
            .unwrap()
        );
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(s.count().unwrap(), 2);
    let got = s.get(&e1.id).unwrap().unwrap();
    assert_eq!(got.bytes, e1.bytes);
    assert_eq!(got.received_at, 1);
    assert_eq!(s.keys().unwrap().len(), 2);
    assert_eq!(s.max_seq(&a.id()).unwrap(), 2);
    assert_eq!(s.ids().unwrap().len(), 2);
    let journal: String = s
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    let sync: i64 = s
        .conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
}

#[test]
fn duplicate_insert_changes_nothing() {
    let mut s = Store::open_in_memory().unwrap();
    let a = Team::new("A");
    let e = env(&a, 1);
    assert!(s.insert(&e, &Derived::default(), 1).unwrap());
    assert!(
        !s.insert(
            &e,
            &Derived {
                opened: Some(vec![9]),
                ..Derived::default()
            },
            2
        )
        .unwrap()
    );
    assert_eq!(s.count().unwrap(), 1);
    assert!(s.get(&e.id).unwrap().unwrap().opened.is_none());
}

/// Stores a GREEN envelope of `team` sealed to sender key `key`, which the
/// store lacks: it waits for the key.
fn insert_waiting(s: &mut Store, team: &Team, key: KeyId, received_at: u64) -> Envelope {
    let e = team
        .envelope(
            1,
            Tlp::Green,
            None,
            Body::Sealed {
                to: SealedTo::SenderKey(key),
                ciphertext: vec![1, 2, 3],
            },
        )
        .into_inner();
    let derived = Derived {
        waiting_for: Some(key),
        ..Derived::default()
    };
    s.insert(&e, &derived, received_at).unwrap();
    e
}

#[test]
fn waiting_envelopes_are_found_and_released_when_opened() {
    let mut s = Store::open_in_memory().unwrap();
    let a = Team::new("A");
    let key = KeyId([3; 32]);
    let e = insert_waiting(&mut s, &a, key, 1);
    assert_eq!(s.waiting_for(&key).unwrap().len(), 1);
    assert_eq!(s.waiting_count().unwrap(), 1);
    assert!(s.get(&e.id).unwrap().unwrap().waiting_for_key);
    s.set_opened(&e.id, b"plain").unwrap();
    assert_eq!(s.waiting_count().unwrap(), 0);
    assert_eq!(
        s.get(&e.id).unwrap().unwrap().opened.as_deref(),
        Some(&b"plain"[..])
    );
}

#[test]
fn threads_roots_and_kinds() {
    let mut s = Store::open_in_memory().unwrap();
    let (a, b) = (Team::new("A"), Team::new("B"));
    let root = a.amber_open(1, "t", &[&b]).into_inner();
    s.insert(&root, &Derived::default(), 1).unwrap();
    let reply = b.envelope(
        1,
        Tlp::Amber,
        Some(root.id),
        Body::Sealed {
            to: SealedTo::Teams {
                hints: vec![proto::RecipientHint([0; 4])],
            },
            ciphertext: vec![0],
        },
    );
    s.insert(reply.envelope(), &Derived::default(), 2).unwrap();
    assert_eq!(s.incident_roots().unwrap().len(), 1);
    assert_eq!(s.thread(&root.id).unwrap().len(), 1);
    assert_eq!(s.by_kind(Kind::Incident).unwrap().len(), 2);
    assert_eq!(s.by_kind(Kind::Profile).unwrap().len(), 0);
}

#[test]
fn sender_keys_keep_the_newest_own() {
    let mut s = Store::open_in_memory().unwrap();
    let a = Team::new("A");
    for (i, created_at) in [(1u8, 10u64), (2, 20)] {
        let row = SenderKeyRow {
            key_id: KeyId([i; 32]),
            team: a.id(),
            secret: format!("s{i}"),
            created_at,
            members: Some([i; 32]),
        };
        s.put_sender_key(&row, true).unwrap();
    }
    let other = SenderKeyRow {
        key_id: KeyId([7; 32]),
        team: a.id(),
        secret: "x".into(),
        created_at: 99,
        members: None,
    };
    s.put_sender_key(&other, false).unwrap();
    assert_eq!(s.own_sender_key().unwrap().unwrap().key_id, KeyId([2; 32]));
    assert_eq!(s.sender_key(&KeyId([7; 32])).unwrap().unwrap().secret, "x");
}

#[test]
fn a_tombstone_deletes_its_authors_envelope_in_the_same_transaction() {
    let mut s = Store::open_in_memory().unwrap();
    let (a, b) = (Team::new("A"), Team::new("B"));
    let target = env(&a, 1);
    s.insert(
        &target,
        &Derived {
            opened: Some(vec![1]),
            ..Derived::default()
        },
        1,
    )
    .unwrap();
    // B cannot retract A's envelope: the row stays.
    let bogus = b.clear_comment(1, "tombstone").into_inner();
    s.insert(
        &bogus,
        &Derived {
            retracts: Some(target.id),
            ..Derived::default()
        },
        2,
    )
    .unwrap();
    assert!(s.contains(&target.id).unwrap());
    // B's tombstone does not stand for A's, and does not keep A's from
    // being recorded.
    assert!(!s.retracted_by(&target.id, &a.id()).unwrap());
    // A can.
    let tomb = env(&a, 2);
    s.insert(
        &tomb,
        &Derived {
            retracts: Some(target.id),
            ..Derived::default()
        },
        3,
    )
    .unwrap();
    assert!(!s.contains(&target.id).unwrap());
    assert!(s.get(&target.id).unwrap().is_none());
    assert!(s.retracted_by(&target.id, &a.id()).unwrap());
}

/// Where stores written by each schema version are kept (see
/// `a_store_from_the_previous_release_opens_and_migrates`).
fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Writes the fixture of this schema version (`schema-vN.sqlite`, never
/// over an existing one): what a node holds, in the tables a migration is
/// most likely to reshape (envelopes, opened, pending_key, sender_keys,
/// written, quarantine). Run when a release changes the schema
/// (`CSIRTMESH_WRITE_STORE_FIXTURE=1 cargo test -p csirtmesh-store
/// previous_release`) and commit the new file: the test opens every one.
fn write_fixture(path: &Path) {
    if path.exists() {
        return;
    }
    let mut s = Store::open(path).unwrap();
    let (a, b) = (Team::new("A"), Team::new("B"));
    let root = a.amber_open(1, "fixture incident", &[&b]).into_inner();
    s.insert(
        &root,
        &Derived {
            opened: Some(b"the opened plaintext".to_vec()),
            written_here: true,
            ..Derived::default()
        },
        1,
    )
    .unwrap();
    for seq in 2..=5 {
        s.insert(&env(&a, seq), &Derived::default(), seq).unwrap();
    }
    let key = KeyId([3; 32]);
    insert_waiting(&mut s, &b, key, 6);
    s.put_sender_key(
        &SenderKeyRow {
            key_id: KeyId([9; 32]),
            team: a.id(),
            secret: "fixture sender key".into(),
            created_at: 7,
            members: Some([1; 32]),
        },
        true,
    )
    .unwrap();
    let damaged = env(&b, 2);
    s.insert(&damaged, &Derived::default(), 8).unwrap();
    assert!(
        s.quarantine(&damaged.id, "fixture: bytes changed", 9)
            .unwrap()
    );
    drop(s);
    // One file, nothing left in a write-ahead log.
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
}

/// The schema only migrates forward: a store written by the previous
/// release (a committed fixture) opens, migrates, and keeps everything;
/// a store from a newer release is refused, not damaged.
#[test]
fn a_store_from_the_previous_release_opens_and_migrates() {
    let current = fixtures().join(format!("schema-v{}.sqlite", migrations_len()));
    if std::env::var_os("CSIRTMESH_WRITE_STORE_FIXTURE").is_some() {
        write_fixture(&current);
    }
    assert!(
        current.exists(),
        "no fixture of the current schema: write one (see write_fixture)"
    );
    let mut opened = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let fixture = entry.unwrap().path();
        if fixture.extension().is_some_and(|e| e == "sqlite") {
            opens_and_migrates(&fixture);
            opened += 1;
        }
    }
    assert!(opened >= 1);
}

fn opens_and_migrates(fixture: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.sqlite");
    std::fs::copy(fixture, &path).expect("the committed fixture");
    let s = Store::open(&path).unwrap();
    s.check_integrity().unwrap();
    s.check_no_code().unwrap();
    assert_eq!(s.count().unwrap(), 6, "{}", fixture.display());
    assert_eq!(s.waiting_count().unwrap(), 1);
    assert_eq!(s.quarantine_count().unwrap(), 1);
    let opened: Vec<Stored> = s
        .incident_roots()
        .unwrap()
        .into_iter()
        .filter(|r| r.opened.is_some())
        .collect();
    assert_eq!(opened.len(), 1);
    let root = &opened[0];
    assert_eq!(root.opened.as_deref(), Some(&b"the opened plaintext"[..]));
    let author = Envelope::decode(&root.bytes).unwrap().content.author;
    assert_eq!(s.written_to(&author).unwrap(), Some(1));
    assert_eq!(s.max_seq(&author).unwrap(), 5);
    assert_eq!(
        s.own_sender_key().unwrap().unwrap().secret,
        "fixture sender key"
    );
    for id in s.ids().unwrap() {
        assert!(s.get(&id).unwrap().unwrap().intact(), "{id} changed");
    }
    let version: i64 = s
        .conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, migrations_len());
    drop(s);

    // A newer release's store: refused, and left as it was.
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path).err().expect("a newer schema is refused");
    assert!(err.to_string().contains("migrate"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}
