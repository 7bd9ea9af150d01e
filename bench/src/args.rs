//! Command-line options. Defaults give the documented fixed-rate run (about a minute and a
//! half); `--saturate` and `--churn` select the other two scenarios, each bounded by itself.

use std::path::PathBuf;

use clap::Parser;

use crate::error::BenchError;

/// Load benchmark over loopback: Roomcast (persisted and ephemeral) against Socket.IO 4 and
/// socketioxide, with the same generator, workload and machine in one run. By default one
/// fixed rate and then a reconnect storm on Roomcast; `--saturate` steps the rate up to each
/// server's ceiling; `--churn` closes every connection now and then and counts what arrives.
#[derive(Debug, Clone, Parser)]
#[command(name = "roomcast-bench", version, about)]
pub struct Args {
    /// WebSocket connections per server.
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    /// Rooms; connection i joins room i mod R, and the first member of each room publishes.
    /// Default: connections / 10 (100 for the default 1000 connections).
    #[arg(long)]
    pub rooms: Option<usize>,
    /// Target aggregate publish rate, messages per second over all rooms.
    #[arg(long, default_value_t = 2000)]
    pub rate: u64,
    /// Seconds of measured load per server (default 20); with --saturate per step (default
    /// 5); with --churn the whole churn (default 60).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Seconds of unmeasured load before the measurement (JIT, allocator and caches warm up).
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Bytes of padding in each message's data (the whole frame is about 200 bytes more).
    #[arg(long, default_value_t = 64)]
    pub payload: usize,
    /// Skip the Socket.IO comparison (no Node.js needed).
    #[arg(long)]
    pub no_socketio: bool,
    /// Skip the socketioxide comparison (otherwise built on demand from bench/socketioxide).
    #[arg(long)]
    pub no_socketioxide: bool,
    /// The socketioxide server binary, instead of building bench/socketioxide.
    #[arg(long, value_name = "PATH")]
    pub socketioxide_bin: Option<PathBuf>,
    /// Saturation: for each server, step the offered rate up from --start-rate by
    /// --step-factor until delivery falls behind; report the highest rate sustained.
    #[arg(long)]
    pub saturate: bool,
    /// Saturation: the first offered rate, messages per second over all rooms.
    #[arg(long, default_value_t = 2000)]
    pub start_rate: u64,
    /// Saturation: each step offers this many times the previous one.
    #[arg(long, default_value_t = 1.5)]
    pub step_factor: f64,
    /// Saturation: the highest rate offered.
    #[arg(long, default_value_t = 200_000)]
    pub max_rate: u64,
    /// Saturation: at most this many steps per server.
    #[arg(long, default_value_t = 12)]
    pub max_steps: usize,
    /// Saturation: a step whose p99 latency passes this bound (ms) is not sustained.
    #[arg(long, default_value_t = 500.0)]
    pub p99_bound_ms: f64,
    /// Seconds a step (or the churn) may take to deliver its backlog once publishing stops;
    /// what has not arrived by then is lost.
    #[arg(long, default_value_t = 20)]
    pub drain_limit: u64,
    /// Churn: close every connection about every --churn-every seconds during the
    /// measurement, offline for about --churn-offline seconds, while publishing continues.
    #[arg(long)]
    pub churn: bool,
    /// Churn: seconds between forced closes of one connection (jittered ±25%).
    #[arg(long, default_value_t = 15.0)]
    pub churn_every: f64,
    /// Churn: seconds offline after a forced close (jittered ±25%).
    #[arg(long, default_value_t = 2.0)]
    pub churn_offline: f64,
    /// Print the results as one JSON document on stdout (the Markdown report goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON document to this file.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
    /// Write the saturation charts (SVG) into this directory.
    #[arg(long, value_name = "DIR")]
    pub chart: Option<PathBuf>,
    /// Draw the charts of a saved JSON document (--json-out) into --chart DIR and exit,
    /// without running anything.
    #[arg(long, value_name = "FILE", requires = "chart")]
    pub chart_from: Option<PathBuf>,
    /// Skip the ephemeral Roomcast row.
    #[arg(long)]
    pub no_ephemeral: bool,
    /// Skip the reconnect storm.
    #[arg(long)]
    pub no_storm: bool,
    /// Run this roomcast-server binary instead of this program re-executed as the server
    /// (the same code: `roomcast_server::cli::main`).
    #[arg(long, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// Directory of the Socket.IO server (`server.js`, installed with `npm ci`).
    #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/socketio"))]
    pub socketio_dir: PathBuf,
    /// Node.js executable.
    #[arg(long, default_value = "node")]
    pub node: PathBuf,
    /// First reconnect delay in milliseconds (doubling, jittered, up to --reconnect-max-ms).
    #[arg(long, default_value_t = 100)]
    pub reconnect_min_ms: u64,
    /// Longest reconnect delay in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub reconnect_max_ms: u64,
    /// Seconds allowed for connecting every client, and separately for the storm's recovery.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Connection attempts in flight at once while connecting (the accept backlog is finite).
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
}

