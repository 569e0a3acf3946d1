//! Architecture invariants of ARCHITECTURE.md, checked against the real
//! dependency graph (`cargo metadata`): only `net` depends on libp2p, only
//! `store` on rusqlite, only `seal` on age; `proto`, `core` and `sync` pull
//! in no tokio, libp2p or SQLite, not even transitively.

use std::collections::{HashMap, HashSet};

use cargo_metadata::{MetadataCommand, Package, PackageId};

fn graph() -> (
    HashMap<PackageId, Package>,
    HashMap<PackageId, Vec<PackageId>>,
) {
    let meta = MetadataCommand::new()
        .manifest_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
        .exec()
        .expect("cargo metadata runs");
    let resolve = meta.resolve.expect("a resolved graph");
    let packages = meta
        .packages
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    // Normal dependencies only: dev-dependencies do not ship.
    let deps = resolve
        .nodes
        .into_iter()
        .map(|n| {
            let normal = n
                .deps
                .into_iter()
                .filter(|d| {
                    d.dep_kinds
                        .iter()
                        .any(|k| k.kind == cargo_metadata::DependencyKind::Normal)
                })
                .map(|d| d.pkg)
                .collect();
            (n.id, normal)
        })
        .collect();
    (packages, deps)
}

fn id_of(packages: &HashMap<PackageId, Package>, name: &str) -> PackageId {
    packages
        .values()
        .find(|p| p.name.as_str() == name)
        .map(|p| p.id.clone())
        .unwrap_or_else(|| panic!("package {name} in the workspace"))
}

fn closure(deps: &HashMap<PackageId, Vec<PackageId>>, from: &PackageId) -> HashSet<PackageId> {
    let mut seen = HashSet::new();
    let mut stack = vec![from.clone()];
    while let Some(p) = stack.pop() {
        for d in deps.get(&p).into_iter().flatten() {
            if seen.insert(d.clone()) {
                stack.push(d.clone());
            }
        }
    }
    seen
}

fn names(packages: &HashMap<PackageId, Package>, ids: &HashSet<PackageId>) -> HashSet<String> {
    ids.iter().map(|i| packages[i].name.to_string()).collect()
}

/// Whether a crate belongs to a family: the crate itself or one of its
/// parts (`libp2p-gossipsub` is libp2p, `rusqlite_migration` is rusqlite,
/// `tokio-util` is tokio), so a dependency cannot slip past by its sub-crate.
fn of_family(name: &str, family: &str) -> bool {
    name == family
        || name
            .strip_prefix(family)
            .is_some_and(|rest| rest.starts_with('-') || rest.starts_with('_'))
}

#[test]
fn families_match_their_parts_only() {
    assert!(of_family("libp2p-gossipsub", "libp2p"));
    assert!(of_family("rusqlite_migration", "rusqlite"));
    assert!(of_family("age", "age") && of_family("age-core", "age"));
    assert!(!of_family("agent", "age") && !of_family("tokioish", "tokio"));
}

#[test]
fn domain_crates_know_no_io() {
    let (packages, deps) = graph();
    for krate in [
        "csirtmesh-proto",
        "csirtmesh-core",
        "csirtmesh-seal",
        "csirtmesh-sync",
        "csirtmesh-interop",
    ] {
        let all = names(&packages, &closure(&deps, &id_of(&packages, krate)));
        for banned in [
            "tokio",
            "libp2p",
            "rusqlite",
            "libsqlite3-sys",
            "csirtmesh-store",
            "csirtmesh-net",
            "mio",
            "socket2",
            "async-std",
            "reqwest",
        ] {
            let found: Vec<&String> = all.iter().filter(|n| of_family(n, banned)).collect();
            assert!(found.is_empty(), "{krate} depends on {found:?} ({banned})");
        }
    }
}

/// What the graph cannot see: the standard library's own I/O and clocks.
/// The pure crates name none of them (a clock read or a file open in `core`
/// would make two nodes compute different things from the same records).
#[test]
fn domain_crates_read_no_clock_file_or_socket() {
    let banned = [
        "std::fs",
        "std::net",
        "std::process",
        "std::env",
        "tokio::",
        "SystemTime::now",
        "Instant::now",
        "thread::sleep",
    ];
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates");
    let mut scanned = 0;
    for krate in ["proto", "core", "seal", "sync", "interop"] {
        let mut dirs = vec![std::path::PathBuf::from(root).join(krate).join("src")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("a source directory") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("a source file");
                scanned += 1;
                for b in banned {
                    assert!(!text.contains(b), "{} names {b}", path.display());
                }
            }
        }
    }
    assert!(scanned >= 10, "scanned only {scanned} files: wrong root?");
}

#[test]
fn only_one_crate_each_for_libp2p_sqlite_and_age() {
    let (packages, deps) = graph();
    let owners = [
        ("libp2p", "csirtmesh-net"),
        ("rusqlite", "csirtmesh-store"),
        ("age", "csirtmesh-seal"),
    ];
    for (dep, owner) in owners {
        for p in packages
            .values()
            .filter(|p| p.name.starts_with("csirtmesh") && p.name.as_str() != owner)
        {
            let direct = names(&packages, &deps[&p.id].iter().cloned().collect());
            let found: Vec<&String> = direct.iter().filter(|n| of_family(n, dep)).collect();
            assert!(
                found.is_empty(),
                "{} depends on {found:?} directly; only {owner} may",
                p.name
            );
        }
    }
}
