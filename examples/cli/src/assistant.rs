//! `roomcast assistant`: an example backend that answers every chat message in a room with a
//! streamed reply, word by word, at the pace of a language model, from a bundled text (no
//! network, no model). Run it beside the server and any client (the dashboard, the CLI's
//! `chat`, the SwiftUI example) to watch replies grow in place, survive reconnects and reach
//! late joiners whole.

use std::time::Duration;

use clap::Args;
use roomcast_core::{Room, RoomEvent};
use serde_json::json;

use crate::{print, CliError, Connection};

/// The text replies are cut from.
const TEXT: &str = include_str!("assistant.txt");

#[derive(Args)]
pub(crate) struct AssistantArgs {
    #[command(flatten)]
    conn: Connection,
    /// Words per second of a reply.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Words in a reply.
    #[arg(long, default_value_t = 80)]
    words: usize,
    /// Event of the messages answered.
    #[arg(long, default_value = "chat.message")]
    answer: String,
    /// Event of the replies.
    #[arg(long, default_value = "assistant.reply")]
    event: String,
}

pub(crate) async fn run(args: AssistantArgs) -> Result<(), CliError> {
    let client = args.conn.client("assistant")?;
    print::spawn_state_printer(&client);
    let room = client.room(&args.conn.room);
    let mut events = room.events();
    let info = room.join().await?;
    eprintln!(
        "-- answering {} in {} with streamed {} ({} words at {}/s)",
        args.answer, info.room, args.event, args.words, args.rate
    );
    let words: Vec<&'static str> = TEXT.split_whitespace().collect();
    let pause = Duration::from_secs_f64(1.0 / args.rate.max(0.1));
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(event) = event else { break };
        let RoomEvent::Message(m) = event else {
            continue;
        };
        if m.event != args.answer || m.seq.is_none() {
            continue;
        }
        // Where the reply starts in the text, from the question's id: the same question gets
        // the same answer.
        let start =
            m.id.bytes()
                .fold(0usize, |h, b| h.wrapping_mul(31) ^ usize::from(b));
        let reply: Vec<&'static str> = (0..args.words)
            .map(|i| words[(start + i) % words.len()])
            .collect();
        tokio::spawn(answer(
            room.clone(),
            args.event.clone(),
            m.id.clone(),
            reply,
            pause,
        ));
    }
    client.close().await?;
    Ok(())
}

/// Streams `reply` as an answer to message `to`, one word per `pause` (give or take a third).
async fn answer(room: Room, event: String, to: String, reply: Vec<&'static str>, pause: Duration) {
    let writer = match room.stream(&event, &json!({ "role": "assistant", "in_reply_to": to })) {
        Ok(writer) => writer,
        Err(e) => return eprintln!("-- cannot answer {to}: {e}"),
    };
    let mut rng = fastrand::Rng::with_seed(reply.len() as u64 ^ pause.as_nanos() as u64);
    let mut pieces = Vec::with_capacity(reply.len());
    for (i, word) in reply.iter().enumerate() {
        let text = if i == 0 {
            (*word).to_owned()
        } else {
            format!(" {word}")
        };
        pieces.push(writer.append(text));
        tokio::time::sleep(pause.mul_f64(0.66 + rng.f64() * 0.67)).await;
    }
    let end = writer.finish();
    for piece in pieces {
        if let Err(e) = piece.await {
            return eprintln!("-- the reply to {to} stopped: {e}");
        }
    }
    match end.await {
        Ok(ack) => eprintln!("-- answered {to} (reply ends at seq {:?})", ack.seq),
        Err(e) => eprintln!("-- the reply to {to} stopped: {e}"),
    }
}
