//! The `testnet` binary: `demo`, `up`, `drill`, `bench`, `sim`, and `node`
//! (run as a `csirtmesh` node; the harness starts its node processes this
//! way). Each command's report prints itself ([`testnet::Report`]); this
//! file only parses the command line, runs it, and chooses text or JSON.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use testnet::{Report, emit, harness::NodeCommand};

/// Local CSIRT Mesh testnet.
#[derive(Parser)]
#[command(name = "testnet", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start 4 real nodes on loopback, run the scripted scenario, stop them.
    Demo {
        /// Print one JSON object of figures on stdout (progress goes to stderr).
        #[arg(long)]
        json: bool,
        /// Write each team's exports here: <team>/incidents.stix.json,
        /// incidents.misp.json and, where it has reports, reports.xarf.json.
        #[arg(long)]
        export_dir: Option<std::path::PathBuf>,
    },
    /// Start a mesh of N teams (F founders, the rest admitted by endorsement)
    /// and keep it up until Ctrl-C.
    Up {
        /// Teams in the mesh.
        #[arg(long, default_value_t = 5)]
        teams: usize,
        /// How many of them found the mesh (the others join by endorsement).
        #[arg(long, default_value_t = 3)]
        founders: usize,
        /// Stop after this many seconds instead of waiting for Ctrl-C (0: at once).
        #[arg(long = "for")]
        hold_secs: Option<u64>,
        /// Print one JSON object of figures on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Publish from many teams while killing, restarting and partitioning
    /// nodes; then heal and check nothing acknowledged was lost.
    Drill {
        /// A scenario file (TOML; see testnet/scenarios/). Flags override it.
        file: Option<std::path::PathBuf>,
        #[command(flatten)]
        params: Box<testnet::drill::Params>,
        /// Print one JSON object of figures on stdout (progress on stderr).
        #[arg(long)]
        json: bool,
    },
    /// Benchmarks (figures, not pass/fail). Without a subcommand: gossip
    /// against bare gossipsub, ingest and seal, in one run.
    Bench(BenchArgs),
    /// Many teams in one process (memory transport, emulated latency): a
    /// GREEN advisory to all and AMBER incidents, against the ideal latency.
    Sim(testnet::sim::SimConfig),
    /// Back up a running node, keep working, destroy it, restore it: it
    /// must catch up on everything and write again without forking its chain.
    BackupDrill {
        /// Print one JSON object of figures on stdout (progress on stderr).
        #[arg(long)]
        json: bool,
    },
    /// Two teams behind firewalls (network namespaces; needs root, ip and
    /// iptables) reach each other directly after a hole punch (DCUtR)
    /// through a member's relay.
    Holepunch {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Act as the `csirtmesh` binary (used by the harness to start nodes).
    #[command(hide = true)]
    Node {
        /// The `csirtmesh` arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct BenchArgs {
    #[command(subcommand)]
    which: Option<Bench>,
    #[command(flatten)]
    gossip: GossipArgs,
    /// Print one JSON object on stdout (progress on stderr).
    #[arg(long)]
    json: bool,
}

/// The gossip comparison's case.
#[derive(clap::Args, Clone)]
struct GossipArgs {
    /// Nodes, each connected to every other.
    #[arg(long, default_value_t = 10)]
    nodes: usize,
    /// Publications measured.
    #[arg(long, default_value_t = 200)]
    messages: usize,
    /// Payload bytes per publication.
    #[arg(long, default_value_t = 1024)]
    payload_bytes: usize,
    /// Publications per second.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Runs of both sides (medians are reported).
    #[arg(long, default_value_t = 1)]
    runs: usize,
}

impl GossipArgs {
    fn case(&self) -> testnet::bench_gossip::GossipCase {
        testnet::bench_gossip::GossipCase {
            nodes: self.nodes,
            messages: self.messages,
            payload_bytes: self.payload_bytes,
            rate_per_sec: self.rate,
        }
    }
}

#[derive(Subcommand)]
enum Bench {
    /// The same topology and payloads through csirtmesh nodes and through
    /// bare rust-libp2p gossipsub; latency, bytes and duplicates per delivery.
    Gossip {
        #[command(flatten)]
        gossip: GossipArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One node's durable ingest (Node::ingest) against raw SQLite and the
    /// crypto floors, measured in the same run.
    Ingest {
        /// Envelopes per run.
        #[arg(long, default_value_t = 2000)]
        envelopes: usize,
        /// Runs (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// `csirtmesh backup` and `restore` of a store of N envelopes, against
    /// copying the database file.
    Backup {
        /// Envelopes in the store.
        #[arg(long, default_value_t = 100_000)]
        envelopes: usize,
        /// Runs (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Seal and open a 1 KiB incident for 1, 10 and 500 named recipients.
    Seal {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set reconciliation of 100,000 ids differing by 10 and 1,000 and of
    /// 1,000,000 differing by 1 and 100, against sending the full id list
    /// and against the negentropy protocol on the same sets.
    Sync {
        /// Timed runs per case (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Node { args } => {
            csirtmesh::cli::main_from(std::iter::once("csirtmesh".to_string()).chain(args))
                .map(|()| true)
        }
        Command::BackupDrill { json } => {
            block_on(testnet::backup_drill::drill(this_binary(), json)).and_then(|r| emit(&r, json))
        }
        Command::Holepunch { json } => {
            testnet::holepunch::run(this_binary()).and_then(|r| emit(&r, json))
        }
        Command::Demo { json, export_dir } => block_on(testnet::demo::run(
            this_binary(),
            json,
            export_dir.as_deref(),
        ))
        .and_then(|r| emit(&r, json)),
        Command::Up {
            teams,
            founders,
            hold_secs,
            json,
        } => block_on(testnet::up::run(
            this_binary(),
            teams,
            founders,
            hold_secs.map(std::time::Duration::from_secs),
            json,
        ))
        .and_then(|r| emit(&r, json)),
        Command::Drill { file, params, json } => drill(file, *params)
            .and_then(|cfg| block_on(testnet::drill::run(this_binary(), cfg, json)))
            .and_then(|r| emit(&r, json)),
        Command::Sim(cfg) if cfg.bare => {
            block_on(testnet::sim::run_bare(&cfg)).and_then(|r| emit(&r, cfg.json))
        }
        Command::Sim(cfg) => block_on(testnet::sim::run(&cfg)).and_then(|r| emit(&r, cfg.json)),
        Command::Bench(BenchArgs {
            which: None,
            gossip,
            json,
        }) => bench_all(&gossip, json),
        Command::Bench(BenchArgs {
            which: Some(which), ..
        }) => match which {
            Bench::Gossip { gossip, json } => gossip_runs(&gossip).and_then(|r| emit(&r, json)),
            Bench::Sync { runs, json } => emit(&testnet::bench_sync::run(runs), json),
            Bench::Ingest {
                envelopes,
                runs,
                json,
            } => testnet::bench_ingest::ingest(envelopes.max(10), runs.max(1))
                .and_then(|r| emit(&r, json)),
            Bench::Seal { json } => seal().and_then(|r| emit(&r, json)),
            Bench::Backup {
                envelopes,
                runs,
                json,
            } => block_on(testnet::backup_drill::bench(
                this_binary(),
                envelopes.max(1),
                runs.max(1),
            ))
            .and_then(|r| emit(&r, json)),
        },
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// This binary, run as `testnet node ...`: how the harness starts nodes.
fn this_binary() -> NodeCommand {
    NodeCommand::this_binary().unwrap_or_else(|e| {
        eprintln!("error: cannot find this program to start nodes with: {e:#}");
        std::process::exit(2)
    })
}

/// Runs a future on the multi-threaded runtime the harness commands use.
fn block_on<T>(f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(f)
}

/// The drill's parameters: flags over the scenario file, validated once.
fn drill(
    file: Option<std::path::PathBuf>,
    flags: testnet::drill::Params,
) -> anyhow::Result<testnet::drill::DrillConfig> {
    let file = file
        .as_deref()
        .map(testnet::drill::Params::load)
        .transpose()?
        .unwrap_or_default();
    flags.over(file).validate()
}

fn gossip_runs(args: &GossipArgs) -> anyhow::Result<testnet::bench_gossip::GossipRuns> {
    block_on(testnet::bench_gossip::compare_runs(
        this_binary(),
        &args.case(),
        args.runs,
    ))
}

fn seal() -> anyhow::Result<testnet::bench_ingest::SealReport> {
    testnet::bench_ingest::seal(&[1, 10, 500], 200)
}

/// `testnet bench`: gossip against bare gossipsub, ingest and seal, in one
/// report.
fn bench_all(gossip: &GossipArgs, json: bool) -> anyhow::Result<bool> {
    let g = gossip_runs(gossip)?;
    if !json {
        print!("{g}");
    }
    let ingest = testnet::bench_ingest::ingest(2000, 3)?;
    if !json {
        print!("{ingest}");
    }
    let seal = seal()?;
    if !json {
        print!("{seal}");
        return Ok(true);
    }
    let all = serde_json::json!({
        "latency_p99_vs_bare": g.latency_p99_vs_bare,
        "bytes_per_delivery_vs_bare": g.bytes_per_delivery_vs_bare,
        "gossip": g,
        "ingest": ingest,
        "seal": seal,
    });
    println!("{}", serde_json::to_string_pretty(&all)?);
    Ok(g.held() && ingest.held() && seal.held())
}
