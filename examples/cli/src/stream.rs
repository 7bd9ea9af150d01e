//! `roomcast stream`: stdin becomes one streamed message, growing as text arrives.
//!
//! `slow-generator | roomcast stream --room R --event assistant.reply` opens the stream, adds
//! each read of stdin as one piece, and ends it `done` at end of input or `cancelled` on
//! Ctrl-C. Pieces are queued through the client's offline queue (kept in the store, the
//! default), so a dropped connection or a restarted server loses and repeats nothing; the
//! command exits once every piece is acknowledged.

use clap::Args;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::io::AsyncReadExt;

use crate::{print, CliError, Connection};

/// Pieces in flight at once: the SDK's default queue capacity, less room for the end.
const WINDOW: usize = 900;

/// Largest read taken as one piece.
const READ: usize = 16 * 1024;

#[derive(Args)]
pub(crate) struct StreamArgs {
    #[command(flatten)]
    conn: Connection,
    /// Event name of the stream's opening message.
    #[arg(long, default_value = "assistant.reply")]
    event: String,
    /// The opening message's payload (JSON).
    #[arg(long, default_value = r#"{"role":"assistant"}"#)]
    data: String,
}

pub(crate) async fn run(args: StreamArgs) -> Result<(), CliError> {
    let data: serde_json::Value = serde_json::from_str(&args.data)
        .map_err(|e| roomcast_core::Error::InvalidPayload(format!("--data: {e}")))?;
    let client = args.conn.client("stream")?;
    print::spawn_state_printer(&client);
    let connecting = client.connect();
    let room = client.room(&args.conn.room);
    let joining = room.join();
    let mut writer = room.stream(&args.event, &data)?;
    eprintln!("-- streaming {} as {}", args.event, writer.id());
    let opened = writer.opened();

    let mut stdin = tokio::io::stdin();
    let mut buf = vec![0u8; READ];
    // Bytes of a character cut by a read, kept for the next piece.
    let mut carry = Vec::new();
    let mut in_flight = FuturesUnordered::new();
    let (mut pieces, mut failed) = (0u64, 0u64);
    let mut interrupted = false;
    loop {
        let read = tokio::select! {
            read = stdin.read(&mut buf) => read?,
            _ = tokio::signal::ctrl_c() => {
                interrupted = true;
                break;
            }
        };
        if read == 0 {
            break;
        }
        carry.extend_from_slice(&buf[..read]);
        let text = take_text(&mut carry);
        if text.is_empty() {
            continue;
        }
        while in_flight.len() >= WINDOW {
            if let Some(Err(e)) = in_flight.next().await {
                failed += 1;
                eprintln!("-- piece failed: {e}");
            }
        }
        in_flight.push(writer.append(text));
        pieces += 1;
    }
    if !carry.is_empty() {
        // Input that ended inside a character: kept as text, the broken bytes replaced.
        in_flight.push(writer.append(String::from_utf8_lossy(&carry).into_owned()));
        pieces += 1;
    }
    let end = if interrupted {
        writer.cancel().await
    } else {
        writer.finish().await
    };
    while let Some(result) = in_flight.next().await {
        if let Err(e) = result {
            failed += 1;
            eprintln!("-- piece failed: {e}");
        }
    }
    connecting.await?;
    joining.await?;
    let opened = match opened {
        Some(opened) => opened.await?,
        None => return Err(roomcast_core::Error::Protocol("no opening ack".into()).into()),
    };
    let end = end?;
    eprintln!(
        "-- stream {} (seq {}) {} after {pieces} pieces, ending at seq {}",
        opened.id,
        opened.seq.unwrap_or_default(),
        if interrupted { "cancelled" } else { "done" },
        end.seq.unwrap_or_default(),
    );
    client.close().await?;
    if failed > 0 {
        return Err(CliError::Publishes {
            failed: failed as usize,
            total: pieces as usize,
        });
    }
    Ok(())
}

/// The longest valid UTF-8 prefix of `bytes`, taken out; an incomplete character at the end
/// stays for the next read, and invalid bytes become U+FFFD.
fn take_text(bytes: &mut Vec<u8>) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let text = text.to_owned();
            bytes.clear();
            text
        }
        Err(e) if e.error_len().is_none() => {
            let valid = e.valid_up_to();
            let rest = bytes.split_off(valid);
            let text = String::from_utf8_lossy(bytes).into_owned();
            *bytes = rest;
            text
        }
        Err(_) => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            bytes.clear();
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::take_text;

    #[test]
    fn a_character_cut_by_a_read_waits_for_the_next() {
        let mut bytes = "héllo".as_bytes()[..2].to_vec();
        assert_eq!(take_text(&mut bytes), "h");
        assert_eq!(bytes, [0xc3]);
        bytes.extend_from_slice(&"héllo".as_bytes()[2..]);
        assert_eq!(take_text(&mut bytes), "éllo");
        assert!(bytes.is_empty());
        let mut broken = vec![b'a', 0xff, b'b'];
        assert_eq!(take_text(&mut broken), "a\u{fffd}b");
    }
}
