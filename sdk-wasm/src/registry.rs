//! The app's handlers, by id, and their dispatch.
//!
//! Handlers are JS functions. Dispatch copies the matching ones out before calling them, so a
//! handler may subscribe, unsubscribe or call the client while it runs. A handler that throws,
//! or a decoder that rejects a payload, is reported to the room's error handlers (else the
//! client's, else the console); it never stops the connection.

use std::cell::{Cell, RefCell};

use js_sys::Function;
use roomcast_core::protocol::json::push_u64;
use roomcast_core::protocol::Message;
use wasm_bindgen::JsValue;

use crate::convert;
use crate::error::{describe, new_error, set};

/// What a handler listens to.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Topic {
    State,
    ClientError,
    /// Room messages with this `event` name; `None` for every event.
    Message(String, Option<String>),
    Presence(String),
    /// The pieces of the room's streamed messages.
    Append(String),
    Gap(String),
    Joined(String),
    RoomError(String),
}

impl Topic {
    fn room(&self) -> Option<&str> {
        match self {
            Topic::State | Topic::ClientError => None,
            Topic::Message(r, _)
            | Topic::Presence(r)
            | Topic::Append(r)
            | Topic::Gap(r)
            | Topic::Joined(r)
            | Topic::RoomError(r) => Some(r),
        }
    }
}

struct Handler {
    id: u32,
    topic: Topic,
    call: Function,
    /// Typed handlers: turns the payload into the handler's type, or throws.
    decode: Option<Function>,
}

#[derive(Default)]
pub(crate) struct Registry {
    next_id: Cell<u32>,
    handlers: RefCell<Vec<Handler>>,
}

impl Registry {
    /// Registers `call` for `topic`; the id unsubscribes it through [`off`](Self::off).
    pub(crate) fn add(&self, topic: Topic, call: Function, decode: Option<Function>) -> u32 {
        let id = self.next_id.get().wrapping_add(1);
        self.next_id.set(id);
        self.handlers.borrow_mut().push(Handler {
            id,
            topic,
            call,
            decode,
        });
        id
    }

    /// Unsubscribes; false when `id` was not registered (already off, or the client closed).
    pub(crate) fn off(&self, id: u32) -> bool {
        let mut handlers = self.handlers.borrow_mut();
        let before = handlers.len();
        handlers.retain(|h| h.id != id);
        handlers.len() != before
    }

    /// Drops every handler, releasing the app's closures (the client closed).
    pub(crate) fn clear(&self) {
        self.handlers.borrow_mut().clear();
    }

    /// `dyn`: one copy for the four callers rather than one per predicate.
    fn matching(&self, pred: &dyn Fn(&Topic) -> bool) -> Vec<(Function, Option<Function>)> {
        self.handlers
            .borrow()
            .iter()
            .filter(|h| pred(&h.topic))
            .map(|h| (h.call.clone(), h.decode.clone()))
            .collect()
    }

    /// Calls every handler of `topic` with `value`.
    pub(crate) fn emit(&self, topic: &Topic, value: &JsValue) {
        for (call, _) in self.matching(&|t| t == topic) {
            if let Err(thrown) = call.call1(&JsValue::NULL, value) {
                self.handler_threw(topic.room(), thrown, None);
            }
        }
    }

    /// Delivers a room message to its handlers, decoding for typed ones.
    pub(crate) fn message(&self, m: &Message) {
        let handlers = self.matching(&|t| {
            matches!(t, Topic::Message(room, event)
                if *room == m.room && event.as_ref().is_none_or(|e| *e == m.event))
        });
        if handlers.is_empty() {
            return;
        }
        let (data, meta) = convert::message_parts(m);
        for (call, decode) in handlers {
            let value = match decode {
                None => data.clone(),
                Some(decode) => match decode.call1(&JsValue::NULL, &data) {
                    Ok(value) => value,
                    Err(thrown) => {
                        let mut text = String::from("payload of \"") + &m.event + "\" (";
                        match m.seq {
                            Some(seq) => {
                                text.push_str("seq ");
                                push_u64(&mut text, seq);
                            }
                            None => text.push_str("ephemeral"),
                        }
                        text.push_str(") did not decode: ");
                        text.push_str(&describe(&thrown));
                        let err = new_error("decode", &text);
                        set(&err, "room", &JsValue::from_str(&m.room));
                        set(&err, "meta", &meta);
                        set(&err, "data", &data);
                        set(&err, "cause", &thrown);
                        self.error(Some(&m.room), &err);
                        continue;
                    }
                },
            };
            if let Err(thrown) = call.call2(&JsValue::NULL, &value, &meta) {
                self.handler_threw(Some(&m.room), thrown, Some(&meta));
            }
        }
    }

    fn handler_threw(&self, room: Option<&str>, thrown: JsValue, meta: Option<&JsValue>) {
        let err = new_error(
            "handler",
            &(String::from("a handler threw: ") + &describe(&thrown)),
        );
        set(&err, "cause", &thrown);
        if let Some(meta) = meta {
            set(&err, "meta", meta);
        }
        self.error(room, &err);
    }

    /// Reports `err` to the room's error handlers, else the client's, else the console.
    /// Errors thrown by error handlers go to the console, never round again.
    pub(crate) fn error(&self, room: Option<&str>, err: &JsValue) {
        let mut handlers = Vec::new();
        if let Some(room) = room {
            handlers = self.matching(&|t| matches!(t, Topic::RoomError(r) if r == room));
        }
        if handlers.is_empty() {
            handlers = self.matching(&|t| *t == Topic::ClientError);
        }
        if handlers.is_empty() {
            web_sys::console::error_2(&JsValue::from_str("roomcast:"), err);
        }
        for (call, _) in handlers {
            if let Err(thrown) = call.call1(&JsValue::NULL, err) {
                web_sys::console::error_2(
                    &JsValue::from_str("roomcast error handler threw:"),
                    &thrown,
                );
            }
        }
    }
}
