//! One WebSocket connection: a task that opens it, forwards incoming text frames to the
//! driver and writes what the driver sends.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::Connector;

use crate::machine::ConnId;

/// What a socket reports to the driver.
#[derive(Debug)]
pub(crate) enum SocketEvent {
    Open(ConnId),
    Frame(ConnId, String),
    /// Closed by the peer (with its close code) or failed (`None`).
    Closed(ConnId, Option<u16>),
}

enum Outgoing {
    Text(String),
    Close(u16, String),
}

/// The driver's handle on a socket task. Dropping it ends the task.
pub(crate) struct Socket {
    pub(crate) conn: ConnId,
    tx: mpsc::UnboundedSender<Outgoing>,
}

impl Socket {
    pub(crate) fn spawn(
        runtime: &tokio::runtime::Handle,
        conn: ConnId,
        url: String,
        tls: Option<Arc<rustls::ClientConfig>>,
        events: mpsc::UnboundedSender<SocketEvent>,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        runtime.spawn(run(conn, url, tls, rx, events));
        Self { conn, tx }
    }

    pub(crate) fn send(&self, text: String) {
        let _ = self.tx.send(Outgoing::Text(text));
    }

    pub(crate) fn close(self, code: u16, reason: String) {
        let _ = self.tx.send(Outgoing::Close(code, reason));
    }
}

async fn run(
    conn: ConnId,
    url: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    events: mpsc::UnboundedSender<SocketEvent>,
) {
    let ws = tokio::select! {
        result = tokio_tungstenite::connect_async_tls_with_config(
            url.as_str(),
            None,
            true,
            // `ws://`: no TLS, plain TCP.
            Some(tls.map_or(Connector::Plain, Connector::Rustls)),
        ) => match result {
            Ok((ws, _)) => ws,
            Err(e) => {
                tracing::debug!(?conn, error = %e, "connect failed");
                let _ = events.send(SocketEvent::Closed(conn, None));
                return;
            }
        },
        // The driver gave up on this attempt (connect timeout, pause, close).
        _ = rx.recv() => return,
    };
    let _ = events.send(SocketEvent::Open(conn));
    let (mut sink, mut stream) = ws.split();
    let code = loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Outgoing::Text(text)) => {
                    // Batch whatever else is already waiting into one flush.
                    let mut next = Some(Outgoing::Text(text));
                    let mut close = None;
                    let mut failed = false;
                    while let Some(out) = next.take() {
                        match out {
                            Outgoing::Text(text) => {
                                if sink.feed(WsMessage::text(text)).await.is_err() {
                                    failed = true;
                                    break;
                                }
                            }
                            Outgoing::Close(code, reason) => {
                                close = Some((code, reason));
                                break;
                            }
                        }
                        next = rx.try_recv().ok();
                    }
                    if failed || sink.flush().await.is_err() {
                        break None;
                    }
                    if let Some((code, reason)) = close {
                        send_close(&mut sink, code, reason).await;
                        return;
                    }
                }
                Some(Outgoing::Close(code, reason)) => {
                    send_close(&mut sink, code, reason).await;
                    return;
                }
                None => return,
            },
            incoming = stream.next() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    let _ = events.send(SocketEvent::Frame(conn, text.as_str().to_owned()));
                }
                Some(Ok(WsMessage::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                // Binary frames are not part of the protocol; pings are answered by tungstenite.
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::debug!(?conn, error = %e, "socket failed");
                    break None;
                }
                None => break None,
            },
        }
    };
    let _ = events.send(SocketEvent::Closed(conn, code));
}

async fn send_close<S>(sink: &mut S, code: u16, reason: String)
where
    S: futures_util::Sink<WsMessage> + Unpin,
{
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    let _ = sink.send(WsMessage::Close(Some(frame))).await;
}
