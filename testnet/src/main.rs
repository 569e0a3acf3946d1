//! The `testnet` binary: `demo`, and `node` (run as a `csirtmesh` node; the
//! harness starts its node processes this way).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use testnet::{demo, harness::NodeCommand};

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
    /// Act as the `csirtmesh` binary (used by the harness to start nodes).
    #[command(hide = true)]
    Node {
        /// The `csirtmesh` arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
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

fn run_demo(json: bool) -> anyhow::Result<bool> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(demo::run(NodeCommand::this_binary()?, json))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(report.steps_failed.is_empty())
}
