//! A throwaway `redis-server` for the tests and benches that need one: no persistence, a free
//! loopback port, a temporary directory, killed on drop. Shared by `server/tests/redis.rs`,
//! `server/benches/store_cost.rs` and the e2e crate's `tests/redis_nodes.rs` (each includes
//! this file as a module).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Finds `redis-server` (`ROOMCAST_REDIS_SERVER`, else PATH, else the usual places); fails
/// the test with a clear message when it is not installed.
fn redis_server_path() -> PathBuf {
    const HOW: &str = "the Redis engine tests need it. Install the Debian package \
                       (`apt-get install -y redis-server`, or run scripts/setup.sh), or set \
                       ROOMCAST_REDIS_SERVER to its path";
    if let Some(p) = std::env::var_os("ROOMCAST_REDIS_SERVER") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "redis-server not found at {}: {HOW}",
            p.display()
        );
        return p;
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("redis-server"))
                .collect()
        })
        .unwrap_or_default();
    candidates.push(PathBuf::from("/usr/bin/redis-server"));
    candidates.push(PathBuf::from("/usr/local/bin/redis-server"));
    match candidates.into_iter().find(|p| p.is_file()) {
        Some(p) => p,
        None => panic!("redis-server not found: {HOW}"),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A throwaway `redis-server` (no persistence) in a temporary directory, killed on drop.
pub struct Redis {
    child: Child,
    pub url: String,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    pub fn start() -> Redis {
        Self::start_on(free_port())
    }

    /// A fresh, empty Redis on the same port (a Redis restart without persistence).
    pub fn restart(mut self) -> Redis {
        let port = self.port;
        let _ = self.child.kill();
        let _ = self.child.wait();
        Self::start_on(port)
    }

    pub fn start_on(port: u16) -> Redis {
        let bin = redis_server_path();
        let dir = tempfile::tempdir().expect("tempdir");
        let child = Command::new(&bin)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
            ])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let redis = Redis {
            child,
            url: format!("redis://127.0.0.1:{port}"),
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }
}

impl Redis {
    /// Runs one command (raw RESP) and returns the reply's first line.
    pub fn command(&self, args: &[&str]) -> String {
        use std::io::{Read, Write};
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect redis");
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(req.as_bytes()).expect("write");
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).expect("read");
        String::from_utf8_lossy(&buf[..n])
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
