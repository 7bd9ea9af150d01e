//! The `roomcast` CLI as a user runs it: listen in one process, publish and chat in others.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{cli_bin, token, Server};

fn base(cmd: &str, server: &Server, user: &str, room: &str) -> Command {
    let mut c = Command::new(cli_bin());
    c.args([cmd, "--url", &server.ws_url(), "--room", room])
        .env("ROOMCAST_TOKEN", token(user, Duration::from_secs(600), &[]))
        // Each test run keeps the CLI's stores to itself.
        .env("XDG_DATA_HOME", support::cli_data_home());
    c
}

fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn publish_listen_and_chat_between_processes() {
    let server = Server::start();
    let mut listener = base("listen", &server, "sub", "cli-room")
        .args(["--count", "30", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start listen");
    // Wait for the listener to be in the room before publishing.
    let stderr = listener.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    loop {
        let line = lines.next().expect("listener joined").expect("read");
        if line.starts_with("-- joined") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});

    let publish = base("publish", &server, "pub", "cli-room")
        .args(["--count", "30", "--event", "cli.test", "--size", "200"])
        .output()
        .expect("run publish");
    let summary = String::from_utf8_lossy(&publish.stdout);
    assert!(
        publish.status.success(),
        "{summary} {}",
        String::from_utf8_lossy(&publish.stderr)
    );
    assert!(summary.contains("published 30 of 30"), "{summary}");

    let out = listener.wait_with_output().expect("listener exits");
    assert!(out.status.success());
    let got = json_lines(&out.stdout);
    assert_eq!(got.len(), 30);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m["data"]["i"], i as u64, "{m}");
        assert_eq!(m["seq"], i as u64 + 1);
        assert_eq!(
            (m["room"].as_str(), m["event"].as_str()),
            (Some("cli-room"), Some("cli.test"))
        );
        assert_eq!(m["from"]["user"], "pub");
        assert!(m["data"]["pad"].as_str().is_some_and(|p| p.len() >= 150));
    }

    // Resume from a stored position: the missed messages are replayed.
    let out = base("listen", &server, "late", "cli-room")
        .args(["--since", "10", "--count", "5", "--json"])
        .output()
        .expect("run listen --since");
    assert!(out.status.success());
    let seqs: Vec<u64> = json_lines(&out.stdout)
        .iter()
        .filter_map(|m| m["seq"].as_u64())
        .collect();
    assert_eq!(seqs, [11, 12, 13, 14, 15]);

    // Chat: stdin lines are published; the process exits once they are acknowledged.
    let mut chat = base("chat", &server, "ann", "cli-room")
        .args(["--name", "Ann"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chat");
    chat.stdin
        .take()
        .expect("stdin")
        .write_all(b"hello from the terminal\n")
        .expect("write");
    let out = chat.wait_with_output().expect("chat exits");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("[31] you: hello from the terminal"));

    let out = base("listen", &server, "late", "cli-room")
        .args(["--since", "30", "--count", "1"])
        .output()
        .expect("run listen");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[31] Ann (cli): hello from the terminal"
    );
}

/// `listen --since 0` prints every stored message even when the server replays at most 25:
/// the rest is paged in before the replayed ones. `--latest` takes only the newest (the gap
/// line follows them, once the server's `joined` says the replay was cut short).
#[test]
fn listen_since_zero_prints_all_history_past_the_replay_limit() {
    let server = Server::start_with(&["--replay-limit", "25"]);
    let publish = base("publish", &server, "pub", "long-room")
        .args(["--count", "1200", "--rate", "0"])
        .output()
        .expect("run publish");
    assert!(
        publish.status.success(),
        "{}",
        String::from_utf8_lossy(&publish.stderr)
    );

    let out = base("listen", &server, "late", "long-room")
        .args(["--since", "0", "--count", "1200", "--json"])
        .output()
        .expect("run listen --since 0");
    assert!(out.status.success());
    let seqs: Vec<u64> = json_lines(&out.stdout)
        .iter()
        .filter_map(|m| m["seq"].as_u64())
        .collect();
    assert_eq!(seqs, (1..=1200).collect::<Vec<_>>());
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("not available"),
        "no gap reported"
    );

    let out = base("listen", &server, "late", "long-room")
        .args(["--since", "0", "--count", "25", "--json", "--latest"])
        .output()
        .expect("run listen --latest");
    assert!(out.status.success());
    let seqs: Vec<u64> = json_lines(&out.stdout)
        .iter()
        .filter_map(|m| m["seq"].as_u64())
        .collect();
    assert_eq!(seqs, (1176..=1200).collect::<Vec<_>>());
}
