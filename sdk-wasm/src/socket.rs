//! One WebSocket, reported to the driver as open / frame / closed.

use std::rc::Rc;

use roomcast_core::protocol::close;
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// What a socket reports.
pub(crate) enum SocketEvent {
    Open,
    Frame(String),
    /// Closed or failed; the close code when there was one.
    Closed(Option<u16>),
}

/// An open (or opening) WebSocket with its event handlers. Dropping it detaches the handlers
/// and closes the socket, so a socket the machine gave up on cannot report anything.
/// Every socket handler takes its event as a plain `JsValue`, cast inside, so the four share
/// one closure type with the token provider's callbacks: each closure type costs the module
/// and the glue an adapter of its own.
type Handler = Closure<dyn FnMut(JsValue)>;

pub(crate) struct Socket {
    ws: WebSocket,
    _on_open: Handler,
    _on_message: Handler,
    _on_close: Handler,
    _on_error: Handler,
}

impl Socket {
    /// Opens a socket to `url`; `report` gets its events. Fails when the URL is refused.
    pub(crate) fn open(url: &str, report: Rc<dyn Fn(SocketEvent)>) -> Result<Self, JsValue> {
        let ws = WebSocket::new(url)?;
        let r = report.clone();
        let on_open = Handler::new(move |_| r(SocketEvent::Open));
        let r = report.clone();
        let on_message = Handler::new(move |e: JsValue| {
            // The protocol is text only; a binary frame would be a server bug, and is ignored.
            if let Some(text) = e.unchecked_ref::<MessageEvent>().data().as_string() {
                r(SocketEvent::Frame(text));
            }
        });
        // Browsers follow `error` with `close`, but Node's undici (20.x) leaves a refused
        // connection at `error`: treat it as the end; the driver then drops the socket, so
        // the `close` that may follow is not reported twice.
        let r = report.clone();
        let on_error = Handler::new(move |_| r(SocketEvent::Closed(None)));
        let on_close = Handler::new(move |e: JsValue| {
            // 1005/1006 are "no code" and "abnormal": the socket failed rather than closed.
            let code =
                Some(e.unchecked_ref::<CloseEvent>().code()).filter(|c| *c != 1005 && *c != 1006);
            report(SocketEvent::Closed(code));
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
            _on_error: on_error,
        })
    }

    /// Sends a text frame. A socket that is already closing drops it; the machine re-sends
    /// what matters on the next connection.
    pub(crate) fn send(&self, text: &str) {
        let _ = self.ws.send_with_str(text);
    }

    /// Closes with `code` and `reason`. Browsers accept only 1000 and 3000-4999 from a client
    /// and reasons up to 123 bytes; anything else closes without a code.
    pub(crate) fn close(self, code: u16, reason: &str) {
        self.detach();
        let allowed = code == close::NORMAL || (3000..=4999).contains(&code);
        if !(allowed && self.ws.close_with_code_and_reason(code, reason).is_ok()) {
            let _ = self.ws.close();
        }
    }

    fn detach(&self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.detach();
        if self.ws.ready_state() <= WebSocket::OPEN {
            let _ = self.ws.close();
        }
    }
}
