//! Smoke runs of the benchmark binary against the real server, so `cargo test --workspace`
//! exercises its code: 20 connections for 2 seconds, then the reconnect storm, which must
//! lose and duplicate nothing; a tiny saturation (Roomcast only, two steps) whose JSON must
//! carry the documented fields; a tiny churn in which Roomcast must deliver every message
//! exactly once. Not measurements (debug build, tiny load); Socket.IO and socketioxide only
//! where installed or asked for (docs/benchmarks.md has the commands).

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

/// The JSON document on stdout of a `--json` run.
fn json(out: &Output) -> serde_json::Value {
    let stdout = check(out);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

#[test]
fn smoke_saturate_json_has_the_fields() {
    let charts = tempfile::tempdir().expect("temp dir");
    let chart_dir = charts.path().to_string_lossy().into_owned();
    let (out, took) = bench(&[
        "--saturate",
        "--json",
        "--connections",
        "50",
        "--rooms",
        "5",
        // Rooms publish 60 then 120 msg/s each: at lower rates a one-second window holds so
        // few messages per subscriber that its edges alone move the share past 5%.
        "--start-rate",
        "300",
        "--step-factor",
        "2",
        "--max-steps",
        "2",
        "--duration",
        "1.5",
        "--warmup",
        "0.3",
        "--no-socketio",
        "--no-socketioxide",
        "--no-ephemeral",
        "--chart",
        &chart_dir,
    ]);
    let doc = json(&out);
    let sat = &doc["saturation"];
    assert_eq!(sat.as_array().map(Vec::len), Some(1), "{doc}");
    let s = &sat[0];
    assert_eq!(s["server"], "roomcast-persisted");
    let steps = s["steps"].as_array().expect("steps");
    // Whether a step keeps up is a measurement, not something this test can ask of a debug
    // build on a shared machine: a step that fell behind ends the run, and the maxima are then
    // those of the last step that kept up (null when none did). Loss and repeats are never
    // acceptable.
    assert!(!steps.is_empty() && steps.len() <= 2, "{s}");
    let sustained = steps.iter().any(|st| st["sustained"] == true);
    for field in [
        "max_delivered_per_s",
        "p50_ms",
        "p99_ms",
        "p99_9_ms",
        "cpu_ms_per_1000",
    ] {
        let value = s
            .get(field)
            .unwrap_or_else(|| panic!("{field} missing in {s}"));
        assert!(
            value.is_number() || (!sustained && value.is_null()),
            "{field} in {s}"
        );
    }
    for st in steps {
        assert_eq!(st["lost"], 0, "{st}");
        assert_eq!(st["dups"], 0, "{st}");
        for field in [
            "offered_per_s",
            "delivered_per_s",
            "p50_ms",
            "p99_ms",
            "cpu_ms_per_1000",
        ] {
            assert!(st[field].is_number(), "{field} in {st}");
        }
    }
    for svg in ["saturation-delivered.svg", "saturation-p99.svg"] {
        let text = std::fs::read_to_string(charts.path().join(svg)).expect(svg);
        assert!(text.contains("<svg") && text.contains("Roomcast"), "{svg}");
    }
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

#[test]
fn smoke_churn_roomcast_exactly_once() {
    let (out, took) = bench(&[
        "--churn",
        "--json",
        "--connections",
        "20",
        "--rooms",
        "4",
        "--rate",
        "100",
        "--duration",
        "4",
        "--warmup",
        "0.3",
        "--churn-every",
        "1.5",
        "--churn-offline",
        "0.3",
        "--no-socketio",
        "--no-socketioxide",
    ]);
    let doc = json(&out);
    let c = &doc["churn"][0];
    assert_eq!(c["server"], "roomcast-persisted", "{doc}");
    assert_eq!(c["lost"], 0, "{c}");
    assert_eq!(c["dups"], 0, "{c}");
    assert_eq!(c["seq_errors"], 0, "{c}");
    assert_eq!(c["delivery_pct"], 100.0, "{c}");
    assert!(c["forced_closes"].as_u64().is_some_and(|n| n >= 20), "{c}");
    assert!(c["replay_samples"].as_u64().is_some_and(|n| n > 0), "{c}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
}
