//! `roomcast chat`: an interactive conversation.

use clap::Args;
use roomcast_core::RoomEvent;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{print, CliError, Connection};

#[derive(Args)]
pub(crate) struct ChatArgs {
    #[command(flatten)]
    conn: Connection,
}

pub(crate) async fn run(args: ChatArgs) -> Result<(), CliError> {
    let client = args.conn.client("chat")?;
    print::spawn_state_printer(&client);
    // Lines typed before the server is reachable are queued (and kept in the store).
    let connecting = client.connect();
    let room = client.room(&args.conn.room);
    let mut events = room.events();
    let joining = room.join();
    let kept = client.queued().await;
    if kept > 0 {
        eprintln!("-- {kept} lines from an earlier run are being sent");
    }
    tokio::spawn(async move {
        if let Err(e) = connecting.await {
            eprintln!("-- cannot connect: {e}");
            return;
        }
        match joining.await {
            Ok(info) => {
                let others: Vec<String> = info
                    .presence
                    .iter()
                    .map(|m| format!("{} ({})", m.name.as_deref().unwrap_or(&m.user), m.source))
                    .collect();
                eprintln!(
                    "-- joined {} at seq {}; here: {}",
                    info.room,
                    info.seq,
                    others.join(", ")
                );
            }
            Err(e) => eprintln!("-- cannot join: {e}"),
        }
    });

    let printer = tokio::spawn(async move {
        let mut terminal = print::Terminal::default();
        while let Some(event) = events.recv().await {
            match event {
                RoomEvent::Message(m) => terminal.message(&m),
                RoomEvent::Append(a) => terminal.append(&a),
                RoomEvent::Presence(p) => terminal.line(&print::presence(&p)),
                RoomEvent::Gap(g) => eprintln!(
                    "-- missed messages after seq {:?}; now at {}",
                    g.since, g.head
                ),
                RoomEvent::Lost(e) => eprintln!("-- room lost: {e}"),
                RoomEvent::Joined(_) | RoomEvent::DecodeError(_) => {}
            }
        }
    });

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut sends = Vec::new();
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line?,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let ack = room.publish("chat.message", &json!({ "content": line }));
        sends.push(tokio::spawn(async move {
            match ack.await {
                Ok(ack) => println!("[{}] you: {line}", ack.seq.unwrap_or_default()),
                Err(e) => eprintln!("-- not sent ({e}): {line}"),
            }
        }));
    }
    // Stdin ended: deliver what is still queued before leaving.
    for send in sends {
        let _ = send.await;
    }
    // Done with what was printed: the store's position passes it before closing.
    printer.abort();
    let _ = printer.await;
    client.close().await?;
    Ok(())
}