impl Args {
    /// The number of rooms: as given, else ten connections per room, at most 100 rooms.
    pub fn rooms(&self) -> usize {
        self.rooms.unwrap_or((self.connections / 10).clamp(1, 100))
    }

    /// Seconds measured: per run, per saturation step, or for the whole churn.
    pub fn duration(&self) -> f64 {
        self.duration.unwrap_or(if self.churn {
            60.0
        } else if self.saturate {
            5.0
        } else {
            20.0
        })
    }

    /// Rejects shapes the workload cannot run: every room needs a publisher and a subscriber.
    pub fn validate(&self) -> Result<(), BenchError> {
        let bad = |m: &str| Err(BenchError::Options(m.to_owned()));
        if self.rooms() == 0 || self.connections < 2 * self.rooms() {
            return bad("--connections must be at least twice --rooms (a publisher and a subscriber per room)");
        }
        if self.rate == 0 {
            return bad("--rate must be positive");
        }
        let duration = self.duration();
        if !(duration.is_finite() && duration > 0.0 && duration <= 3600.0) {
            return bad("--duration must be in (0, 3600] seconds");
        }
        if !(self.warmup.is_finite() && (0.0..=600.0).contains(&self.warmup)) {
            return bad("--warmup must be in [0, 600] seconds");
        }
        if self.payload > 32 * 1024 {
            return bad("--payload must fit a frame (at most 32768 bytes)");
        }
        if self.reconnect_min_ms == 0 || self.reconnect_max_ms < self.reconnect_min_ms {
            return bad("need 0 < --reconnect-min-ms <= --reconnect-max-ms");
        }
        if self.connect_concurrency == 0 || self.timeout == 0 {
            return bad("--connect-concurrency and --timeout must be positive");
        }
        if self.saturate {
            if self.start_rate == 0 || self.max_rate < self.start_rate {
                return bad("need 0 < --start-rate <= --max-rate");
            }
            if !(self.step_factor.is_finite() && self.step_factor > 1.0 && self.step_factor <= 10.0)
            {
                return bad("--step-factor must be in (1, 10]");
            }
            if self.max_steps == 0 || self.max_steps > 100 {
                return bad("--max-steps must be in [1, 100]");
            }
            if !(self.p99_bound_ms.is_finite() && self.p99_bound_ms > 0.0) {
                return bad("--p99-bound-ms must be positive");
            }
        }
        if self.churn {
            let ok = |v: f64| v.is_finite() && v > 0.0 && v <= 3600.0;
            if !ok(self.churn_every) || !ok(self.churn_offline) {
                return bad("--churn-every and --churn-offline must be in (0, 3600] seconds");
            }
        }
        if self.drain_limit == 0 || self.drain_limit > 600 {
            return bad("--drain-limit must be in [1, 600] seconds");
        }
        Ok(())
    }
}
