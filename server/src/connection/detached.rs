//! A session without a socket: the frames a read loop would read are handed in one at a time,
//! and what it would write is left in a queue. For the in-process harness (`crate::harness`),
//! which fuzzes the server's frame handling without the cost of a WebSocket per input.

use std::sync::Arc;

use super::{Flow, Session};
use crate::outbound::{self, QueueReader};
use crate::state::AppState;

/// One connection's frame handling, fed by the caller instead of a socket.
///
/// Everything after the read is the real session's code: decoding, `hello` and its token,
/// room checks, the engine and the hub. Not done here: the read loop's timers (hello timeout,
/// idle, token expiry) and its rate limit.
pub struct DetachedSession {
    session: Session,
    closing: bool,
}

impl DetachedSession {
    /// A fresh connection on `state`, and the queue its replies, room messages and close
    /// arrive on (bounded by `outbound_queue`, as for a socket: a caller that does not drain
    /// it sees the slow-consumer cut).
    pub fn new(state: &Arc<AppState>) -> (Self, QueueReader) {
        let conn = state.next_conn_id();
        let (out, queue) = outbound::queue(conn, state.config.outbound_queue);
        let session = Session::new(conn, Arc::clone(state), out);
        let closing = false;
        (DetachedSession { session, closing }, queue)
    }

    /// Handles one text frame as the read loop would. Returns false once the session is
    /// closing (a close is queued); later frames are ignored, as a socket would not read them.
    pub async fn text(&mut self, text: &str) -> bool {
        if !self.closing {
            let flow = self.session.on_text(text).await;
            self.closing = matches!(flow, Flow::Close);
        }
        !self.closing
    }

    /// Handles one binary frame; see [`DetachedSession::text`].
    pub fn binary(&mut self) -> bool {
        if !self.closing {
            self.closing = matches!(self.session.on_binary(), Flow::Close);
        }
        !self.closing
    }

    /// Ends the session as a closed socket does: it leaves its rooms and its user's session.
    pub async fn end(mut self) {
        self.session.cleanup().await;
    }
}
