#![allow(dead_code)]

//! Harness for the end-to-end tests: the real `roomcast-server` as a child process, a TCP
//! proxy that severs connections on demand or at random, and helpers to mint tokens.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use roomcast_core::Client;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The JWT secret every test server uses.
pub const SECRET: &str = "e2e-secret-0123456789abcdef";

/// A `roomcast-server` child process. Killed when dropped.
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    data: PathBuf,
    extra: Vec<String>,
    _dir: Option<tempfile::TempDir>,
}

fn server_bin() -> &'static str {
    env!("CARGO_BIN_EXE_e2e-server")
}

/// Path of the `roomcast` CLI binary.
pub fn cli_bin() -> &'static str {
    env!("CARGO_BIN_EXE_e2e-cli")
}

/// A data directory for the CLI's default stores, fresh for each test process.
pub fn cli_data_home() -> &'static Path {
    static HOME: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().expect("tempdir"))
        .path()
}

fn spawn(listen: &str, data: &Path, extra: &[String]) -> (Child, SocketAddr) {
    let mut child = Command::new(server_bin())
        .args(["--listen", listen, "--data"])
        .arg(data)
        .args(["--jwt-secret", SECRET])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start roomcast-server");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("server printed its address")
            .expect("read server stdout");
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.trim().parse().expect("address");
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

impl Server {
    /// Starts a server on a free loopback port with a fresh data directory.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Like [`start`](Self::start) with extra command-line flags.
    pub fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (child, addr) = spawn("127.0.0.1:0", &data, &extra);
        Self {
            child: Some(child),
            addr,
            data,
            extra,
            _dir: Some(dir),
        }
    }

    /// The server's data directory (stop the server before copying or replacing it).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL: no graceful shutdown, whatever was not committed is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a graceful exit; the exit status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().ok()
    }

    /// Starts the server again on the same address and data directory.
    pub fn restart(&mut self) {
        self.kill();
        let (child, addr) = spawn(&self.addr.to_string(), &self.data, &self.extra);
        self.child = Some(child);
        self.addr = addr;
    }

    /// A token for `user` valid for `ttl`, optionally limited to room patterns.
    pub fn token(&self, user: &str, ttl: Duration, rooms: &[&str]) -> String {
        token(user, ttl, rooms)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Mints a token with the test secret in this process: no child process, so a provider that
/// refreshes every second or so answers at once even on a busy machine.
pub fn mint_token(user: &str, ttl: Duration) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    roomcast_server::auth::mint(
        SECRET,
        &roomcast_server::auth::Claims {
            sub: user.into(),
            exp: Some(now + ttl.as_secs()),
            rooms: None,
        },
    )
    .expect("mint a token")
}

