//! The `csirtmesh` binary: everything lives in the library (`csirtmesh::cli`).

use std::process::ExitCode;

fn main() -> ExitCode {
    match csirtmesh::cli::main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The chain of causes on one line, for people; no backtrace.
            // An error may quote what a peer wrote (a refusal, a name).
            eprintln!(
                "error: {}",
                proto::text::printable(&format!("{e:#}"), false)
            );
            ExitCode::FAILURE
        }
    }
}
