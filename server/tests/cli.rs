//! The `roomcast-server` binary itself: startup lines, dev mode, `token`, SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::Client;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_roomcast-server");

struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_remove("ROOMCAST_JWT_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn roomcast-server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        Proc { child, lines }
    }

    /// Lines up to and including `roomcast-server listening on http://ADDR`.
    fn until_listening(&self) -> (Vec<String>, SocketAddr) {
        let mut seen = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .expect("startup line");
            if let Some(addr) = line.strip_prefix("roomcast-server listening on http://") {
                let addr = addr.trim().parse().expect("address");
                return (seen, addr);
            }
            seen.push(line);
        }
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("the server did not exit after SIGTERM");
    }
}

fn token_cmd(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(BIN);
    cmd.arg("token")
        .args(args)
        .env_remove("ROOMCAST_JWT_SECRET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_binary_end_to_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("path");
    let server = Proc::spawn(&["--listen", "127.0.0.1:0", "--data", data], &[]);
    let (before, addr) = server.until_listening();
    let text = before.join("\n");
    assert!(text.contains(&format!("ws://{addr}/ws")), "{text}");
    assert!(text.contains(&format!("http://{addr}")), "{text}");
    let dev_token = before
        .iter()
        .find_map(|l| l.split_once("dev token").map(|(_, rest)| rest))
        .and_then(|rest| rest.rsplit(' ').next())
        .expect("a dev token line")
        .to_string();

    let mut dev = Client::hello(addr, "dev", &dev_token).await;
    dev.join(1, "job-1").await;

    // `token` finds the dev secret in --data.
    let bob = token_cmd(
        &["--data", data, "--user", "bob", "--rooms", "conv-*,lobby"],
        &[],
    );
    let mut b = Client::hello(addr, "bob", &bob).await;
    b.send(json!({"type":"join","ref":2,"room":"job-1"})).await;
    assert_eq!(b.expect("error").await["code"], "forbidden");
    b.join(3, "lobby").await;

    let (status, health) = common::http(addr, "GET", "/health", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(health["connections"], 2);

    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert_eq!(dev.closed().await, Some(1001));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_from_env_and_token_ttl() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("path");
    let env = [("ROOMCAST_JWT_SECRET", "env-secret-xyz")];
    let server = Proc::spawn(&["--listen", "127.0.0.1:0", "--data", data], &env);
    let (before, addr) = server.until_listening();
    assert!(
        !before.iter().any(|l| l.contains("dev token")),
        "no dev token with a secret: {before:?}"
    );
    assert!(!dir.path().join("dev-jwt-secret").exists());
    let tok = token_cmd(&["--user", "carol", "--ttl", "120"], &env);
    let mut c = Client::connect(addr).await;
    c.send(
        json!({"type":"hello","ref":1,"protocol":1,"token":tok,"client":{"id":"x","source":"cli"}}),
    )
    .await;
    let w = c.expect("welcome").await;
    let exp = w["token_exp"].as_u64().expect("token_exp");
    let now = roomcast_server::validate::now_ms();
    assert!(exp > now + 110_000 && exp <= now + 120_000, "{w}");
    // A token signed with --jwt-secret for another secret is refused.
    let other = token_cmd(&["--jwt-secret", "nope", "--user", "carol"], &[]);
    let mut d = Client::connect(addr).await;
    d.send(json!({"type":"hello","ref":1,"protocol":1,"token":other,"client":{"id":"y","source":"cli"}}))
        .await;
    assert_eq!(d.expect("error").await["code"], "unauthorized");
    assert_eq!(d.closed().await, Some(4001));
    // `token --stats` mints an operator token: it reads the per-room detail of /stats.
    let op = token_cmd(&["--user", "ops", "--stats"], &env);
    let (status, st) = common::http(addr, "GET", "/stats", Some(&op), None).await;
    assert_eq!(status, 200, "{st}");
    assert!(st["messages_per_room"].is_object(), "{st}");
    let (status, _) = common::http(addr, "GET", "/stats", Some(&tok), None).await;
    assert_eq!(status, 403);
    assert!(server.terminate().success());
}
