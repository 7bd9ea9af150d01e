//! The native driver and async Rust API: tokio + tokio-tungstenite around the sans-IO
//! [`Machine`](crate::machine::Machine).
//!
//! ```no_run
//! # async fn demo() -> Result<(), roomcast_core::Error> {
//! use roomcast_core::Client;
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Chat { content: String }
//!
//! let client = Client::builder("ws://127.0.0.1:4000/ws").token("<JWT>").source("cli").build()?;
//! client.connect().await?;
//! let room = client.join("conv-123").await?;
//! let _sub = room.on::<Chat, _>("chat.message", |msg, meta| println!("{}: {}", meta.from.user, msg.content));
//! room.publish("chat.message", &Chat { content: "Hello".into() }).await?;
//! # Ok(()) }
//! ```
//!
//! The driver is a spawned task selecting over app commands, socket events, token answers and
//! the machine's next timeout; it carries out the machine's actions and routes its events.
//! It holds no client logic of its own, and never runs app code: each room's handlers and
//! streams are fed by a task of their own (see [`Room::on`]), so a slow handler cannot delay
//! pings, acks or other rooms.

mod builder;
mod client;
mod driver;
mod handlers;
mod socket;
mod store;
mod tls;
mod token;

pub use builder::ClientBuilder;
pub use client::{Client, PublishOptions, Room, StreamWriter};
pub use handlers::{DecodeError, MessageMeta, RoomEvent, RoomEvents, Subscription};
pub use store::{FileStore, Opened, Repair};
pub use token::TokenProvider;

pub use crate::machine::{
    BackoffConfig, ConnectionState, Error, Gap, JoinInfo, JoinOptions, PublishAck, ResumeMode,
    StoredPublish,
};
pub use crate::protocol::{
    Append, HistoryPage, Member, Message, Payload, Presence, PresenceKind, StreamInfo, StreamState,
};
