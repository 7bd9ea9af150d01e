//! The CLI's store as a user meets it: a `publish` killed with the server down sends its queue
//! when run again, a `listen` killed and restarted continues where it was, a full disk fails
//! publishes instead of pretending to keep them, two processes never share a store (the
//! second one warns), and default stores of names that differ only in case, or are long, do
//! not collide or overflow file name limits.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use roomcast_core::machine::{Record, Snapshot, StoredPublish};
use roomcast_core::{FileStore, Payload};
use serde_json::Value;
use support::{cli_bin, cli_data_home, token, Server};

fn cli(cmd: &str, url: &str, user: &str, room: &str) -> Command {
    let mut c = Command::new(cli_bin());
    c.args([cmd, "--url", url, "--room", room])
        .env("ROOMCAST_TOKEN", token(user, Duration::from_secs(600), &[]))
        .env("XDG_DATA_HOME", cli_data_home());
    c
}

fn json_seqs(out: &Output) -> Vec<u64> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .filter_map(|m| m["seq"].as_u64())
        .collect()
}

fn json_ids(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|m| m["data"]["i"].as_u64().map(|i| i.to_string()))
        .collect()
}

/// What the store in `dir` holds, read from a copy (the running process holds the lock).
fn kept(dir: &Path) -> Snapshot {
    let copy = tempfile::tempdir().expect("tempdir");
    if std::fs::copy(dir.join("journal"), copy.path().join("journal")).is_err() {
        return Snapshot::default();
    }
    FileStore::open(copy.path()).map_or_else(|_| Snapshot::default(), |o| o.snapshot)
}

fn kept_publishes(dir: &Path) -> usize {
    kept(dir).publishes.len()
}

