//! The `testnet` binary: `demo`, and `node` (run as a `csirtmesh` node; the
//! harness starts its node processes this way).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use testnet::{demo, harness::NodeCommand, stats::median};

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
        /// Teams (all founders). Default 12.
        #[arg(long)]
        teams: Option<usize>,
        /// Incidents to publish. Default 300.
        #[arg(long)]
        incidents: Option<usize>,
        /// Share of teams killed (SIGKILL) and restarted during the burst. Default 0.3.
        #[arg(long)]
        churn: Option<f64>,
        /// Split the mesh in two during the burst.
        #[arg(long)]
        partition: bool,
        /// Share of incidents published GREEN. Default 0.5.
        #[arg(long)]
        green_share: Option<f64>,
        /// Teams that listen only through the first team's relay. Default 0.
        #[arg(long)]
        relayed: Option<usize>,
        /// Emulated delay on every incoming link, ms. Default 0.
        #[arg(long)]
        latency_ms: Option<u64>,
        /// Emulated loss of incoming gossip on every link, 0..1. Default 0.
        #[arg(long)]
        loss: Option<f64>,
        /// Seed for authors, labels and recipients. Default 1.
        #[arg(long)]
        seed: Option<u64>,
        /// Publications per second. Default: as fast as nodes acknowledge.
        #[arg(long)]
        rate: Option<f64>,
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
    /// Seal and open a 1 KiB incident for 1, 10 and 500 named recipients.
    Seal {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set reconciliation of 100,000 ids differing by 10 and 1,000, against
    /// sending the full id list.
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
        Command::Demo { json } => run_demo(json),
        Command::Sim(cfg) => run_sim(&cfg),
        Command::Bench(BenchArgs {
            which: None,
            gossip,
            json,
        }) => bench_all(&gossip, json),
        Command::Bench(BenchArgs {
            which: Some(which), ..
        }) => match which {
            Bench::Gossip { gossip, json } => bench_gossip(&gossip, json).and_then(|g| {
                if json {
                    println!("{}", serde_json::to_string_pretty(&g)?);
                }
                Ok(true)
            }),
            Bench::Sync { runs, json } => bench_sync(runs, json),
            Bench::Ingest {
                envelopes,
                runs,
                json,
            } => bench_ingest(envelopes, runs, json),
            Bench::Seal { json } => bench_seal(json),
        },
        Command::Drill {
            file,
            teams,
            incidents,
            churn,
            partition,
            green_share,
            relayed,
            latency_ms,
            loss,
            seed,
            rate,
            json,
        } => {
            let flags = testnet::drill::Scenario {
                name: None,
                teams,
                incidents,
                churn,
                partition: partition.then_some(true),
                seed,
                green_share,
                relayed,
                latency_ms,
                loss,
                rate_per_sec: rate,
                fault: vec![],
                last_resort: None,
                report_share: None,
            };
            match file
                .as_deref()
                .map(testnet::drill::Scenario::load)
                .transpose()
            {
                Ok(scenario) => scenario
                    .unwrap_or_default()
                    .resolve(&flags)
                    .and_then(|cfg| run_drill(cfg, json)),
                Err(e) => Err(e),
            }
        }
        Command::Up {
            teams,
            founders,
            hold_secs,
            json,
        } => run_up(teams, founders, hold_secs, json),
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

fn run_up(
    teams: usize,
    founders: usize,
    hold_secs: Option<u64>,
    json: bool,
) -> anyhow::Result<bool> {
    let runtime = runtime()?;
    let hold = hold_secs.map(std::time::Duration::from_secs);
    let report = runtime.block_on(testnet::up::run(
        NodeCommand::this_binary()?,
        teams,
        founders,
        hold,
        json,
    ))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(report.all_admitted)
}

fn run_drill(cfg: testnet::drill::DrillConfig, json: bool) -> anyhow::Result<bool> {
    if !(0.0..=1.0).contains(&cfg.churn) {
        anyhow::bail!(
            "--churn is a share of teams, from 0 to 1 (got {})",
            cfg.churn
        );
    }
    let runtime = runtime()?;
    let report = runtime.block_on(testnet::drill::run(NodeCommand::this_binary()?, cfg, json))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "published {} (acknowledged), lost {}, converged {} ({} ms after heal), latency p50 {} ms p95 {} ms p99 {} ms max {} ms, {} kills ({} envelopes acknowledged just before a kill), partition {} ms",
            report.envelopes_published,
            report.lost,
            report.converged,
            report.converge_after_heal_ms,
            report.latency_ms.p50,
            report.latency_ms.p95,
            report.latency_ms.p99,
            report.latency_ms.max,
            report.kills,
            report.acknowledged_before_kill,
            report.partition_ms
        );
        println!(
            "delivery ratio {:.4} over {} intended deliveries; {:.2} duplicates and {:.0} bytes sent per delivery; {} reports ({} routed to last-resort teams); a newcomer admitted in {} ms; per node {:.2} CPU s and {:.1} MiB peak RSS (median)",
            report.delivery_ratio,
            report.deliveries_intended,
            report.duplicates_per_delivery,
            report.bytes_sent_per_delivery,
            report.reports,
            report.reports_to_last_resort,
            report.admit_ms,
            report.resources.cpu_s_median,
            report.resources.rss_peak_mib_median
        );
        for f in &report.faults {
            println!("  fault: {f}");
        }
        for l in &report.lost_examples {
            println!("  lost: {l}");
        }
    }
    Ok(report.lost == 0 && report.converged)
}

