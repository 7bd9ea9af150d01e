//! The servers under test, as child processes on loopback: measured from outside through
//! /proc, and killable with SIGKILL for the reconnect storm.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::error::BenchError;

/// Set in the environment of a re-executed `roomcast-bench` to make it run the server.
pub const AS_SERVER_ENV: &str = "ROOMCAST_BENCH_AS_SERVER";
/// The JWT secret of the benchmark's Roomcast servers.
pub const SECRET: &str = "roomcast-bench-secret-0123456789";
/// How long a server may take to print its address.
const START_LIMIT: Duration = Duration::from_secs(30);

/// How to start one server, kept so it can be started again on the same port and data.
#[derive(Debug, Clone)]
struct Recipe {
    what: String,
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(String, String)>,
}

/// A server child process. Killed when dropped.
#[derive(Debug)]
pub struct Server {
    recipe: Recipe,
    child: Option<Child>,
    pub addr: SocketAddr,
    /// Roomcast's data directory; removed with the server.
    _data: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts `roomcast-server` on a free loopback port with a fresh data directory: this
    /// program re-executed as the server, or `bin` when given.
    pub async fn roomcast(bin: Option<&PathBuf>) -> Result<Self, BenchError> {
        let data = tempfile::tempdir()?;
        let (program, env) = match bin {
            Some(bin) => (bin.clone(), vec![]),
            None => (
                std::env::current_exe()?,
                vec![(AS_SERVER_ENV.to_owned(), "1".to_owned())],
            ),
        };
        let mut args: Vec<OsString> = ["--listen", "127.0.0.1:0", "--data"]
            .iter()
            .map(OsString::from)
            .collect();
        args.push(data.path().join("data").into_os_string());
        // No rate or per-IP limits (WebSocket connections and TCP sockets alike) and a deep
        // outbound queue: the benchmark measures throughput from one loopback address, not
        // the protective limits.
        for a in [
            "--jwt-secret",
            SECRET,
            "--publish-rate",
            "0",
            "--user-rate",
            "0",
            "--max-conns-per-ip",
            "0",
            "--max-sockets-per-ip",
            "0",
            "--outbound-queue",
            "65536",
        ] {
            args.push(a.into());
        }
        let mut env = env;
        env.push(("RUST_LOG".into(), "warn".into()));
        let recipe = Recipe {
            what: "roomcast-server".into(),
            program,
            args,
            env,
        };
        Self::start(recipe, Some(data)).await
    }

    /// Starts the Socket.IO server of `dir` (`server.js`) with `node` on a free loopback port,
    /// with `connectionStateRecovery` when `recovery`.
    pub async fn socketio(node: &Path, dir: &Path, recovery: bool) -> Result<Self, BenchError> {
        if !socketio_installed(dir) {
            return Err(BenchError::SocketIoMissing {
                dir: dir.display().to_string(),
            });
        }
        let recipe = Recipe {
            what: "socket.io server".into(),
            program: node.to_path_buf(),
            args: [
                dir.join("server.js").into_os_string(),
                "--port".into(),
                "0".into(),
            ]
            .into_iter()
            .chain(recovery.then(|| "--recovery".into()))
            .collect(),
            env: vec![("NODE_ENV".into(), "production".into())],
        };
        Self::start(recipe, None).await
    }

    /// Starts the socketioxide server binary `bin` on a free loopback port.
    pub async fn socketioxide(bin: &Path) -> Result<Self, BenchError> {
        let recipe = Recipe {
            what: "socketioxide server".into(),
            program: bin.to_path_buf(),
            args: vec!["--port".into(), "0".into()],
            env: vec![],
        };
        Self::start(recipe, None).await
    }

    /// The process id, for /proc.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL and reap: no graceful shutdown, whatever was not committed is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server `recipe` describes, which keeps `data` while it runs.
    async fn start(recipe: Recipe, data: Option<tempfile::TempDir>) -> Result<Self, BenchError> {
        let (child, addr) = spawn(recipe.clone()).await?;
        Ok(Self {
            recipe,
            child: Some(child),
            addr,
            _data: data,
        })
    }

