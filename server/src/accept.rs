//! The accept loop: every TCP connection, before HTTP or WebSocket.
//!
//! `axum::serve` has no header-read timeout and counts nothing, so idle or half-sent requests
//! could hold sockets (and file descriptors) forever. Here
//! - each client IP holds at most `max_sockets_per_ip` TCP connections of any kind (plain
//!   HTTP, upgrades in progress, WebSockets); one over that is closed as soon as it is
//!   accepted, before any byte is read;
//! - a request head must arrive within `request_timeout_ms` of the connection opening or of
//!   the previous response (hyper's header-read timeout), which also ends idle keep-alive
//!   connections; request bodies have the same bound (see `http.rs`);
//! - an accept error other than a reset connection (EMFILE when out of file descriptors, ...)
//!   pauses accepting with a doubling back-off (10 ms to 1 s) instead of spinning or stalling,
//!   while the timeouts above free descriptors.
//!
//! Shutdown: stop accepting, ask every HTTP connection to finish its request and close, and
//! wait (bounded) for them. Upgraded WebSockets leave this loop's accounting once upgraded
//! (they keep their IP slot) and are closed by their own sessions.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

use crate::limits::{IpLimit, IpSlot};

/// First pause after an accept error; doubled on each further error, up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Longest pause after accept errors.
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Settings of the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct AcceptSettings {
    /// TCP connections per client IP; 0: no limit.
    pub max_sockets_per_ip: usize,
    /// Time for a request head to arrive (and for an idle keep-alive connection to live).
    pub request_timeout: Duration,
    /// How long shutdown waits for HTTP connections to finish.
    pub drain: Duration,
}

/// A TCP stream that holds its IP's slot until it is dropped, through an upgrade too.
struct Counted {
    tcp: TcpStream,
    _slot: IpSlot,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

/// Errors that concern one connection only: accept the next one right away.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves `app` on `listener` until `shutdown` completes (see the module doc).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: AcceptSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let sockets = IpLimit::new(settings.max_sockets_per_ip);
    // Every connection task holds a receiver: `closed()` says they all ended.
    let (close_tx, close_rx) = watch::channel(());
    // Flipped to true on shutdown: connections finish their request and close.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut backoff = BACKOFF_MIN;
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(conn) => {
                backoff = BACKOFF_MIN;
                conn
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                tracing::error!(error = %e, pause = ?backoff, "accept failed; pausing");
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        let Some(slot) = sockets.acquire(peer.ip()) else {
            tracing::debug!(ip = %peer.ip(), "too many sockets from this address: closed");
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let io = Counted { tcp, _slot: slot };
        tokio::spawn(connection(
            io,
            peer,
            app.clone(),
            settings.request_timeout,
            stop_rx.clone(),
            close_rx.clone(),
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(close_rx);
    if tokio::time::timeout(settings.drain, close_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!("some HTTP connections did not finish in time");
    }
}

/// Serves HTTP/1.1 (and upgrades) on one connection.
async fn connection(
    io: Counted,
    peer: SocketAddr,
    app: Router,
    request_timeout: Duration,
    mut stop: watch::Receiver<bool>,
    _close: watch::Receiver<()>,
) {
    let service = app.map_request(move |req: Request<Incoming>| {
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        req
    });
    let service = TowerToHyperService::new(service);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(request_timeout);
    let conn = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::trace!(error = %e, %peer, "http connection ended");
                }
                return;
            }
            changed = stop.wait_for(|v| *v), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
