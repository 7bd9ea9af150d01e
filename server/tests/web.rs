//! `--web DIR`: static files at `/`, the API routes and `/ws` unchanged.

mod common;

use common::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_static_files_beside_the_api() {
    let web = tempfile::tempdir().expect("tempdir");
    std::fs::write(web.path().join("index.html"), "<h1>dashboard</h1>").expect("write");
    std::fs::write(web.path().join("app.wasm"), b"\0asm").expect("write");
    let dir = web.path().to_owned();
    let s = Server::start(move |c| c.web_dir = Some(dir)).await;

    let index = get(s.addr, "/").await;
    assert!(index.starts_with("HTTP/1.1 200"), "{index}");
    assert!(index.contains("<h1>dashboard</h1>"));
    let wasm = get(s.addr, "/app.wasm").await;
    assert!(
        wasm.to_ascii_lowercase()
            .contains("content-type: application/wasm"),
        "{wasm}"
    );
    let health = get(s.addr, "/health").await;
    assert!(health.contains("\"status\":\"ok\""), "{health}");
    let missing = get(s.addr, "/nope.js").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    assert!(missing.contains("not_found"), "{missing}");
    // The WebSocket is still there.
    let mut c = s.client("alice").await;
    c.send(serde_json::json!({"type":"ping","ref":9})).await;
    c.expect("pong").await;
    s.stop().await;
}

/// Request targets that name no file but make tower-http answer 500 (authority form, whose
/// redirect cannot be built; a name over the file system's limit) get the JSON 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_names_no_file_is_not_found() {
    let web = tempfile::tempdir().expect("tempdir");
    std::fs::write(web.path().join("index.html"), "<h1>dashboard</h1>").expect("write");
    let dir = web.path().to_owned();
    let s = Server::start(move |c| c.web_dir = Some(dir)).await;
    let long = format!("/{}", "a".repeat(300));
    for target in ["n", "example.com:80", &long] {
        let answer = get(s.addr, target).await;
        assert!(answer.starts_with("HTTP/1.1 404"), "{target}: {answer}");
        assert!(answer.contains("not_found"), "{target}: {answer}");
    }
    s.stop().await;
}
