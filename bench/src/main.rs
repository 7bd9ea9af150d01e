//! `roomcast-bench`: the load benchmark of docs/benchmarks.md ("Load: Roomcast vs Socket.IO").
//!
//! `cargo run --release -p roomcast-bench -- --help`. Loopback only; every run stops by itself.

mod args;
mod client;
mod error;
mod process;
mod procfs;
mod report;
mod run;
mod shared;
mod wire;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use crate::args::Args;
use crate::error::BenchError;
use crate::run::RowResult;
use crate::wire::Proto;

fn main() -> ExitCode {
    // Re-executed as the server under test: the same code as the roomcast-server binary.
    if std::env::var_os(process::AS_SERVER_ENV).is_some() {
        return roomcast_server::cli::main();
    }
    let args = Args::parse();
    match bench(&args) {
        Ok(rows) => {
            println!("{}", report::render(&args, &rows));
            if rows.iter().all(passed) {
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "roomcast-bench: FAILED (loss, duplicates, errors or an incomplete storm)"
                );
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("roomcast-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Whether a row delivered everything exactly once without errors (Socket.IO included: on
/// loopback without restarts it should lose nothing either).
fn passed(r: &RowResult) -> bool {
    let clean = r.lost == 0
        && r.dups == 0
        && r.seq_errors == 0
        && r.refused == 0
        && r.unexpected_disconnects == 0;
    clean && r.storm.is_none_or(|s| s.complete)
}

fn bench(args: &Args) -> Result<Vec<RowResult>, BenchError> {
    args.validate()?;
    raise_fd_limit(args.connections)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let base = Instant::now();
    runtime.block_on(async {
        let mut rows = Vec::new();
        rows.push(
            run::run(
                args,
                Proto::Roomcast { ephemeral: false },
                !args.no_storm,
                base,
            )
            .await?,
        );
        if !args.no_ephemeral {
            rows.push(run::run(args, Proto::Roomcast { ephemeral: true }, false, base).await?);
        }
        if !args.no_socketio {
            rows.push(run::run(args, Proto::SocketIo, false, base).await?);
        }
        Ok(rows)
    })
}

/// Each connection is a socket here and one in the server (children inherit the limit):
/// raise the soft limit to the hard one and check it is enough.
fn raise_fd_limit(connections: usize) -> Result<(), BenchError> {
    let need = (connections as u64) * 2 + 256;
    let (soft, hard) = rlimit::Resource::NOFILE.get()?;
    if soft < need {
        rlimit::Resource::NOFILE.set(hard.max(soft), hard)?;
    }
    let (soft, _) = rlimit::Resource::NOFILE.get()?;
    if soft < need {
        return Err(BenchError::Options(format!(
            "{connections} connections need {need} file descriptors, the limit is {soft}: raise it (ulimit -n)"
        )));
    }
    Ok(())
}
