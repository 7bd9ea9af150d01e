//! How messages, presence and connection states look on a terminal.

use std::io::Write;

use roomcast_core::protocol::{Append, StreamState};
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
    if let Some(stream) = &m.stream {
        // A streamed reply: its text so far (later pieces follow on the same line).
        return format!("[{seq}] {who} {}: {}", m.event, stream.text);
    }
    match (m.event.as_str(), m.data.decode::<Chat>()) {
        ("chat.message", Ok(chat)) => format!("[{seq}] {who}: {}", chat.content),
        _ => format!("[{seq}] {who} {}: {}", m.event, m.data),
    }
}

/// How a stream ended, as the terminal shows it after its text (`done` shows nothing).
fn ending(end: StreamState) -> &'static str {
    match end {
        StreamState::Done | StreamState::Open => "",
        StreamState::Cancelled => " [cancelled]",
        StreamState::Failed => " [failed]",
    }
}

/// Prints messages one per line and streamed replies growing in place: a reply's pieces go
/// on its line while nothing else was printed since, else on a new line that names it.
#[derive(Default)]
pub(crate) struct Terminal {
    /// The open stream whose text ends the current line (its id).
    open_line: Option<String>,
}

impl Terminal {
    pub(crate) fn message(&mut self, m: &Message) {
        self.end_line();
        match &m.stream {
            Some(s) if s.state == StreamState::Open => {
                print!("{}", message(m));
                self.open_line = Some(m.id.clone());
                flush();
            }
            Some(s) => println!("{}{}", message(m), ending(s.state)),
            None => println!("{}", message(m)),
        }
    }

    pub(crate) fn append(&mut self, a: &Append) {
        if self.open_line.as_deref() != Some(a.id.as_str()) {
            self.end_line();
            let short: String =
                a.id.chars()
                    .rev()
                    .take(6)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
            print!("[{}…{short}] ", a.of);
        }
        print!("{}", a.text);
        match a.end {
            Some(end) => {
                println!("{}", ending(end));
                self.open_line = None;
            }
            None => {
                self.open_line = Some(a.id.clone());
                flush();
            }
        }
    }

    /// Any other line: a stream's line is ended first.
    pub(crate) fn line(&mut self, text: &str) {
        self.end_line();
        println!("{text}");
    }

    fn end_line(&mut self) {
        if self.open_line.take().is_some() {
            println!();
        }
    }
}

fn flush() {
    let _ = std::io::stdout().flush();
}

/// A stream's piece as one JSON object per line, for scripts.
pub(crate) fn append_json(a: &Append) -> String {
    json!({
        "type": "append",
        "room": a.room,
        "seq": a.seq,
        "of": a.of,
        "id": a.id,
        "n": a.n,
        "text": a.text,
        "end": a.end.map(StreamState::as_str),
        "from": a.from,
        "ts": a.ts,
    })
    .to_string()
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
        "stream": m.stream.as_ref().map(|s| json!({"state": s.state.as_str(), "text": s.text, "n": s.n})),
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
