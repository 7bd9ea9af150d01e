//! Smoke run of the benchmark binary against the real server, so `cargo test --workspace`
//! exercises its code: 20 connections for 2 seconds, then the reconnect storm, which must
//! lose and duplicate nothing. Not a measurement (debug build, tiny load).

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Runs `roomcast-bench` with `args`, killing it if it overruns.
fn bench(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_roomcast-bench"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start roomcast-bench");
    let pid = child.id();
    // The benchmark bounds itself; this is the belt to its braces.
    let guard = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(120));
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    });
    let out = child.wait_with_output().expect("roomcast-bench output");
    drop(guard);
    (out, started.elapsed())
}

fn check(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "roomcast-bench failed: {:?}\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}

#[test]
fn smoke_roomcast_and_storm_lose_nothing() {
    let (out, took) = bench(&[
        "--connections",
        "20",
        "--duration",
        "2",
        "--warmup",
        "0.5",
        "--rate",
        "200",
        "--no-socketio",
    ]);
    let report = check(&out);
    for line in [
        "| lost deliveries | 0 |",
        "| duplicate deliveries | 0 |",
        "| seq errors (gap, repeat, unrecovered) | 0 |",
        "| all caught up in time | yes |",
        "| connections lost (one per client expected) | 20 |",
    ] {
        assert!(report.contains(line), "missing {line:?} in:\n{report}");
    }
    assert!(report.contains("Roomcast (ephemeral)"), "{report}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

/// The Socket.IO framing against the real Node server, only where `npm ci` was run in
/// bench/socketio (the suite does not need Node).
#[test]
fn smoke_socketio_when_installed() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/socketio/node_modules/socket.io"
    );
    let node = Command::new("node").arg("--version").output();
    if !std::path::Path::new(dir).is_dir() || !node.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: no Node.js or no `npm ci` in bench/socketio");
        return;
    }
    let (out, _) = bench(&[
        "--connections",
        "20",
        "--duration",
        "1",
        "--warmup",
        "0.5",
        "--rate",
        "200",
        "--no-storm",
        "--no-ephemeral",
    ]);
    let report = check(&out);
    assert!(report.contains("| Socket.IO 4 |"), "{report}");
    assert!(report.contains("persisted / Socket.IO"), "{report}");
}