    /// Starts the server again on the same address (and data directory).
    pub async fn restart(&mut self) -> Result<(), BenchError> {
        self.kill();
        let mut recipe = self.recipe.clone();
        let listen = self.addr.to_string();
        if let Some(i) = recipe.args.iter().position(|a| a == "--listen") {
            if let Some(slot) = recipe.args.get_mut(i + 1) {
                *slot = listen.into();
            }
        }
        let (child, addr) = spawn(recipe).await?;
        self.child = Some(child);
        self.addr = addr;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts the child and waits for its `listening on http://ADDR` line.
async fn spawn(recipe: Recipe) -> Result<(Child, SocketAddr), BenchError> {
    let what = recipe.what.clone();
    let mut cmd = Command::new(&recipe.program);
    cmd.args(&recipe.args)
        .envs(recipe.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().map_err(|source| BenchError::Spawn {
        what: what.clone(),
        source,
    })?;
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        return Err(BenchError::ExitedEarly { what });
    };
    let reader = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let addr = lines.by_ref().map_while(Result::ok).find_map(|line| {
            line.split("listening on http://")
                .nth(1)
                .and_then(|rest| rest.trim().parse::<SocketAddr>().ok())
        });
        // Keep draining so the child never blocks on a full pipe.
        if addr.is_some() {
            std::thread::spawn(move || lines.for_each(drop));
        }
        addr
    });
    let found = tokio::time::timeout(START_LIMIT, reader).await;
    match found {
        Ok(Ok(Some(addr))) if addr.ip().is_loopback() => Ok((child, addr)),
        Ok(Ok(Some(addr))) => {
            let _ = child.kill();
            Err(BenchError::Options(format!(
                "{what} listens on {addr}, not loopback"
            )))
        }
        Ok(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(BenchError::ExitedEarly { what })
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(BenchError::NoAddress {
                what,
                limit: START_LIMIT,
            })
        }
    }
}

/// Whether `npm ci` has installed socket.io in `dir`.
pub fn socketio_installed(dir: &Path) -> bool {
    dir.join("node_modules").join("socket.io").is_dir()
}

/// The socketioxide server's binary: `given` when it exists, else built from
/// `bench/socketioxide` with cargo (release; its own workspace and lock file, so the main
/// workspace never compiles it). `None`, with the reason on stderr, when it cannot be had:
/// the run goes on without that peer.
pub fn socketioxide_bin(given: Option<&Path>) -> Option<PathBuf> {
    if let Some(bin) = given {
        if bin.is_file() {
            return Some(bin.to_path_buf());
        }
        eprintln!(
            "socketioxide skipped: --socketioxide-bin {} is not a file",
            bin.display()
        );
        return None;
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("socketioxide")
        .join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!(
        "building the socketioxide peer: cargo build --release --manifest-path {} \
         (the first build takes a few minutes)",
        manifest.display()
    );
    let out = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            eprintln!("socketioxide skipped: its build failed ({})", o.status);
            return None;
        }
        Err(e) => {
            eprintln!("socketioxide skipped: cannot run cargo: {e}");
            return None;
        }
    };
    let bin = built_executable(&String::from_utf8_lossy(&out.stdout));
    if bin.is_none() {
        eprintln!("socketioxide skipped: cargo reported no executable");
    }
    bin
}

/// The executable in cargo's JSON messages (`compiler-artifact` with an `executable`).
fn built_executable(messages: &str) -> Option<PathBuf> {
    #[derive(serde::Deserialize)]
    struct Artifact {
        reason: String,
        executable: Option<PathBuf>,
    }
    messages
        .lines()
        .filter_map(|l| serde_json::from_str::<Artifact>(l).ok())
        .filter(|a| a.reason == "compiler-artifact")
        .filter_map(|a| a.executable)
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_built_executable() {
        let msgs = concat!(
            r#"{"reason":"compiler-artifact","executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","executable":"/t/release/peer"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#
        );
        assert_eq!(
            built_executable(msgs),
            Some(PathBuf::from("/t/release/peer"))
        );
        assert_eq!(built_executable("not json"), None);
    }
}