/// A `roomcast publish` of `count` messages on the store in `store`, started while the server
/// is down, once the store holds all of them (the process is still waiting to send them).
fn publish_offline(url: &str, room: &str, count: usize, store: &Path) -> Child {
    let child = cli("publish", url, "pub", room)
        .args(["--count", &count.to_string(), "--store"])
        .arg(store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start publish");
    wait_for(
        "the publishes kept in the store",
        Duration::from_secs(20),
        || kept_publishes(store) == count,
    );
    child
}

fn wait_for(what: &str, deadline: Duration, mut ready: impl FnMut() -> bool) {
    let end = Instant::now() + deadline;
    while !ready() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill_9(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn stdout_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_publish_killed_with_the_server_down_sends_its_queue_when_run_again() {
    let mut server = Server::start();
    let url = server.ws_url();
    server.kill();
    let store = tempfile::tempdir().expect("tempdir");
    let mut publisher = publish_offline(&url, "kept-room", 40, store.path());
    kill_9(&mut publisher);

    server.restart();
    let listener = cli("listen", &url, "sub", "kept-room")
        .args(["--since", "0", "--count", "40", "--json", "--no-store"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start listen");
    let out = cli("publish", &url, "pub", "kept-room")
        .args(["--count", "0", "--store"])
        .arg(store.path())
        .output()
        .expect("run publish --count 0");
    let text = stdout_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("and 40 kept from an earlier run"), "{text}");

    let out = listener.wait_with_output().expect("listener exits");
    assert!(out.status.success());
    assert_eq!(json_seqs(&out), (1..=40).collect::<Vec<_>>());
    let expected: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    assert_eq!(json_ids(&out), expected, "each once, in publish order");
    assert_eq!(
        kept_publishes(store.path()),
        0,
        "acked publishes left the store"
    );
}

#[test]
fn a_listen_run_again_continues_where_it_was() {
    let server = Server::start();
    let url = server.ws_url();
    let publish = |n: &str| {
        let out = cli("publish", &url, "pub", "tail-room")
            .args(["--count", n, "--no-store"])
            .output()
            .expect("publish");
        assert!(out.status.success(), "{}", stdout_text(&out));
    };
    let listen = |count: &str| {
        cli("listen", &url, "sub", "tail-room")
            .args(["--json", "--count", count])
            .output()
            .expect("listen")
    };
    // The first run joins at the head: it has nothing before its first run.
    let first = listen("0");
    assert!(first.status.success(), "{}", stdout_text(&first));
    publish("10");
    assert_eq!(json_seqs(&listen("10")), (1..=10).collect::<Vec<_>>());
    publish("10");
    // Exited cleanly after 10: the next run starts right after them.
    assert_eq!(json_seqs(&listen("10")), (11..=20).collect::<Vec<_>>());

    // Killed: a run printing lines is killed well after the last position write.
    publish("5");
    let mut running = cli("listen", &url, "sub", "tail-room")
        .args(["--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("listen");
    let stdout = running.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let printed: Vec<u64> = (0..5)
        .map(|_| {
            let line = lines.next().expect("a line").expect("read");
            serde_json::from_str::<Value>(&line).expect("json")["seq"]
                .as_u64()
                .expect("seq")
        })
        .collect();
    assert_eq!(printed, (21..=25).collect::<Vec<_>>());
    // Killed once its store has the position after the last line printed (written within a
    // second of the handlers being done with it).
    let store = default_store("listen", "sub", "tail-room");
    wait_for("the position after seq 25", Duration::from_secs(10), || {
        kept(&store).positions.iter().any(|p| p.seq == 25)
    });
    kill_9(&mut running);
    publish("5");
    assert_eq!(json_seqs(&listen("5")), (26..=30).collect::<Vec<_>>());
}

#[test]
fn a_second_process_on_the_same_store_runs_in_memory() {
    let mut server = Server::start();
    let url = server.ws_url();
    server.kill();
    let store = tempfile::tempdir().expect("tempdir");
    let mut first = publish_offline(&url, "lock-room", 1, store.path());
    server.restart();
    let second = cli("publish", &url, "pub", "lock-room")
        .args(["--count", "3", "--store"])
        .arg(store.path())
        .output()
        .expect("second publish");
    let text = stdout_text(&second);
    assert!(second.status.success(), "{text}");
    assert!(
        text.contains("roomcast: warning: the store")
            && text.contains("is in use by another roomcast process")
            && text.contains("memory only"),
        "{text}"
    );
    assert!(text.contains("published 3 of 3"), "{text}");
    kill_9(&mut first);
}

#[test]
fn a_full_disk_fails_publishes_instead_of_keeping_them() {
    let server = Server::start();
    let url = server.ws_url();
    let store = tempfile::tempdir().expect("tempdir");
    // A file size limit of 16 KiB (32 blocks of 512 bytes) stands in for a full disk; the
    // signal it raises is ignored so that writes fail with an error instead.
    let script = format!(
        "trap '' XFSZ; ulimit -f 32; exec '{}' publish --url '{url}' --room full-room \
         --count 100 --size 600 --store '{}'",
        cli_bin(),
        store.path().display()
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .env(
            "ROOMCAST_TOKEN",
            token("pub", Duration::from_secs(600), &[]),
        )
        .output()
        .expect("run publish under a file size limit");
    let text = stdout_text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("storage error"), "{text}");
    let acked: u64 = text
        .split("published ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary in {text}"));
    assert!(acked > 0 && acked < 100, "{text}");

    // The server has exactly the publishes that were acked: none that failed was sent.
    let listener = cli("listen", &url, "sub", "full-room")
        .args(["--since", "0", "--json", "--no-store", "--count"])
        .arg(acked.to_string())
        .output()
        .expect("listen");
    assert_eq!(json_seqs(&listener), (1..=acked).collect::<Vec<_>>());
    let head = cli("publish", &url, "pub", "full-room")
        .args(["--count", "1", "--no-store"])
        .output()
        .expect("one more");
    assert!(
        stdout_text(&head).contains("published 1 of 1"),
        "{}",
        stdout_text(&head)
    );
    let next = cli("listen", &url, "sub", "full-room")
        .args(["--json", "--no-store", "--count", "1", "--since"])
        .arg(acked.to_string())
        .output()
        .expect("listen after");
    assert_eq!(json_seqs(&next), vec![acked + 1], "nothing else was stored");
}

/// The lines a `listen --json` prints until it is killed: a reader thread collects them.
fn listen_lines(child: &mut Child) -> std::sync::mpsc::Receiver<u64> {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let seq = serde_json::from_str::<Value>(&line)
                .ok()
                .and_then(|m| m["seq"].as_u64());
            if let Some(seq) = seq {
                if tx.send(seq).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

#[test]
fn a_listen_killed_while_messages_arrive_keeps_its_position_as_it_goes() {
    let server = Server::start();
    let url = server.ws_url();
    let store = tempfile::tempdir().expect("tempdir");
    const TOTAL: u64 = 300;
    // A publisher sends TOTAL messages at 100/s while the listener is killed and restarted.
    let publisher = cli("publish", &url, "pub", "live-room")
        .args(["--count", &TOTAL.to_string(), "--rate", "100", "--no-store"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("publisher");
    // The first run starts from the beginning; later ones from the kept position.
    let listen = |first: bool| {
        let mut c = cli("listen", &url, "sub", "live-room");
        if first {
            c.args(["--since", "0"]);
        }
        c.args(["--json", "--store"])
            .arg(store.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("listen")
    };
    let mut printed: Vec<u64> = Vec::new();
    for run in 0..3 {
        let mut running = listen(run == 0);
        let lines = listen_lines(&mut running);
        // Runs for a while; its position follows what it printed, within the interval.
        let until = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < until {
            if let Ok(seq) = lines.recv_timeout(Duration::from_millis(50)) {
                printed.push(seq);
            }
        }
        let last = printed.last().copied().unwrap_or(0);
        wait_for(
            "a kept position near the last line",
            Duration::from_secs(10),
            || {
                kept(store.path())
                    .positions
                    .iter()
                    .any(|p| p.seq > 0 && p.seq + 150 >= last)
            },
        );
        kill_9(&mut running);
        printed.extend(lines.try_iter());
        let kept_seq = kept(store.path()).positions.first().map_or(0, |p| p.seq);
        assert!(
            kept_seq <= printed.last().copied().unwrap_or(0),
            "the kept position ({kept_seq}) passed what was printed"
        );
    }
    let mut last = listen(false);
    let lines = listen_lines(&mut last);
    let end = Instant::now() + Duration::from_secs(30);
    while printed.iter().max().copied().unwrap_or(0) < TOTAL && Instant::now() < end {
        if let Ok(seq) = lines.recv_timeout(Duration::from_millis(100)) {
            printed.push(seq);
        }
    }
    kill_9(&mut last);
    let mut publisher = publisher;
    kill_9(&mut publisher);
    // Every message printed; a restart repeats at most what arrived within about a second of
    // the kill, never from the start.
    let mut distinct = printed.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(
        distinct,
        (1..=TOTAL).collect::<Vec<_>>(),
        "every message printed"
    );
    let repeated = printed.len() as u64 - TOTAL;
    assert!(
        repeated <= 3 * 200,
        "{repeated} lines repeated over 3 restarts (printed {})",
        printed.len()
    );
    assert!(
        !printed.windows(2).any(|w| w[1] == 1 && w[0] > 1),
        "a restart began again at seq 1: {printed:?}"
    );
}

/// The default store of `command` for `user` and `room` (lowercase names of `a-z 0-9 - _`):
/// `{name}-{hash}` directories.
fn default_store(command: &str, user: &str, room: &str) -> std::path::PathBuf {
    let find = |dir: &Path, name: &str| {
        let found: Vec<String> = subdirs(dir)
            .into_iter()
            .filter(|d| d.strip_prefix(name).is_some_and(|h| h.len() == 17))
            .collect();
        assert_eq!(found.len(), 1, "{name} in {}: {found:?}", dir.display());
        dir.join(&found[0])
    };
    let stores = cli_data_home().join("roomcast/stores").join(command);
    let user_dir = find(&stores, user);
    find(&user_dir, room)
}

/// The directories under `dir`, by name.
fn subdirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn default_stores_of_names_differing_in_case_or_long_are_distinct_and_short() {
    let server = Server::start();
    let url = server.ws_url();
    // 128 characters, the longest room name; percent-encoded it took 256 bytes.
    let long = "a:".repeat(64);
    let rooms = ["Case-Room", "case-room", long.as_str()];
    for room in rooms {
        let out = cli("listen", &url, "ident", room)
            .args(["--json", "--count", "0"])
            .output()
            .expect("listen");
        assert!(out.status.success(), "{room}: {}", stdout_text(&out));
    }
    let stores = cli_data_home().join("roomcast/stores/listen");
    let users: Vec<String> = subdirs(&stores)
        .into_iter()
        .filter(|u| u.starts_with("ident"))
        .collect();
    assert_eq!(users.len(), 1, "{users:?}");
    let names = subdirs(&stores.join(&users[0]));
    assert_eq!(names.len(), rooms.len(), "{names:?}");
    let folded: std::collections::BTreeSet<String> =
        names.iter().map(|n| n.to_lowercase()).collect();
    assert_eq!(
        folded.len(),
        names.len(),
        "one store for two rooms: {names:?}"
    );
    for name in &names {
        assert!(name.len() <= 65, "{name}");
        assert!(
            stores.join(&users[0]).join(name).join("journal").is_file(),
            "{name}"
        );
    }
}

#[test]
fn a_default_store_under_the_earlier_naming_is_moved_and_its_queue_sent() {
    let server = Server::start();
    let url = server.ws_url();
    // Where an earlier version kept `publish`'s store for user `mover` in room `moved-room`.
    let stores = cli_data_home().join("roomcast/stores/publish");
    let earlier = stores.join("mover").join("moved-room");
    {
        let mut opened = FileStore::open(&earlier).expect("open");
        let kept = StoredPublish {
            room: "moved-room".into(),
            id: "kept-before-the-move".into(),
            event: "bench".into(),
            data: Payload::from_json(r#"{"i":0}"#).expect("json"),
            stream: false,
        };
        opened
            .store
            .append(&[Record::Queued(kept)])
            .expect("append");
    }
    std::fs::write(earlier.join("client-id"), "earlier-client").expect("client id");

    let out = cli("publish", &url, "mover", "moved-room")
        .args(["--count", "0"])
        .output()
        .expect("publish --count 0");
    let text = stdout_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("and 1 kept from an earlier run"), "{text}");
    assert!(!earlier.exists(), "the earlier store is left behind");
    let users: Vec<String> = subdirs(&stores)
        .into_iter()
        .filter(|u| u.starts_with("mover-"))
        .collect();
    assert_eq!(users.len(), 1, "{users:?}");
    let rooms = subdirs(&stores.join(&users[0]));
    assert_eq!(rooms.len(), 1, "{rooms:?}");
    let moved = stores.join(&users[0]).join(&rooms[0]);
    assert_eq!(
        std::fs::read_to_string(moved.join("client-id")).expect("client id"),
        "earlier-client"
    );
    assert_eq!(kept_publishes(&moved), 0, "sent and acknowledged");
    let listener = cli("listen", &url, "sub", "moved-room")
        .args(["--since", "0", "--count", "1", "--json", "--no-store"])
        .output()
        .expect("listen");
    assert_eq!(json_seqs(&listener), vec![1]);
}

/// A `--store` belongs to the first command, user and room that ran on it: a `listen` on the
/// store of a `publish` (which would move the shared position past the messages it published)
/// or a `publish` to another room (which would wait for the first room's queue) stops with an
/// error naming the owner, and the owner goes on using it.
#[test]
fn a_store_given_with_store_belongs_to_one_command_user_and_room() {
    let server = Server::start();
    let url = server.ws_url();
    let store = tempfile::tempdir().expect("tempdir");
    let out = cli("publish", &url, "pub", "owned-room")
        .args(["--count", "2", "--store"])
        .arg(store.path())
        .output()
        .expect("publish");
    assert!(out.status.success(), "{}", stdout_text(&out));

    for (command, user, room) in [
        ("listen", "pub", "owned-room"),
        ("publish", "pub", "other-room"),
        ("publish", "someone-else", "owned-room"),
    ] {
        let out = cli(command, &url, user, room)
            .args(["--count", "1", "--store"])
            .arg(store.path())
            .output()
            .expect("run");
        let text = stdout_text(&out);
        assert!(!out.status.success(), "{command} {user} {room}: {text}");
        assert!(
            text.contains("belongs to `roomcast publish` for user \"pub\" in room \"owned-room\""),
            "{command} {user} {room}: {text}"
        );
    }
    let out = cli("publish", &url, "pub", "owned-room")
        .args(["--count", "1", "--store"])
        .arg(store.path())
        .output()
        .expect("publish again");
    assert!(out.status.success(), "{}", stdout_text(&out));
}
