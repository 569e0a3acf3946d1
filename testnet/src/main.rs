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
