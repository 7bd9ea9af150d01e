//! Records and enums crossing the FFI, with plain conversions from the core's types.
//!
//! Payloads cross as JSON text (`data_json`): each language decodes it into its own types
//! (Swift's `Codable` layer), and the FFI never needs to know an app's message shapes.

use std::time::Duration;

use roomcast_core as core;

/// How to build a [`Client`](crate::Client).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ClientConfig {
    /// `ws://` or `wss://` URL of the server's `/ws` endpoint.
    pub url: String,
    /// A token to start with; without one a token provider is required.
    #[uniffi(default = None)]
    pub token: Option<String>,
    /// A stable device or installation id (e.g. `identifierForVendor`).
    pub client_id: String,
    /// Kind of client shown to others as a badge: `ios`, `macos`, `web`, `cli`, ...
    pub source: String,
    /// Human readable device name.
    #[uniffi(default = None)]
    pub name: Option<String>,
    /// First reconnect delay before jitter.
    #[uniffi(default = 1000)]
    pub min_delay_ms: u64,
    /// Cap on the reconnect delay before jitter.
    #[uniffi(default = 30000)]
    pub max_delay_ms: u64,
    /// Reconnect attempts before giving up; `None` retries forever.
    #[uniffi(default = None)]
    pub max_attempts: Option<u32>,
    /// Most persisted publishes waiting for their ack.
    #[uniffi(default = 1000)]
    pub queue_capacity: u32,
    /// A directory where the client keeps its offline queue and each room's position, so
    /// that after the app is terminated (or crashes) a client opened on the same directory,
    /// with the same `client_id`, sends every unacknowledged publish once and a room joined
    /// again resumes where the app was. On Apple platforms: a directory in Application
    /// Support. `None` keeps both in memory only.
    #[uniffi(default = None)]
    pub store_path: Option<String>,
    /// Root certificates (DER, e.g. a `.cer` file's bytes) trusted for `wss://` besides the
    /// operating system's trust store: a private CA the OS does not know, or a development
    /// server's own. CAs the user or a device manager installed need nothing here: the OS
    /// store already has them. A certificate that does not parse fails with `InvalidConfig`.
    #[uniffi(default = [])]
    pub extra_roots_der: Vec<Vec<u8>>,
}

impl ClientConfig {
    pub(crate) fn backoff(&self) -> core::BackoffConfig {
        core::BackoffConfig {
            min_delay: Duration::from_millis(self.min_delay_ms),
            max_delay: Duration::from_millis(self.max_delay_ms),
            max_attempts: self.max_attempts,
        }
    }
}

/// What a room's resume does when the server's replay limit cut it short.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Enum)]
pub enum ResumeMode {
    /// Page the missed messages in from history before newer ones: every stored message
    /// once, in order (the default).
    #[default]
    Full,
    /// Take only the newest the server replays; the rest is reported with `on_gap` (a view
    /// that shows the latest state).
    Latest,
}

impl From<ResumeMode> for core::ResumeMode {
    fn from(mode: ResumeMode) -> Self {
        match mode {
            ResumeMode::Full => core::ResumeMode::Full,
            ResumeMode::Latest => core::ResumeMode::Latest,
        }
    }
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ConnectionState {
    /// Created, `connect` not called yet.
    Idle,
    /// Opening the socket or handshaking; `attempt` 0 is the first connection.
    Connecting {
        attempt: u32,
    },
    Connected,
    /// Waiting `delay_ms` before reconnect attempt `attempt`.
    Reconnecting {
        attempt: u32,
        delay_ms: u64,
    },
    /// Disconnected by `pause`; `resume` reconnects.
    Paused,
    /// The token was refused and no fresh one could be had.
    Unauthorized,
    /// Closed by the app or gave up reconnecting. Final.
    Closed,
}

impl From<core::ConnectionState> for ConnectionState {
    fn from(s: core::ConnectionState) -> Self {
        use core::ConnectionState as S;
        match s {
            S::Idle => Self::Idle,
            S::Connecting { attempt } => Self::Connecting { attempt },
            S::Connected => Self::Connected,
            S::Reconnecting { attempt, delay } => Self::Reconnecting {
                attempt,
                delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            },
            S::Paused => Self::Paused,
            S::Unauthorized => Self::Unauthorized,
            S::Closed => Self::Closed,
        }
    }
}

/// A connection present in a room, and the author of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Record)]
pub struct Member {
    pub user: String,
    /// The author's client id.
    pub client: String,
    /// Kind of client (`ios`, `web`, `cli`, ...), for badges.
    pub source: String,
    pub name: Option<String>,
}

impl From<core::Member> for Member {
    fn from(m: core::Member) -> Self {
        Self {
            user: m.user,
            client: m.client,
            source: m.source,
            name: m.name,
        }
    }
}

/// A room message, live, replayed on resume, or from history.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Message {
    pub room: String,
    /// Position in the room's history; `None` for ephemeral messages.
    pub seq: Option<u64>,
    pub id: String,
    pub event: String,
    /// The payload as JSON text.
    pub data_json: String,
    pub from: Member,
    /// Server time, Unix milliseconds.
    pub ts: u64,
    /// On a streamed message's opening message: its text so far (later pieces reach a
    /// `StreamListener`).
    #[uniffi(default = None)]
    pub stream: Option<StreamInfo>,
}

