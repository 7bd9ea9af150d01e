//! `Room`: publishing, handlers and history for one room.

use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use roomcast_core::machine::{Error, JoinOptions, PublishRequest, ResumeMode};
use roomcast_core::protocol::StreamState;
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::driver::Driver;
use crate::error;
use crate::registry::Topic;

/// A room of a client. Handlers stay registered across reconnects and rejoins.
#[wasm_bindgen]
pub struct Room {
    driver: Rc<Driver>,
    name: String,
}

fn field(options: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(options, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn seq_field(options: &JsValue, key: &str) -> Result<Option<u64>, Error> {
    field(options, key)
        .map(|v| match v.as_f64() {
            Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => Ok(n as u64),
            _ => Err(Error::InvalidConfig(
                String::from(key) + " must be a whole number",
            )),
        })
        .transpose()
}

fn rejected(e: &Error) -> Promise {
    Promise::reject(&error::to_js(e))
}

impl Room {
    pub(crate) fn new(driver: Rc<Driver>, name: String) -> Self {
        Self { driver, name }
    }

    fn publish_inner(
        &self,
        event: String,
        data: &JsValue,
        id: Option<String>,
        ephemeral: bool,
        stream: bool,
    ) -> Promise {
        let data = match convert::from_js(data) {
            Ok(data) => data,
            Err(e) => return rejected(&e),
        };
        let req = PublishRequest {
            room: self.name.clone(),
            id: id.unwrap_or_else(|| self.driver.new_id()),
            event,
            data,
            ephemeral,
            stream,
        };
        self.driver.request(move |m, now| m.publish(now, req), None)
    }

    fn add(&self, topic: Topic, handler: Function) -> u32 {
        self.driver.registry.add(topic, handler, None)
    }
}

#[wasm_bindgen]
impl Room {
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// Joins (connecting first if needed); `{since, epoch}` resumes after a position the app
    /// stored, `resume: "latest"` takes only the newest messages on a resume the server cut
    /// short (default `"full"`: page the rest in). Resolves at the server's `joined`.
    #[wasm_bindgen(unchecked_return_type = "Promise<JoinInfo>")]
    pub fn join(
        &self,
        #[wasm_bindgen(unchecked_param_type = "JoinOptions | undefined")] options: JsValue,
    ) -> Promise {
        let since = match seq_field(&options, "since") {
            Ok(since) => since,
            Err(e) => return rejected(&e),
        };
        let epoch = field(&options, "epoch").and_then(|v| v.as_string());
        let resume = match field(&options, "resume")
            .and_then(|v| v.as_string())
            .as_deref()
        {
            None | Some("full") => ResumeMode::Full,
            Some("latest") => ResumeMode::Latest,
            Some(other) => {
                let e = Error::InvalidConfig(
                    String::from("resume must be \"full\" or \"latest\": ") + other,
                );
                return rejected(&e);
            }
        };
        let name = self.name.clone();
        let options = JoinOptions {
            since,
            epoch,
            resume,
        };
        self.driver
            .request(move |m, now| m.join(now, &name, options), None)
    }

    /// Publishes a persisted message: queued while offline, re-sent after reconnects with the
    /// same id until acknowledged. Resolves with its `seq`.
    #[wasm_bindgen(unchecked_return_type = "Promise<PublishAck>")]
    pub fn publish(
        &self,
        event: String,
        data: JsValue,
        #[wasm_bindgen(unchecked_param_type = "PublishOptions | undefined")] options: JsValue,
    ) -> Promise {
        let id = field(&options, "id").and_then(|v| v.as_string());
        self.publish_inner(event, &data, id, false, false)
    }

    /// Publishes to the members present now: not stored, never queued; rejects with
    /// `not_connected` when offline (typing indicators, cursors).
    #[wasm_bindgen(js_name = publishEphemeral, unchecked_return_type = "Promise<PublishAck>")]
    pub fn publish_ephemeral(&self, event: String, data: JsValue) -> Promise {
        self.publish_inner(event, &data, None, true, false)
    }

    /// Opens a streamed message (an assistant's reply): `data` is published as its opening
    /// message, queued like `publish`, and its text grows with the writer's `append`.
    pub fn stream(&self, event: String, data: JsValue) -> StreamWriter {
        let id = self.driver.new_id();
        let opened = self.publish_inner(event, &data, Some(id.clone()), false, true);
        StreamWriter {
            driver: self.driver.clone(),
            room: self.name.clone(),
            id,
            opened,
        }
    }

    /// Ends another member's stream `id` as cancelled (stored in this member's name).
    /// Resolves with the ack of the stream's final piece, also when it had ended already.
    #[wasm_bindgen(js_name = cancelStream, unchecked_return_type = "Promise<PublishAck>")]
    pub fn cancel_stream(&self, id: String) -> Promise {
        let room = self.name.clone();
        self.driver
            .request(move |m, now| m.cancel(now, &room, &id), None)
    }

    /// Calls `handler(data, meta)` for each `event` message (`"*"`: every event). With
    /// `decode`, the handler gets `decode(data)`; a decoder that throws sends a `decode` error
    /// to the error handlers instead.
    pub fn on(
        &self,
        event: String,
        #[wasm_bindgen(unchecked_param_type = "(data: any, meta: MessageMeta) => void")]
        handler: Function,
        #[wasm_bindgen(unchecked_param_type = "((data: unknown) => any) | undefined")]
        decode: Option<Function>,
    ) -> u32 {
        let event = (event != "*").then_some(event);
        self.driver
            .registry
            .add(Topic::Message(self.name.clone(), event), handler, decode)
    }

    /// Calls `handler` when a member joins or leaves.
    #[wasm_bindgen(js_name = onPresence)]
    pub fn on_presence(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(presence: Presence) => void")] handler: Function,
    ) -> u32 {
        self.add(Topic::Presence(self.name.clone()), handler)
    }

    /// Calls `handler` when messages were missed and could not be replayed: page them in
    /// with `history` where they matter.
    #[wasm_bindgen(js_name = onGap)]
    pub fn on_gap(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(gap: Gap) => void")] handler: Function,
    ) -> u32 {
        self.add(Topic::Gap(self.name.clone()), handler)
    }

    /// Calls `handler` with each piece of the room's streamed messages, once and in order per
    /// stream, after the stream's opening message (whose `stream.text` is the text so far).
    #[wasm_bindgen(js_name = onAppend)]
    pub fn on_append(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(piece: StreamPiece) => void")] handler: Function,
    ) -> u32 {
        self.add(Topic::Append(self.name.clone()), handler)
    }

    /// Calls `handler` at every join and automatic rejoin (with the presence list).
    #[wasm_bindgen(js_name = onJoined)]
    pub fn on_joined(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(info: JoinInfo) => void")] handler: Function,
    ) -> u32 {
        self.add(Topic::Joined(self.name.clone()), handler)
    }

    /// Calls `handler` with this room's errors: decode failures, handlers that threw, the
    /// room lost on rejoin.
    #[wasm_bindgen(js_name = onError)]
    pub fn on_error(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(error: RoomcastError) => void")] handler: Function,
    ) -> u32 {
        self.add(Topic::RoomError(self.name.clone()), handler)
    }

    /// Removes a handler by the id its registration returned.
    pub fn off(&self, id: u32) -> bool {
        self.driver.registry.off(id)
    }

    /// Stored messages with `seq < before` (the newest without), ascending; needs a live
    /// connection.
    #[wasm_bindgen(unchecked_return_type = "Promise<HistoryPage>")]
    pub fn history(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HistoryOptions | undefined")] options: JsValue,
    ) -> Promise {
        let before = match seq_field(&options, "before") {
            Ok(before) => before,
            Err(e) => return rejected(&e),
        };
        let limit = match seq_field(&options, "limit") {
            Ok(limit) => limit.map_or(50, |l| l.min(u64::from(u32::MAX)) as u32),
            Err(e) => return rejected(&e),
        };
        let name = self.name.clone();
        self.driver
            .request(move |m, now| m.history(now, &name, before, limit), None)
    }

    /// Leaves: messages stop, queued publishes to the room reject with `not_joined`.
    /// Handlers stay registered for a later `join()`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn leave(&self) -> Promise {
        let name = self.name.clone();
        self.driver.request(move |m, now| m.leave(now, &name), None)
    }

    /// The highest `seq` delivered and its epoch, to store for a later `join({since, epoch})`.
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "{ seq: number; epoch: string | null } | undefined"
    )]
    pub fn position(&self) -> JsValue {
        self.driver.with(|m| match m.position(&self.name) {
            None => JsValue::UNDEFINED,
            Some((seq, epoch)) => convert::position(seq, epoch),
        })
    }
}