/// `testnet bench`: everything the issue of record asks for in one JSON.
fn bench_all(gossip: &GossipArgs, json: bool) -> anyhow::Result<bool> {
    let g = bench_gossip(gossip, json)?;
    let ingest = bench_ingest_report(2000, 3, json)?;
    let seal = bench_seal_report(json)?;
    if json {
        let all = serde_json::json!({
            "latency_p99_vs_bare": g.latency_p99_vs_bare,
            "bytes_per_delivery_vs_bare": g.bytes_per_delivery_vs_bare,
            "gossip": g,
            "ingest": ingest,
            "seal": seal,
        });
        println!("{}", serde_json::to_string_pretty(&all)?);
    }
    Ok(true)
}

/// Gossip comparison runs and their medians.
#[derive(serde::Serialize)]
struct GossipRuns {
    /// Median over runs of `latency_p99_vs_bare`.
    latency_p99_vs_bare: f64,
    /// Median over runs of `bytes_per_delivery_vs_bare`.
    bytes_per_delivery_vs_bare: f64,
    /// Each run.
    runs: Vec<testnet::bench_gossip::GossipComparison>,
}

fn bench_gossip(args: &GossipArgs, json: bool) -> anyhow::Result<GossipRuns> {
    let runtime = runtime()?;
    let case = args.case();
    let mut runs = Vec::new();
    for i in 0..args.runs.max(1) {
        eprintln!(
            "gossip run {}/{}: {} nodes, {} x {} B at {}/s, csirtmesh then bare gossipsub",
            i + 1,
            args.runs.max(1),
            case.nodes,
            case.messages,
            case.payload_bytes,
            case.rate_per_sec
        );
        runs.push(runtime.block_on(testnet::bench_gossip::compare(
            NodeCommand::this_binary()?,
            &case,
        ))?);
    }
    let out = GossipRuns {
        latency_p99_vs_bare: median(runs.iter().map(|r| r.latency_p99_vs_bare).collect()),
        bytes_per_delivery_vs_bare: median(
            runs.iter().map(|r| r.bytes_per_delivery_vs_bare).collect(),
        ),
        runs,
    };
    if json {
        return Ok(out);
    }
    println!(
        "Gossip: {} nodes (all connected), {} x {} B payloads at {}/s, {} run(s)",
        case.nodes,
        case.messages,
        case.payload_bytes,
        case.rate_per_sec,
        out.runs.len()
    );
    println!(
        "{:>4} {:>10} {:>9} {:>9} {:>9} {:>9} {:>12} {:>11} {:>10} {:>9}",
        "run",
        "side",
        "delivered",
        "p50 ms",
        "p99 ms",
        "max ms",
        "B sent/deliv",
        "dups/deliv",
        "msg bytes",
        "CPU us/d"
    );
    for (i, r) in out.runs.iter().enumerate() {
        for (name, s) in [("csirtmesh", &r.csirtmesh), ("bare", &r.bare)] {
            println!(
                "{:>4} {:>10} {:>9.3} {:>9.1} {:>9.1} {:>9.1} {:>12.0} {:>11.2} {:>10} {:>9.0}",
                i + 1,
                name,
                s.delivery_ratio,
                s.latency_ms.p50,
                s.latency_ms.p99,
                s.latency_ms.max,
                s.bytes_sent_per_delivery,
                s.duplicates_per_delivery,
                s.message_bytes,
                s.cpu_us_per_delivery
            );
        }
    }
    println!(
        "median latency_p99_vs_bare {:.2}, bytes_per_delivery_vs_bare {:.2}",
        out.latency_p99_vs_bare, out.bytes_per_delivery_vs_bare
    );
    Ok(out)
}

fn bench_ingest(envelopes: usize, runs: usize, json: bool) -> anyhow::Result<bool> {
    let r = bench_ingest_report(envelopes, runs, json)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    }
    Ok(true)
}

