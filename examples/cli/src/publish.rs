//! `roomcast publish`: publish N numbered messages through the offline queue.
//!
//! The messages are queued at once, connected or not; the command exits when every one is
//! acknowledged. With a store (the default), messages a killed run left unsent are sent first,
//! and `--count 0` sends only those.

use std::time::{Duration, Instant};

use clap::Args;
use futures_util::stream::{FuturesUnordered, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::{print, CliError, Connection};

/// Publishes in flight at once: the SDK's default queue capacity.
const WINDOW: usize = 1000;

#[derive(Args)]
pub(crate) struct PublishArgs {
    #[command(flatten)]
    conn: Connection,
    /// How many messages (0: only send what the store kept from an earlier run).
    #[arg(long, default_value_t = 1)]
    count: u64,
    /// Messages per second (default: as fast as acks allow).
    #[arg(long)]
    rate: Option<f64>,
    /// Event name.
    #[arg(long, default_value = "bench.message")]
    event: String,
    /// Pad each payload to about this many bytes.
    #[arg(long, default_value_t = 0)]
    size: usize,
}

pub(crate) async fn run(args: PublishArgs) -> Result<(), CliError> {
    let client = args.conn.client("publish")?;
    print::spawn_state_printer(&client);
    // Requested now, answered when the server is reachable: publishes queue meanwhile.
    let connecting = client.connect();
    let room = client.room(&args.conn.room);
    let joining = room.join();
    let kept = client.queued().await;
    if kept > 0 {
        eprintln!("-- {kept} messages kept from an earlier run are sent first");
    }
    // The queue holds the kept messages too.
    let window = WINDOW.saturating_sub(kept).max(1);

    let bar = ProgressBar::new(args.count);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} acked {per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let pad = "x".repeat(args.size.saturating_sub(40));
    let interval = args
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(1.0 / r));
    let started = Instant::now();
    let mut in_flight = FuturesUnordered::new();
    let (mut acked, mut failed) = (0u64, 0u64);
    let mut tally = |result: Result<_, roomcast_core::Error>, bar: &ProgressBar| match result {
        Ok(_) => {
            acked += 1;
            bar.inc(1);
        }
        Err(e) => {
            failed += 1;
            let line = format!("publish failed: {e}");
            // A hidden bar (no terminal) prints nothing: say it on stderr instead.
            if bar.is_hidden() {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
        }
    };
    for i in 0..args.count {
        if let Some(interval) = interval {
            let due = started + interval.mul_f64(i as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        while in_flight.len() >= window {
            if let Some(result) = in_flight.next().await {
                tally(result, &bar);
            }
        }
        let data = if pad.is_empty() {
            json!({ "i": i })
        } else {
            json!({ "i": i, "pad": pad })
        };
        in_flight.push(room.publish(&args.event, &data));
    }
    while let Some(result) = in_flight.next().await {
        tally(result, &bar);
    }
    // A connect or join refused for good fails every publish; say why.
    connecting.await?;
    joining.await?;
    // The kept messages are acknowledged too before leaving.
    while client.queued().await > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "published {acked} of {} to {} in {secs:.2}s ({:.0} msg/s), {failed} failed{}",
        args.count,
        room.name(),
        acked as f64 / secs.max(1e-9),
        if kept > 0 {
            format!(", and {kept} kept from an earlier run")
        } else {
            String::new()
        },
    );
    client.close().await?;
    if failed > 0 {
        return Err(CliError::Publishes {
            failed: failed as usize,
            total: args.count as usize,
        });
    }
    Ok(())
}
