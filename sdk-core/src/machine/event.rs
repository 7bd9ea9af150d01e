//! What the machine asks of its driver ([`Action`]) and tells the app ([`Event`]).

use crate::protocol::{Append, HistoryPage, Member, Message, Presence};

use super::{ConnectionState, Error};

/// Identifies one socket the driver opened for the machine. Inputs from an older socket are
/// ignored, so a late frame from a connection already given up cannot confuse the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Identifies one app request (connect, join, publish, ...). Its outcome arrives as
/// [`Event::Completed`] with the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub u64);

/// I/O the driver must perform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a WebSocket to `url`, then report `handle_open`, `handle_frame` and `handle_close`
    /// with this `conn`.
    Connect { conn: ConnId, url: String },
    /// Close that socket with `code`. No `handle_close` is expected for it.
    Close {
        conn: ConnId,
        code: u16,
        reason: String,
    },
    /// Ask the app's token provider for a token and pass the answer to `provide_token`.
    FetchToken,
}

/// The successful outcome of an app request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Connected,
    Joined(JoinInfo),
    Left,
    Published(PublishAck),
    History(HistoryPage),
    Closed,
}

/// The value a kind of operation completes with, taken out of its [`Reply`]: what a host's
/// typed API hands the app (`Reply::into_value::<PublishAck>()` for a publish).
pub trait FromReply: Sized {
    /// The value, or the reply back when it is of another kind.
    fn from_reply(reply: Reply) -> Result<Self, Reply>;
}

impl Reply {
    /// The reply as the value its operation completes with. A reply of another kind means
    /// the host matched a reply to the wrong operation: an [`Error::Protocol`].
    pub fn into_value<T: FromReply>(self) -> Result<T, Error> {
        T::from_reply(self).map_err(|other| {
            Error::Protocol(format!("unexpected reply to this operation: {other:?}"))
        })
    }
}

impl FromReply for PublishAck {
    fn from_reply(reply: Reply) -> Result<Self, Reply> {
        match reply {
            Reply::Published(ack) => Ok(ack),
            other => Err(other),
        }
    }
}

impl FromReply for JoinInfo {
    fn from_reply(reply: Reply) -> Result<Self, Reply> {
        match reply {
            Reply::Joined(info) => Ok(info),
            other => Err(other),
        }
    }
}

impl FromReply for HistoryPage {
    fn from_reply(reply: Reply) -> Result<Self, Reply> {
        match reply {
            Reply::History(page) => Ok(page),
            other => Err(other),
        }
    }
}

/// Operations that complete with nothing to show (connect, leave, close).
impl FromReply for () {
    fn from_reply(_: Reply) -> Result<Self, Reply> {
        Ok(())
    }
}

/// A publish acknowledged by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishAck {
    pub id: String,
    /// Position in the room's history; `None` for ephemeral publishes.
    pub seq: Option<u64>,
    pub ts: u64,
}

/// A room (re)joined on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinInfo {
    pub room: String,
    /// The room's head at join time.
    pub seq: u64,
    pub epoch: String,
    /// False when the server could not replay every missed message; with the default complete
    /// resume the rest is paged in, otherwise an [`Event::Gap`] says what is missing.
    pub recovered: bool,
    /// Everyone present at join time, this client included.
    pub presence: Vec<Member>,
    /// True for the automatic rejoin after a reconnect.
    pub rejoin: bool,
}

/// Messages the server no longer has: the room's history was reset (new epoch), retention
/// removed them, the server's history went back (restored from an older copy), or (with
/// [`ResumeMode::Latest`](super::ResumeMode::Latest)) the resume took only the newest. With
/// the default complete resume, a replay cut short by the server's limit is paged in instead
/// and reports no gap.
///
/// Read it by its epochs:
/// - `previous_epoch == Some(epoch)`: seqs after `since` up to `head` were not delivered
///   (retention, or `Latest`). When the server's history went back, `since` is its head now
///   and `head` the last seq this client had: those seqs are gone, and the new messages that
///   reuse them are delivered.
/// - `previous_epoch != Some(epoch)` (a new epoch): the previous epoch's messages after
///   `since` are gone (how many is unknown; `head` is `since`), and with the default complete
///   resume every message the new epoch keeps is delivered from its oldest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub room: String,
    /// The last seq this client had, in `previous_epoch`.
    pub since: Option<u64>,
    pub previous_epoch: Option<String>,
    /// The last seq of the missing run (see above).
    pub head: u64,
    /// The room's epoch now.
    pub epoch: String,
}

/// Something the app should know.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    State(ConnectionState),
    Completed {
        op: OpId,
        result: Result<Reply, Error>,
    },
    /// A room message, each persisted one exactly once and in `seq` order per room.
    Message(Message),
    /// The next piece of a streamed message's text (see the contract's "Streamed messages"),
    /// each once and in order per stream, after its opening [`Event::Message`] (whose
    /// `stream.text` is the text so far). `n` is the index of its first append; `end` is set
    /// on the last piece. A piece the machine put together from a fetched opening message
    /// (the text this client missed) carries the opening message's seq as `seq`.
    Append(Append),
    Presence(Presence),
    Joined(JoinInfo),
    Gap(Gap),
    /// The server refused to rejoin a room after a reconnect (e.g. the new token no longer
    /// allows it). The room is dropped and its queued publishes fail with the same error.
    RoomLost {
        room: String,
        error: Error,
    },
    /// A problem not tied to one request (a room lost on rejoin, a server error without `ref`,
    /// an undecodable frame).
    Error(Error),
}
