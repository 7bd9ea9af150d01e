//! Every way a benchmark run can fail, as one type, so `main` reports it and exits non-zero.

use std::time::Duration;

/// A benchmark failure.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("invalid options: {0}")]
    Options(String),
    #[error("cannot start {what}: {source}")]
    Spawn {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} did not print its listening address within {limit:?}")]
    NoAddress { what: String, limit: Duration },
    #[error("{what} exited before printing its listening address")]
    ExitedEarly { what: String },
    #[error("Socket.IO server not installed: run `npm ci --prefix {dir}` (or pass --no-socketio)")]
    SocketIoMissing { dir: String },
    #[error("reading /proc/{pid}/{file}: {reason}")]
    Proc {
        pid: u32,
        file: &'static str,
        reason: String,
    },
    #[error("minting a token: {0}")]
    Token(String),
    #[error("WebSocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("connect timed out after {0:?}")]
    ConnectTimeout(Duration),
    #[error("unexpected frame: {0}")]
    Frame(String),
    #[error("connection closed by the server")]
    Closed,
    #[error("{joined} of {n} clients joined within {limit:?}; first client error: {first_error}")]
    NotJoined {
        joined: usize,
        n: usize,
        limit: Duration,
        first_error: String,
    },
    #[error("JSON: {0}")]
    Json(String),
    #[error("chart: {0}")]
    Chart(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("a client task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}