fn bench_ingest_report(
    envelopes: usize,
    runs: usize,
    json: bool,
) -> anyhow::Result<testnet::bench_ingest::IngestReport> {
    let r = testnet::bench_ingest::ingest(envelopes.max(10), runs.max(1))?;
    if !json {
        println!(
            "Ingest of {} envelopes (1 in 10 addressed to the node), median of {runs} runs",
            r.envelopes
        );
        println!(
            "  Node::ingest, durable one by one: {:>9.0} envelopes/s",
            r.ingest_per_s
        );
        println!(
            "  Node::ingest_batch, 256 a commit: {:>9.0} envelopes/s (floor x{:.2})",
            r.ingest_batched_per_s, r.ingest_batched_vs_floor
        );
        println!(
            "  raw SQLite, commit per row:       {:>9.0} rows/s   (ingest x{:.2})",
            r.sqlite_commit_per_row_per_s, r.ingest_vs_commit_per_row
        );
        println!(
            "  raw SQLite, 1000 rows per commit: {:>9.0} rows/s",
            r.sqlite_batched_per_s
        );
        println!(
            "  ed25519 verify:                   {:>9.0} /s",
            r.verify_per_s
        );
        println!(
            "  age open (1 recipient):           {:>9.0} /s",
            r.open_per_s
        );
        println!(
            "  floor verify + batched insert + open/10: {:.0} /s (ingest x{:.2})",
            r.floor_verify_batched_open_per_s, r.ingest_vs_floor
        );
    }
    Ok(r)
}

fn bench_seal(json: bool) -> anyhow::Result<bool> {
    let cases = bench_seal_report(json)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&cases)?);
    }
    Ok(true)
}

fn bench_seal_report(json: bool) -> anyhow::Result<Vec<testnet::bench_ingest::SealCase>> {
    let cases = testnet::bench_ingest::seal(&[1, 10, 500], 200)?;
    if !json {
        println!("Seal (sign + encrypt) and open (as the last recipient) of a 1 KiB incident");
        println!(
            "{:>11} {:>10} {:>10} {:>10} {:>14}",
            "recipients", "seal/s", "open/s", "bytes", "of seal: hints"
        );
        for c in &cases {
            println!(
                "{:>11} {:>10.0} {:>10.0} {:>10} {:>11.1} µs",
                c.recipients, c.seal_per_s, c.open_per_s, c.bytes, c.hints_us
            );
        }
    }
    Ok(cases)
}

fn bench_sync(runs: usize, json: bool) -> anyhow::Result<bool> {
    let cases = testnet::bench_sync::run(runs);
    if json {
        println!("{}", serde_json::to_string_pretty(&cases)?);
    } else {
        println!(
            "Set reconciliation vs sending the full id list ({runs} runs per case, median time)"
        );
        println!(
            "{:>8} {:>6} {:>7} {:>6} {:>11} {:>11} {:>9} {:>6} {:>9}",
            "items", "diff", "where", "trips", "bytes", "full list", "ratio", "exact", "ms"
        );
        for c in &cases {
            println!(
                "{:>8} {:>6} {:>7} {:>6} {:>11} {:>11} {:>9.4} {:>6} {:>9.1}",
                c.items,
                c.differences,
                c.placement,
                c.round_trips,
                c.bytes,
                c.baseline_bytes,
                c.bytes_vs_full_list,
                c.exact,
                c.median_ms
            );
        }
    }
    Ok(cases.iter().all(|c| c.exact))
}

/// The tokio runtime the harness commands run on.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn run_sim(cfg: &testnet::sim::SimConfig) -> anyhow::Result<bool> {
    if cfg.bare {
        let report = runtime()?.block_on(testnet::sim::run_bare(cfg))?;
        if cfg.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            println!(
                "bare gossipsub, {} nodes: {} messages at {}/s delivered {:.4}, p50 {:.0} ms p99 {:.0} ms; {:.1} CPU s, {:.0} MiB peak",
                report.teams,
                report.load.published,
                cfg.rate,
                report.load.delivery_ratio,
                report.load.latency_ms.p50,
                report.load.latency_ms.p99,
                report.cpu_s,
                report.rss_peak_mib
            );
        }
        return Ok(report.load.delivery_ratio >= 1.0);
    }
    let report = runtime()?.block_on(testnet::sim::run(cfg))?;
    if cfg.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} teams, {} ms links ({} per node, at most {} hops): GREEN delivered {:.4}, p50 {:.0} ms p99 {:.0} ms (ideal p50 {:.0} p99 {:.0}); {:.1} CPU s, {:.0} MiB peak ({:.2} MiB per team)",
            report.teams,
            report.link_latency_ms,
            report.links_per_node_median,
            report.hops_max,
            report.delivery_ratio,
            report.latency_ms.p50,
            report.latency_ms.p99,
            report.ideal_latency_ms.p50,
            report.ideal_latency_ms.p99,
            report.cpu_s,
            report.rss_peak_mib,
            report.rss_per_team_mib
        );
        if let Some(l) = &report.load {
            println!(
                "load: {} GREEN advisories at {}/s delivered {:.4}, p50 {:.0} ms p99 {:.0} ms (ideal p99 {:.0})",
                l.published,
                cfg.rate,
                l.delivery_ratio,
                l.latency_ms.p50,
                l.latency_ms.p99,
                l.ideal_latency_ms.p99
            );
        }
    }
    Ok(
        report.delivery_ratio >= 1.0
            && report.load.as_ref().is_none_or(|l| l.delivery_ratio >= 1.0),
    )
}

fn run_demo(json: bool) -> anyhow::Result<bool> {
    let runtime = runtime()?;
    let report = runtime.block_on(demo::run(NodeCommand::this_binary()?, json))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(report.steps_failed.is_empty())
}
