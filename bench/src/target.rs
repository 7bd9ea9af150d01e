//! The servers a run can measure, with the names the reports and the JSON use. Roomcast runs
//! twice (persisted and ephemeral publishes on the same server code); Socket.IO 4 runs plain
//! and, in the churn scenario, with its `connectionStateRecovery`; socketioxide is the same
//! Socket.IO server shape in Rust.

use crate::wire::Proto;

/// One server configuration under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// roomcast-server, every publish stored durably before its ack.
    Persisted,
    /// roomcast-server, publishes not stored (the like-for-like comparison).
    Ephemeral,
    /// bench/socketio/server.js on Node.js.
    SocketIo,
    /// The same with `connectionStateRecovery` on.
    SocketIoRecovery,
    /// bench/socketioxide.
    Socketioxide,
}

impl Target {
    /// The name in the Markdown report.
    pub fn name(self) -> &'static str {
        match self {
            Target::Persisted => "Roomcast (persisted)",
            Target::Ephemeral => "Roomcast (ephemeral)",
            Target::SocketIo => "Socket.IO 4",
            Target::SocketIoRecovery => "Socket.IO 4 (recovery)",
            Target::Socketioxide => "socketioxide 0.18",
        }
    }

    /// The stable key in the JSON output.
    pub fn key(self) -> &'static str {
        match self {
            Target::Persisted => "roomcast-persisted",
            Target::Ephemeral => "roomcast-ephemeral",
            Target::SocketIo => "socketio",
            Target::SocketIoRecovery => "socketio-recovery",
            Target::Socketioxide => "socketioxide",
        }
    }

    pub fn proto(self) -> Proto {
        match self {
            Target::Persisted => Proto::Roomcast { ephemeral: false },
            Target::Ephemeral => Proto::Roomcast { ephemeral: true },
            Target::SocketIo | Target::SocketIoRecovery | Target::Socketioxide => Proto::SocketIo,
        }
    }

    /// Whether the server gives a reconnecting client what it missed (so the churn's replay
    /// latency means something for it).
    pub fn replays(self) -> bool {
        matches!(self, Target::Persisted | Target::SocketIoRecovery)
    }

    /// Whether subscribers must also reach the room's head `seq` to be caught up.
    pub fn persisted(self) -> bool {
        self == Target::Persisted
    }
}
