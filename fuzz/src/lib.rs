//! What the server fuzz targets share: one in-process server (the real engine on a temporary
//! SQLite store) per fuzzing process, and tokens for it.
//!
//! A fresh store per input would cost milliseconds; the server is kept across inputs and
//! replaced every [`RESET_EVERY`] inputs so the store stays small. Inputs therefore see rooms
//! that earlier inputs filled: a crash found in a long run may need the inputs before it to
//! reproduce, which libFuzzer keeps in its corpus.

use std::cell::RefCell;
use std::path::Path;

use roomcast_server::auth::{mint, mint_operator, Claims};
use roomcast_server::harness::Harness;
use roomcast_server::validate::now_s;
use roomcast_server::Config;
use tokio::runtime::Runtime;

/// The server's HS256 secret.
const SECRET: &str = "fuzz-secret-0123456789";
/// Inputs served by one store before it is replaced.
pub const RESET_EVERY: u64 = 50_000;
/// Text of a file next to the static files' directory: no request may ever read it.
pub const OUTSIDE_MARKER: &str = "roomcast-fuzz: outside the web dir";

/// Valid tokens for the fuzzed server, and placeholders that stand for them in inputs.
#[derive(Debug)]
pub struct Tokens {
    /// User `fuzz`, every room.
    pub user: String,
    /// User `fuzz`, rooms `conv-*` only.
    pub limited: String,
    /// User `other`, every room.
    pub other: String,
    /// User `fuzz`, expired long ago.
    pub expired: String,
    /// User `ops`, with `"stats": true`.
    pub operator: String,
}

impl Tokens {
    fn mint() -> Self {
        let claims = |sub: &str, exp: u64, rooms: Option<Vec<String>>| Claims {
            sub: sub.into(),
            exp: Some(exp),
            rooms,
        };
        let day = now_s() + 24 * 3600;
        let sign = |c: &Claims| mint(SECRET, c).expect("the fuzz secret signs");
        Tokens {
            user: sign(&claims("fuzz", day, None)),
            limited: sign(&claims("fuzz", day, Some(vec!["conv-*".into()]))),
            other: sign(&claims("other", day, None)),
            expired: sign(&claims("fuzz", 1, None)),
            operator: mint_operator(SECRET, &claims("ops", day, None))
                .expect("the fuzz secret signs"),
        }
    }

    /// `text` with each placeholder (`@TOKEN@`, `@LIMITED@`, `@OTHER@`, `@EXPIRED@`,
    /// `@OPERATOR@`) replaced by its token, so inputs can authenticate.
    pub fn fill(&self, text: &str) -> String {
        if !text.contains('@') {
            return text.to_owned();
        }
        text.replace("@TOKEN@", &self.user)
            .replace("@LIMITED@", &self.limited)
            .replace("@OTHER@", &self.other)
            .replace("@EXPIRED@", &self.expired)
            .replace("@OPERATOR@", &self.operator)
    }
}

/// A running harness with its temporary directory.
struct Live {
    harness: Harness,
    /// Removed when dropped, after the harness stopped.
    dir: tempfile::TempDir,
}

/// One process's fuzzed server.
pub struct Fuzzed {
    rt: Runtime,
    live: Option<Live>,
    tokens: Tokens,
    inputs: u64,
}

impl Fuzzed {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        Fuzzed {
            rt,
            live: None,
            tokens: Tokens::mint(),
            inputs: 0,
        }
    }

    /// The server for the next input, started (or replaced) as needed.
    fn next(&mut self) -> (&Runtime, &Harness, &Tokens) {
        self.inputs += 1;
        if self.inputs % RESET_EVERY == 0 {
            if let Some(old) = self.live.take() {
                self.rt.block_on(old.harness.stop());
                drop(old.dir);
            }
        }
        if self.live.is_none() {
            self.live = Some(self.rt.block_on(start()));
        }
        let live = self.live.as_ref().expect("started above");
        (&self.rt, &live.harness, &self.tokens)
    }
}

/// A server on a new temporary directory (under `TMPDIR`: scripts/fuzz.sh points it at a
/// tmpfs when there is one, since every commit is an fsync):
/// `data/` the store, `web/` static files, `outside.txt` the marker no route may serve.
async fn start() -> Live {
    let dir = tempfile::Builder::new()
        .prefix("roomcast-fuzz-")
        .tempdir()
        .expect("a temporary directory");
    let web = dir.path().join("web");
    write(&web.join("index.html"), "<h1>roomcast</h1>");
    write(&web.join("app").join("main.js"), "console.log(1)");
    write(&dir.path().join("outside.txt"), OUTSIDE_MARKER);
    let mut config = Config::new(dir.path().join("data")).with_secret(SECRET);
    config.web_dir = Some(web);
    // Small limits, so that inputs reach them: frames over max_frame, too many rooms, a
    // replay cut short, a full outbound queue.
    config.max_frame = 2048;
    config.max_rooms_per_conn = 4;
    config.replay_limit = 20;
    config.outbound_queue = 64;
    // No rate limits: they would only slow the fuzzer down, not change what it reaches.
    config.publish_rate = 0;
    config.user_rate = 0;
    config.integrity_check_ms = 0;
    let harness = Harness::start(config).await.expect("the harness starts");
    Live { harness, dir }
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create a directory");
    }
    std::fs::write(path, text).expect("write a file");
}

thread_local! {
    static SERVER: RefCell<Option<Fuzzed>> = const { RefCell::new(None) };
}

/// Runs `f` with this process's server (started on first use).
pub fn with_server<R>(f: impl FnOnce(&Runtime, &Harness, &Tokens) -> R) -> R {
    SERVER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let fuzzed = slot.get_or_insert_with(Fuzzed::new);
        let (rt, harness, tokens) = fuzzed.next();
        f(rt, harness, tokens)
    })
}