/// Mints a token with the test secret through `roomcast-server token`.
pub fn token(user: &str, ttl: Duration, rooms: &[&str]) -> String {
    let mut cmd = Command::new(server_bin());
    cmd.args(["token", "--jwt-secret", SECRET, "--user", user, "--ttl"])
        .arg(ttl.as_secs().max(1).to_string());
    for r in rooms {
        cmd.args(["--rooms", r]);
    }
    let out = cmd.output().expect("run roomcast-server token");
    assert!(
        out.status.success(),
        "token: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// A native client for `user` through `url`, with a fast reconnect policy for tests.
pub fn client(url: &str, user: &str) -> Client {
    Client::builder(url)
        .token(token(user, Duration::from_secs(3600), &[]))
        .client_id(format!("{user}-device"))
        .source("test")
        .backoff(roomcast_core::BackoffConfig {
            min_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(500),
            max_attempts: None,
        })
        .build()
        .expect("client")
}

/// A TCP proxy in front of the server that can sever every connection through it.
pub struct Proxy {
    pub addr: SocketAddr,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    severed: Arc<std::sync::atomic::AtomicUsize>,
    accept: JoinHandle<()>,
    chaos: Option<JoinHandle<()>>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let registry = conns.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                if let Ok(mut list) = registry.lock() {
                    list.retain(|t| !t.is_finished());
                    list.push(task);
                }
            }
        });
        Self {
            addr,
            conns,
            severed: Arc::default(),
            accept,
            chaos: None,
        }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Drops every connection through the proxy mid-stream, both directions at once.
    pub fn sever_all(&self) {
        let n = sever(&self.conns);
        self.severed
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Connections severed so far.
    pub fn severed(&self) -> usize {
        self.severed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Severs every connection at random intervals between `min` and `max`, until stopped.
    pub fn chaos(&mut self, min: Duration, max: Duration, seed: u64) {
        let conns = self.conns.clone();
        let severed = self.severed.clone();
        self.chaos = Some(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(seed);
            loop {
                let ms = rng.u64(min.as_millis() as u64..=max.as_millis() as u64);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                severed.fetch_add(sever(&conns), std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }

    pub fn calm(&mut self) {
        if let Some(chaos) = self.chaos.take() {
            chaos.abort();
        }
    }
}

/// Aborts every live connection; how many there were.
fn sever(conns: &Mutex<Vec<JoinHandle<()>>>) -> usize {
    let Ok(mut list) = conns.lock() else {
        return 0;
    };
    let live = list.iter().filter(|t| !t.is_finished()).count();
    for task in list.drain(..) {
        task.abort();
    }
    live
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.calm();
        self.accept.abort();
        sever(&self.conns);
    }
}

/// Receives from `events` until `pick` has returned `Some` `n` times, or `limit` passes.
pub async fn collect<T>(
    events: &mut roomcast_core::RoomEvents,
    n: usize,
    limit: Duration,
    mut pick: impl FnMut(roomcast_core::RoomEvent) -> Option<T>,
) -> Vec<T> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    while out.len() < n {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => out.extend(pick(event)),
            Ok(None) | Err(_) => break,
        }
    }
    out
}

/// The persisted messages among room events.
pub fn messages(event: roomcast_core::RoomEvent) -> Option<roomcast_core::Message> {
    match event {
        roomcast_core::RoomEvent::Message(m) if m.seq.is_some() => Some(m),
        _ => None,
    }
}

/// What a reader was shown of a streamed message: its text, the pieces it holds and how it
/// ended. Panics when a piece is out of turn or after the end, or the opening message came
/// twice (each piece must reach the app once, in order).
#[derive(Default)]
pub struct StreamView {
    pub text: Option<String>,
    pub count: u64,
    pub end: Option<roomcast_core::StreamState>,
}

impl StreamView {
    pub fn see(&mut self, event: &roomcast_core::RoomEvent) {
        use roomcast_core::{RoomEvent, StreamState};
        match event {
            RoomEvent::Message(m) if m.stream.is_some() => {
                assert!(self.text.is_none(), "the opening message came twice");
                let s = m.stream.as_ref().expect("stream");
                self.text = Some(s.text.clone());
                self.count = s.n;
                if s.state != StreamState::Open {
                    self.end = Some(s.state);
                }
            }
            RoomEvent::Append(a) => {
                let text = self
                    .text
                    .as_mut()
                    .expect("a piece after the opening message");
                assert_eq!(a.n, self.count, "a piece out of turn");
                assert!(self.end.is_none(), "a piece after the end");
                text.push_str(&a.text);
                self.count += 1;
                self.end = a.end;
            }
            _ => {}
        }
    }

    /// Reads `events` until the stream ends (or `limit` passes).
    pub async fn until_end(
        mut self,
        events: &mut roomcast_core::RoomEvents,
        limit: Duration,
    ) -> Self {
        let deadline = tokio::time::Instant::now() + limit;
        while self.end.is_none() {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(event)) => self.see(&event),
                Ok(None) | Err(_) => break,
            }
        }
        self
    }
}