impl From<core::Message> for Message {
    fn from(m: core::Message) -> Self {
        Self {
            data_json: m.data.to_string(),
            room: m.room,
            seq: m.seq,
            id: m.id,
            event: m.event,
            from: m.from.into(),
            ts: m.ts,
            stream: m.stream.map(StreamInfo::from),
        }
    }
}

/// Where a streamed message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum StreamState {
    Open,
    Done,
    Cancelled,
    Failed,
}

impl From<core::StreamState> for StreamState {
    fn from(s: core::StreamState) -> Self {
        match s {
            core::StreamState::Open => Self::Open,
            core::StreamState::Done => Self::Done,
            core::StreamState::Cancelled => Self::Cancelled,
            core::StreamState::Failed => Self::Failed,
        }
    }
}

/// A streamed message's text so far, on its opening message.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StreamInfo {
    pub state: StreamState,
    pub text: String,
    /// How many pieces the text holds.
    pub n: u64,
}

impl From<core::StreamInfo> for StreamInfo {
    fn from(s: core::StreamInfo) -> Self {
        Self {
            state: s.state.into(),
            text: s.text,
            n: s.n,
        }
    }
}

/// The next piece of a streamed message: `text` goes after what its stream showed so far.
/// Pieces of a stream arrive once and in order, the last with `end` set.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StreamPiece {
    pub room: String,
    pub seq: u64,
    /// The seq of the stream's opening message.
    pub of: u64,
    /// The id of the stream's opening message.
    pub id: String,
    /// The index of the stream's first piece this one holds.
    pub n: u64,
    pub text: String,
    /// How the stream ended, on its last piece.
    pub end: Option<StreamState>,
    pub from: Member,
    pub ts: u64,
}

impl From<core::Append> for StreamPiece {
    fn from(a: core::Append) -> Self {
        Self {
            room: a.room,
            seq: a.seq,
            of: a.of,
            id: a.id,
            n: a.n,
            text: a.text,
            end: a.end.map(StreamState::from),
            from: a.from.into(),
            ts: a.ts,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PresenceKind {
    Join,
    Leave,
}

/// A member joined or left a room.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PresenceEvent {
    pub room: String,
    pub kind: PresenceKind,
    pub member: Member,
}

impl From<core::Presence> for PresenceEvent {
    fn from(p: core::Presence) -> Self {
        Self {
            room: p.room,
            kind: match p.event {
                core::PresenceKind::Join => PresenceKind::Join,
                core::PresenceKind::Leave => PresenceKind::Leave,
            },
            member: p.member.into(),
        }
    }
}

/// The room was joined, first or again after a reconnect. `presence` replaces any member
/// list the app kept, since leaves during the outage were never seen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct JoinInfo {
    pub room: String,
    /// The room's head at join time.
    pub seq: u64,
    pub epoch: String,
    /// False when missed messages could not all be replayed (a gap was reported too).
    pub recovered: bool,
    /// Everyone present now, this client included.
    pub presence: Vec<Member>,
    /// True for the automatic rejoin after a reconnect.
    pub rejoin: bool,
}

impl From<core::JoinInfo> for JoinInfo {
    fn from(j: core::JoinInfo) -> Self {
        Self {
            room: j.room,
            seq: j.seq,
            epoch: j.epoch,
            recovered: j.recovered,
            presence: j.presence.into_iter().map(Member::from).collect(),
            rejoin: j.rejoin,
        }
    }
}

/// Messages were missed and could not be replayed; page them in with `history` if needed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Gap {
    pub room: String,
    /// The last seq this client had (in `previous_epoch`).
    pub since: Option<u64>,
    pub previous_epoch: Option<String>,
    /// The last seq of the missing run (the room's head, when a resume reports it), and the
    /// epoch now: seqs after `since` up to `head` were not delivered.
    pub head: u64,
    pub epoch: String,
}

impl From<core::Gap> for Gap {
    fn from(g: core::Gap) -> Self {
        Self {
            room: g.room,
            since: g.since,
            previous_epoch: g.previous_epoch,
            head: g.head,
            epoch: g.epoch,
        }
    }
}

/// The server's acknowledgement of a publish.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PublishAck {
    pub id: String,
    /// Position in the room's history; `None` for ephemeral publishes.
    pub seq: Option<u64>,
    pub ts: u64,
}

impl From<core::PublishAck> for PublishAck {
    fn from(a: core::PublishAck) -> Self {
        Self {
            id: a.id,
            seq: a.seq,
            ts: a.ts,
        }
    }
}

/// Stored messages, ascending by seq; `more` when older ones remain.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HistoryPage {
    pub room: String,
    pub messages: Vec<Message>,
    pub more: bool,
}

impl From<core::HistoryPage> for HistoryPage {
    fn from(p: core::HistoryPage) -> Self {
        Self {
            room: p.room,
            messages: p.messages.into_iter().map(Message::from).collect(),
            more: p.more,
        }
    }
}

/// A persisted publish not yet acknowledged by the server (see `Client::pending`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PendingPublish {
    pub room: String,
    pub id: String,
    pub event: String,
    /// The payload as JSON text.
    pub data_json: String,
}

impl From<core::StoredPublish> for PendingPublish {
    fn from(p: core::StoredPublish) -> Self {
        Self {
            data_json: p.data.json().to_owned(),
            room: p.room,
            id: p.id,
            event: p.event,
        }
    }
}
