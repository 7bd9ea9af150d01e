//! The binary with `--config FILE` and `--log-format json`: options from the file (the
//! internal listener here), JSON log lines that name their connection or request.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{http, token, Client};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_roomcast-server");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_file_and_json_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("roomcast.toml");
    let mut f = std::fs::File::create(&file).expect("create");
    writeln!(
        f,
        "listen = \"127.0.0.1:0\"\ninternal-listen = \"127.0.0.1:0\"\nlog-format = \"json\"\n\
         history-rule = [\"support:*=ttl:90d\"]"
    )
    .expect("write");
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&file)
        .arg("--data")
        .arg(dir.path().join("data"))
        .env("ROOMCAST_JWT_SECRET", common::SECRET)
        .env("RUST_LOG", "roomcast_server=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut internal, mut public) = (None, None);
    while public.is_none() {
        let line = stdout.next().expect("a line").expect("read");
        if let Some(rest) = line.strip_prefix("roomcast-server internal listener on http://") {
            internal = rest.split(' ').next().map(|a| a.parse().expect("addr"));
        }
        if let Some(rest) = line.strip_prefix("roomcast-server listening on http://") {
            public = Some(rest.trim().parse().expect("addr"));
        }
    }
    let (internal, public) = (
        internal.expect("internal listener line"),
        public.expect("addr"),
    );
    let (status, body) = http(internal, "GET", "/readyz", None, None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")));
    let mut c = Client::hello(public, "ann", &token("ann", Some(60), None)).await;
    c.join(1, "support:1").await;
    let (status, _) = http(public, "GET", "/health", None, None).await;
    assert_eq!(status, 200);
    drop(c);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("exit");
    assert!(status.success());
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(&l.expect("read")).expect("every line is JSON"))
        .collect();
    assert!(lines.len() > 3, "{lines:?}");
    let in_span = |name: &str, field: &str| {
        lines.iter().any(|l| {
            l["spans"].as_array().is_some_and(|spans| {
                spans
                    .iter()
                    .any(|s| s["name"] == name && !s[field].is_null())
            })
        })
    };
    assert!(
        in_span("ws", "conn"),
        "a session's lines carry its conn: {lines:?}"
    );
    assert!(
        in_span("req", "id"),
        "a request's lines carry its id: {lines:?}"
    );
}
