//! `Client`: the connection, its state and the rooms it joins.

use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use roomcast_core::machine::JoinOptions;

use crate::convert;
use crate::driver::Driver;
use crate::registry::Topic;
use crate::room::Room;

/// A Roomcast client. Reconnects, resumes rooms and re-sends queued publishes on its own
/// until `close()`. Handlers receive plain objects; every error is a `RoomcastError`.
#[wasm_bindgen]
pub struct Client {
    driver: Rc<Driver>,
}

#[wasm_bindgen]
impl Client {
    /// Creates a client; nothing connects until `connect()` (or the first `join`).
    /// Throws a `RoomcastError` (`invalid_config`) for unusable options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ClientOptions")] options: JsValue,
    ) -> Result<Client, JsValue> {
        Ok(Client {
            driver: Driver::new(options)?,
        })
    }

    /// Resolves at the first successful handshake; while the server is unreachable it keeps
    /// retrying with backoff. Rejects only when the token is refused for good or on `close()`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn connect(&self) -> Promise {
        self.driver.request(|m, now| m.connect(now), None)
    }

    /// A handle on `name` without joining: register handlers, then `room.join()`, so the
    /// handlers also see what a resume replays.
    pub fn room(&self, name: String) -> Room {
        Room::new(self.driver.clone(), name)
    }

    /// Joins `name` (connecting first on a client never connected); resolves with the room
    /// once the server has it.
    #[wasm_bindgen(unchecked_return_type = "Promise<Room>")]
    pub fn join(&self, name: String) -> Promise {
        let room = Room::new(self.driver.clone(), name.clone());
        self.driver.request(
            move |m, now| m.join(now, &name, JoinOptions::default()),
            Some(Box::new(move |_| room.into())),
        )
    }

    /// Calls `handler` with every connection state change.
    #[wasm_bindgen(js_name = onState)]
    pub fn on_state(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(state: ConnectionStateInfo) => void")]
        handler: Function,
    ) -> u32 {
        self.driver.registry.add(Topic::State, handler, None)
    }

    /// Calls `handler` with problems not tied to a request (token provider failures, server
    /// errors without a request, undecodable frames), and with room errors no room handles.
    #[wasm_bindgen(js_name = onError)]
    pub fn on_error(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(error: RoomcastError) => void")] handler: Function,
    ) -> u32 {
        self.driver.registry.add(Topic::ClientError, handler, None)
    }

    /// Removes a handler by the id its registration returned.
    pub fn off(&self, id: u32) -> bool {
        self.driver.registry.off(id)
    }

    /// The current connection state.
    #[wasm_bindgen(getter, unchecked_return_type = "ConnectionStateInfo")]
    pub fn state(&self) -> JsValue {
        convert::state_info(self.driver.with(|m| m.state()))
    }

    /// Persisted publishes waiting for their ack (offline or in flight).
    #[wasm_bindgen(getter)]
    pub fn queued(&self) -> u32 {
        self.driver.with(|m| m.queued()) as u32
    }

    /// The store wrote the next `records` records it was given (`error`: it could not; their
    /// publishes reject with `storage`, unsent). Called by the package's store.
    pub fn persisted(&self, records: u32, error: Option<String>) {
        self.driver.persisted(u64::from(records), error);
    }

    /// The publishes restored from the store (`restore` option), each with the promise of
    /// its ack: what a page shows as unsent until they settle.
    #[wasm_bindgen(getter, unchecked_return_type = "PendingPublish[]")]
    pub fn restored(&self) -> js_sys::Array {
        self.driver.restored()
    }

    /// Replaces the token; sent at once on a live connection.
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&self, token: String) {
        self.driver.input(|m, now| m.set_token(now, token));
    }

    /// Skips the reconnect wait (also done on the page's `online` event).
    #[wasm_bindgen(js_name = reconnectNow)]
    pub fn reconnect_now(&self) {
        self.driver.input(|m, now| m.reconnect_now(now));
    }

    /// Disconnects until `resume()`, keeping rooms and queued publishes.
    pub fn pause(&self) {
        self.driver.input(|m, now| m.pause(now));
    }

    pub fn resume(&self) {
        self.driver.input(|m, now| m.resume(now));
    }

    /// Closes for good: queued publishes reject with `closed`, handlers are released.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        self.driver.request(|m, now| m.close(now), None)
    }
}
