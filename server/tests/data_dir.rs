//! The binary and its data directory: one server per directory, and a damaged store.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_roomcast-server");
const SECRET: &str = "data-dir-secret";

/// A running `roomcast-server --listen 127.0.0.1:0 --data DIR`, killed on drop.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    fn spawn(data: &Path) -> Proc {
        let mut child = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("ROOMCAST_JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn roomcast-server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc { child, lines }
    }

    fn listening(&self) -> SocketAddr {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .expect("listening line");
            if let Some(addr) = line.strip_prefix("roomcast-server listening on http://") {
                return addr.trim().parse().expect("address");
            }
        }
    }

    /// Waits (bounded) for the process to exit; its status, stdout and stderr.
    fn exited(mut self, within: Duration) -> (ExitStatus, String, String) {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit in {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let stdout: Vec<String> = self.lines.try_iter().collect();
        (status, stdout.join("\n"), stderr)
    }

    fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_data_directory_exits_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut first = Proc::spawn(dir.path());
    let addr = first.listening();

    let started = Instant::now();
    let second = Proc::spawn(dir.path());
    let (status, stdout, stderr) = second.exited(Duration::from_secs(5));
    assert!(!status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        stderr.contains("in use by another roomcast-server"),
        "{stderr}"
    );
    assert!(!stdout.contains("listening on"), "{stdout}");

    // The first one is unaffected.
    let (status, health) = common::http(addr, "GET", "/health", None, None).await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    assert!(first.terminate().success());
    // Once it is gone the directory is free again.
    let mut third = Proc::spawn(dir.path());
    third.listening();
    assert!(third.terminate().success());
}

fn token(user: &str) -> String {
    common::token_with(SECRET, user, Some(600), None)
}

/// Publishes `n` messages to `room` over HTTP.
async fn post_some(addr: SocketAddr, room: &str, n: usize) {
    let tok = token("u1");
    for i in 0..n {
        let body = format!(
            r#"{{"id":"m{i}","event":"e","data":{{"text":"{}"}}}}"#,
            "x".repeat(500)
        );
        let (status, e) = common::http(
            addr,
            "POST",
            &format!("/rooms/{room}/messages"),
            Some(&tok),
            Some(&body),
        )
        .await;
        assert_eq!(status, 201, "{e}");
    }
}

/// Overwrites every page of `db` but the first (the header and the schema) with garbage.
fn corrupt_pages(db: &Path) {
    let len = std::fs::metadata(db).expect("db size").len();
    assert!(len > 3 * 4096, "a database of several pages: {len}");
    let garbage: Vec<u8> = (0..len - 4096).map(|i| (i * 7 + 13) as u8).collect();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(db)
        .expect("open db");
    use std::io::{Seek, SeekFrom, Write};
    file.seek(SeekFrom::Start(4096)).expect("seek");
    file.write_all(&garbage).expect("write");
    file.sync_all().expect("sync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_database_stops_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Proc::spawn(dir.path());
    let addr = server.listening();
    post_some(addr, "r1", 20).await;
    assert!(server.terminate().success());
    corrupt_pages(&dir.path().join("roomcast.db"));

    let again = Proc::spawn(dir.path());
    let (status, stdout, stderr) = again.exited(Duration::from_secs(20));
    assert!(!status.success(), "{status:?}");
    assert!(stderr.contains("is damaged"), "{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_a_store_that_cannot_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Proc::spawn(dir.path());
    let addr = server.listening();
    post_some(addr, "r1", 20).await;
    let (status, health) = common::http(addr, "GET", "/health", None, None).await;
    assert_eq!(
        (status, health["status"].as_str()),
        (200, Some("ok")),
        "{health}"
    );

    // The disk goes bad under the running server: move everything into the main file, then
    // damage it.
    let db = dir.path().join("roomcast.db");
    {
        let conn = rusqlite::Connection::open(&db).expect("open db");
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .expect("checkpoint");
    }
    corrupt_pages(&db);
    let (status, health) = common::http(addr, "GET", "/health", None, None).await;
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["status"], "unavailable");
    let reason = health["reason"].as_str().expect("reason");
    assert!(reason.contains("malformed"), "{reason}");
    // A write now fails, and is reported the same way.
    let (status, _) = common::http(
        addr,
        "POST",
        "/rooms/new-room/messages",
        Some(&token("u1")),
        Some(r#"{"id":"x","event":"e","data":1}"#),
    )
    .await;
    assert!(status >= 500, "{status}");
    let (status, _) = common::http(addr, "GET", "/health", None, None).await;
    assert_eq!(status, 503);
    let _ = server.terminate();
}
