//! `roomcast listen`: print a room's messages.

use clap::Args;
use roomcast_core::{JoinOptions, ResumeMode, RoomEvent};

use crate::{print, CliError, Connection};

#[derive(Args)]
pub(crate) struct ListenArgs {
    #[command(flatten)]
    conn: Connection,
    /// Exit after this many messages.
    #[arg(long)]
    count: Option<u64>,
    /// Resume after this seq: stored messages after it are printed first (default: after the
    /// last message an earlier run printed, kept in the store).
    #[arg(long)]
    since: Option<u64>,
    /// The epoch `--since` belongs to.
    #[arg(long, requires = "since")]
    epoch: Option<String>,
    /// One JSON object per line (room, seq, id, event, data, from, ts).
    #[arg(long)]
    json: bool,
    /// On a resume the server's replay limit cut short, print only the newest messages (and
    /// a gap line) instead of paging the rest in.
    #[arg(long)]
    latest: bool,
}

pub(crate) async fn run(args: ListenArgs) -> Result<(), CliError> {
    let client = args.conn.client("listen")?;
    print::spawn_state_printer(&client);
    client.connect().await?;
    let room = client.room(&args.conn.room);
    let mut events = room.events();
    let options = JoinOptions {
        since: args.since,
        epoch: args.epoch,
        resume: if args.latest {
            ResumeMode::Latest
        } else {
            ResumeMode::Full
        },
    };
    let info = room.join_with(options).await?;
    eprintln!(
        "-- joined {} at seq {} (epoch {})",
        info.room, info.seq, info.epoch
    );

    let mut seen = 0u64;
    let mut terminal = print::Terminal::default();
    if args.count == Some(0) {
        drop(events);
        return Ok(client.close().await?);
    }
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = tokio::signal::ctrl_c() => None,
        };
        match event {
            Some(RoomEvent::Message(m)) => {
                if args.json {
                    println!("{}", print::message_json(&m));
                } else {
                    terminal.message(&m);
                }
                seen += 1;
                if args.count.is_some_and(|n| seen >= n) {
                    break;
                }
            }
            Some(RoomEvent::Append(a)) if args.json => println!("{}", print::append_json(&a)),
            Some(RoomEvent::Append(a)) => terminal.append(&a),
            Some(RoomEvent::Presence(p)) if !args.json => terminal.line(&print::presence(&p)),
            Some(RoomEvent::Gap(g)) => {
                let after = g
                    .since
                    .map_or("the start".to_owned(), |s| format!("seq {s}"));
                eprintln!(
                    "-- messages after {after} up to seq {} are not available",
                    g.head
                );
            }
            Some(RoomEvent::Lost(e)) => return Err(e.into()),
            Some(_) => {}
            None => break,
        }
    }
    // Done with the last message printed: the store's position passes it before closing.
    drop(events);
    client.close().await?;
    Ok(())
}
