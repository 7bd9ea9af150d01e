//! How messages, presence and connection states look on a terminal.

use roomcast_core::{ConnectionState, Message, Presence, PresenceKind};
use serde::Deserialize;
use serde_json::json;

/// The part of a `chat.message` payload the terminal shows.
#[derive(Deserialize)]
struct Chat {
    content: String,
}

/// `[12] alice (ios): Hello` for chat messages, the event and JSON payload otherwise.
pub(crate) fn message(m: &Message) -> String {
    let seq = m.seq.map_or_else(|| "~".to_owned(), |s| s.to_string());
    let who = format!(
        "{} ({})",
        m.from.name.as_deref().unwrap_or(&m.from.user),
        m.from.source
    );
    match (m.event.as_str(), m.data.decode::<Chat>()) {
        ("chat.message", Ok(chat)) => format!("[{seq}] {who}: {}", chat.content),
        _ => format!("[{seq}] {who} {}: {}", m.event, m.data),
    }
}

/// One JSON object per line, for scripts.
pub(crate) fn message_json(m: &Message) -> String {
    json!({
        "room": m.room,
        "seq": m.seq,
        "id": m.id,
        "event": m.event,
        "data": m.data,
        "from": m.from,
        "ts": m.ts,
    })
    .to_string()
}

pub(crate) fn presence(p: &Presence) -> String {
    let verb = match p.event {
        PresenceKind::Join => "joined",
        PresenceKind::Leave => "left",
    };
    let who = p.member.name.as_deref().unwrap_or(&p.member.user);
    format!("* {who} ({}) {verb} {}", p.member.source, p.room)
}

pub(crate) fn state(s: ConnectionState) -> String {
    match s {
        ConnectionState::Reconnecting { attempt, delay } => {
            format!(
                "-- reconnecting in {:.1}s (attempt {attempt})",
                delay.as_secs_f64()
            )
        }
        ConnectionState::Connecting { attempt: 0 } => "-- connecting".to_owned(),
        ConnectionState::Connecting { attempt } => format!("-- connecting (attempt {attempt})"),
        other => format!("-- {}", other.name()),
    }
}

/// Prints every connection state change to stderr until the client closes.
pub(crate) fn spawn_state_printer(client: &roomcast_core::Client) {
    let mut states = client.state_changes();
    tokio::spawn(async move {
        while states.changed().await.is_ok() {
            let s = *states.borrow_and_update();
            eprintln!("{}", state(s));
            if s == ConnectionState::Closed {
                break;
            }
        }
    });
}
