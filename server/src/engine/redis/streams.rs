//! Streamed messages under `--redis`: not built yet, so every stream request is refused
//! (`bad_request`) and nothing of it is stored.

use roomcast_core::protocol::ErrorCode;

use super::RedisEngine;
use crate::engine::{AppendCmd, Origin};

/// The answer to a stream request under `--redis`, where streams are not built yet.
const STREAMS_UNSUPPORTED: &str = "streamed messages are not available with --redis yet";

/// Refuses a stream request (an opening publish, an append, a cancel) from `origin`.
pub(super) fn refuse(origin: Origin) {
    origin.refuse(ErrorCode::BadRequest, STREAMS_UNSUPPORTED.into(), None);
}

impl RedisEngine {
    /// Streams are not built for Redis yet: every append and cancel is refused.
    pub async fn append(&self, a: AppendCmd) {
        refuse(a.origin);
    }
}
