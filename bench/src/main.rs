//! `roomcast-bench`: the load benchmark of docs/benchmarks.md ("Load: Roomcast vs Socket.IO").
//!
//! `cargo run --release -p roomcast-bench -- --help`. Loopback only; every run stops by itself.
//! Three scenarios: the fixed-rate comparison with a reconnect storm (default), `--saturate`
//! (each server's ceiling) and `--churn` (recovery from connections closed now and then).

mod args;
mod chart;
mod churn;
mod client;
mod error;
mod fleet;
mod process;
mod procfs;
mod report;
mod results;
mod run;
mod saturate;
mod shared;
mod target;
mod wire;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use crate::args::Args;
use crate::error::BenchError;
use crate::fleet::Peers;
use crate::results::Document;
use crate::run::RowResult;
use crate::target::Target;

fn main() -> ExitCode {
    // Re-executed as the server under test: the same code as the roomcast-server binary.
    if std::env::var_os(process::AS_SERVER_ENV).is_some() {
        return roomcast_server::cli::main();
    }
    let args = Args::parse();
    let result = if let Some(from) = &args.chart_from {
        charts_from(&args, from)
    } else if args.saturate || args.churn {
        scenarios(&args)
    } else {
        fixed_rate(&args)
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("roomcast-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The default run: every server at `--rate`, then the storm.
fn fixed_rate(args: &Args) -> Result<ExitCode, BenchError> {
    let rows = bench(args)?;
    println!("{}", report::render(args, &rows));
    if rows.iter().all(passed) {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("roomcast-bench: FAILED (loss, duplicates, errors or an incomplete storm)");
        Ok(ExitCode::FAILURE)
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

fn runtime() -> Result<tokio::runtime::Runtime, BenchError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn bench(args: &Args) -> Result<Vec<RowResult>, BenchError> {
    args.validate()?;
    raise_fd_limit(args.connections)?;
    let base = Instant::now();
    let peers = Peers::default();
    runtime()?.block_on(async {
        let mut rows = Vec::new();
        rows.push(run::run(args, Target::Persisted, !args.no_storm, base, &peers).await?);
        if !args.no_ephemeral {
            rows.push(run::run(args, Target::Ephemeral, false, base, &peers).await?);
        }
        if !args.no_socketio {
            rows.push(run::run(args, Target::SocketIo, false, base, &peers).await?);
        }
        Ok(rows)
    })
}

/// `--saturate` and/or `--churn`: the servers one after the other, then the report, the
/// JSON and the charts. Loss and backlog of a peer are results, not failures; the run fails
/// only on errors, or when Roomcast loses or repeats a persisted message in the churn.
fn scenarios(args: &Args) -> Result<ExitCode, BenchError> {
    args.validate()?;
    raise_fd_limit(args.connections)?;
    if !args.no_socketio && !process::socketio_installed(&args.socketio_dir) {
        return Err(BenchError::SocketIoMissing {
            dir: args.socketio_dir.display().to_string(),
        });
    }
    // Built before anything is measured, so the build does not load the machine meanwhile.
    let peers = Peers {
        socketioxide: if args.no_socketioxide {
            None
        } else {
            process::socketioxide_bin(args.socketioxide_bin.as_deref())
        },
    };
    let base = Instant::now();
    let mut doc = Document {
        connections: args.connections,
        rooms: args.rooms(),
        payload: args.payload,
        load_start: procfs::load_average(),
        load_end: f64::NAN,
        saturation: Vec::new(),
        churn: Vec::new(),
        ratios: Vec::new(),
    };
    let rt = runtime()?;
    if args.saturate {
        let mut targets = vec![Target::Persisted];
        if !args.no_ephemeral {
            targets.push(Target::Ephemeral);
        }
        if !args.no_socketio {
            targets.push(Target::SocketIo);
        }
        if peers.socketioxide.is_some() {
            targets.push(Target::Socketioxide);
        }
        for t in targets {
            let s = rt.block_on(saturate::saturate(args, t, base, &peers))?;
            doc.saturation.push(s);
        }
        doc.compute_ratios();
    }
    if args.churn {
        let mut targets = vec![Target::Persisted];
        if !args.no_socketio {
            targets.extend([Target::SocketIo, Target::SocketIoRecovery]);
        }
        if peers.socketioxide.is_some() {
            targets.push(Target::Socketioxide);
        }
        for t in targets {
            let c = rt.block_on(churn::churn(args, t, base, &peers))?;
            doc.churn.push(c);
        }
    }
    doc.load_end = procfs::load_average();
    let markdown = report::render_document(args, &doc);
    let json = serde_json::to_string_pretty(&doc).map_err(|e| BenchError::Json(e.to_string()))?;
    if args.json {
        eprintln!("{markdown}");
        println!("{json}");
    } else {
        println!("{markdown}");
    }
    if let Some(path) = &args.json_out {
        std::fs::write(path, &json)?;
    }
    match &args.chart {
        Some(_) if doc.saturation.is_empty() => {
            eprintln!("no charts: they draw the saturation steps (--saturate)");
        }
        Some(dir) => {
            for path in chart::write(&doc, dir)? {
                eprintln!("chart: {}", path.display());
            }
        }
        None => {}
    }
    let roomcast_churn_clean = doc
        .churn
        .iter()
        .filter(|c| c.server == Target::Persisted.key())
        .all(|c| c.lost == 0 && c.dups == 0 && c.seq_errors == 0 && c.refused == 0);
    let roomcast_sat_clean = doc
        .saturation
        .iter()
        .filter(|s| s.server.starts_with("roomcast"))
        .all(|s| s.refused == 0);
    if roomcast_churn_clean && roomcast_sat_clean {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("roomcast-bench: FAILED (Roomcast answered errors, lost or repeated messages)");
        Ok(ExitCode::FAILURE)
    }
}

/// `--chart-from FILE --chart DIR`: the charts of a saved run.
fn charts_from(args: &Args, from: &std::path::Path) -> Result<ExitCode, BenchError> {
    let Some(dir) = &args.chart else {
        return Err(BenchError::Options("--chart-from needs --chart DIR".into()));
    };
    let text = std::fs::read_to_string(from)?;
    let doc: Document = serde_json::from_str(&text)
        .map_err(|e| BenchError::Json(format!("{}: {e}", from.display())))?;
    for path in chart::write(&doc, dir)? {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
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
