//! Command-line options. Defaults give the documented run: about a minute and a half.

use std::path::PathBuf;

use clap::Parser;

use crate::error::BenchError;

/// Load benchmark over loopback: Roomcast (persisted and ephemeral) against Socket.IO 4, with
/// the same generator, workload and machine in one run, then a reconnect storm on Roomcast.
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
    /// Seconds of measured load per server.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Seconds of unmeasured load before the measurement (JIT, allocator and caches warm up).
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Bytes of padding in each message's data (the whole frame is about 200 bytes more).
    #[arg(long, default_value_t = 64)]
    pub payload: usize,
    /// Skip the Socket.IO comparison (no Node.js needed).
    #[arg(long)]
    pub no_socketio: bool,
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

    /// Rejects shapes the workload cannot run: every room needs a publisher and a subscriber.
    pub fn validate(&self) -> Result<(), BenchError> {
        let bad = |m: &str| Err(BenchError::Options(m.to_owned()));
        if self.rooms() == 0 || self.connections < 2 * self.rooms() {
            return bad("--connections must be at least twice --rooms (a publisher and a subscriber per room)");
        }
        if self.rate == 0 {
            return bad("--rate must be positive");
        }
        if !(self.duration.is_finite() && self.duration > 0.0 && self.duration <= 3600.0) {
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
        Ok(())
    }
}
