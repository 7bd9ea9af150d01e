//! The one tokio runtime the FFI layer owns.
//!
//! Every client's driver task and every async export runs here. Async exports do not use
//! uniffi's `async_runtime = "tokio"`: that wraps futures in `async-compat`, which starts a
//! second, hidden runtime. Instead each export spawns its work on this runtime and awaits the
//! `JoinHandle`, which any foreign executor (Swift's, Python's asyncio) can poll.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Runtime;

use crate::error::RoomcastError;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The shared runtime, started on first use. Two workers are plenty for socket I/O and
/// keep a phone's thread count low.
pub(crate) fn runtime() -> Result<&'static Runtime, RoomcastError> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("roomcast")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| RoomcastError::Internal {
            reason: format!("cannot start the tokio runtime: {e}"),
        })
}

/// Runs `work` on the shared runtime and returns its result, core errors mapped to the
/// public error. If the foreign caller stops awaiting, the work still completes (a publish
/// stays queued), which is what the core's own handles do too.
pub(crate) async fn run<T, F>(work: F) -> Result<T, RoomcastError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, roomcast_core::Error>> + Send + 'static,
{
    match runtime()?.spawn(work).await {
        Ok(result) => result.map_err(RoomcastError::from),
        Err(e) => Err(RoomcastError::Internal {
            reason: format!("task failed: {e}"),
        }),
    }
}