/// The writer of a streamed message, from `room.stream`. Its calls are queued in call order
/// (also offline) and each resolves with its piece's ack.
#[wasm_bindgen]
pub struct StreamWriter {
    driver: Rc<Driver>,
    room: String,
    id: String,
    opened: Promise,
}

impl StreamWriter {
    fn piece(&self, text: String, end: Option<StreamState>) -> Promise {
        let (room, id) = (self.room.clone(), self.id.clone());
        self.driver
            .request(move |m, now| m.append(now, &room, &id, text, end), None)
    }
}

#[wasm_bindgen]
impl StreamWriter {
    /// The stream's id (its opening message's), for readers' `room.cancelStream`.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// The opening message's ack.
    #[wasm_bindgen(getter, unchecked_return_type = "Promise<PublishAck>")]
    pub fn opened(&self) -> Promise {
        self.opened.clone()
    }

    /// Adds `text` to the stream.
    #[wasm_bindgen(unchecked_return_type = "Promise<PublishAck>")]
    pub fn append(&self, text: String) -> Promise {
        self.piece(text, None)
    }

    /// Ends the stream as complete (`done`).
    #[wasm_bindgen(unchecked_return_type = "Promise<PublishAck>")]
    pub fn finish(&self) -> Promise {
        self.piece(String::new(), Some(StreamState::Done))
    }

    /// Ends the stream as `failed` (the generator broke off).
    #[wasm_bindgen(unchecked_return_type = "Promise<PublishAck>")]
    pub fn fail(&self) -> Promise {
        self.piece(String::new(), Some(StreamState::Failed))
    }

    /// Ends the stream as `cancelled` (the user stopped it).
    #[wasm_bindgen(unchecked_return_type = "Promise<PublishAck>")]
    pub fn cancel(&self) -> Promise {
        self.piece(String::new(), Some(StreamState::Cancelled))
    }
}
