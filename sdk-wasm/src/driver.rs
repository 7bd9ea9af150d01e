//! The driver: feeds the machine from the socket, the timer, the page and the app, and carries
//! out what it asks. Routing only; every decision (backoff, queue, resume, dedup, heartbeat,
//! token refresh) is the machine's.
//!
//! Single-threaded and re-entrant: the machine is borrowed only while inputs are given and
//! outputs collected; app code (handlers, promise settlement, the token provider) runs after
//! the borrow is released, so it may call the client again.
//!
//! Lifetime: while a socket or a timer is live, their callbacks hold the driver, as an open
//! `WebSocket` keeps itself alive in a page. Once the machine is `Closed`, every callback and
//! every app handler is released, and the objects are collected with their JS handles.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Date, Function, Promise};
use roomcast_core::machine::{
    Action, ConnId, ConnectionState, Error, Event, Machine, OpId, Output, Record, Reply,
    StoredPublish,
};
use wasm_bindgen::prelude::*;
use web_time::Instant;

use crate::browser::{Browser, Hint};
use crate::convert;
use crate::error::{self, describe, new_error, set};
use crate::ids::uuid_v7;
use crate::options::Options;
use crate::registry::{Registry, Topic};
use crate::socket::{Socket, SocketEvent};
use crate::timer::Timer;

/// Turns a successful reply into the value the request's promise resolves with.
pub(crate) type MapReply = Box<dyn FnOnce(&Reply) -> JsValue>;

/// A request's promise, waiting for its `Completed` event.
struct Pending {
    resolve: Function,
    reject: Function,
    map: Option<MapReply>,
}

impl Pending {
    fn settle(self, result: Result<Reply, Error>) {
        let _ = match result {
            Ok(reply) => {
                let value = match self.map {
                    Some(map) => map(&reply),
                    None => convert::reply(&reply),
                };
                self.resolve.call1(&JsValue::NULL, &value)
            }
            Err(e) => self.reject.call1(&JsValue::NULL, &error::to_js(&e)),
        };
    }
}

/// Answers of the token provider's promise.
type TokenCallbacks = (Closure<dyn FnMut(JsValue)>, Closure<dyn FnMut(JsValue)>);

struct State {
    machine: Machine,
    socket: Option<(ConnId, Socket)>,
    timer: Option<Timer>,
    /// Few at a time: a vector, not a hash map (its hasher would weigh more than the rest).
    pending: Vec<(OpId, Pending)>,
    provider: Option<Function>,
    token_callbacks: Option<TokenCallbacks>,
    browser: Option<Browser>,
    rng: fastrand::Rng,
    /// With a store: the app's writer of records (see `crate::store`).
    persist: Option<Function>,
    /// Publishes restored from the store, each with the promise of its ack.
    restored: Vec<(StoredPublish, Promise)>,
    /// Groups of records handed to the store's writer and not reported yet, oldest first:
    /// the number of each group's last record.
    writing: std::collections::VecDeque<u64>,
}

/// Work collected under the borrow, done after it.
enum Out {
    Event(Event),
    Settle(Pending, Result<Reply, Error>),
    FetchToken,
    Persist(u64, Record),
}

pub(crate) struct Driver {
    state: RefCell<State>,
    pub(crate) registry: Registry,
    /// Messages the app's handlers returned from, for the store's room positions.
    handled: RefCell<Vec<(String, u64)>>,
}

fn unix_ms() -> u64 {
    Date::now() as u64
}

/// Marks a rejection of `promise` as handled (a no-op `catch`). The closure type is the
/// socket's handlers' (one adapter in the module and the glue); JS owns it, and with weak
/// references its Rust side is freed once the promise lets it go.
fn ignore_rejection(promise: &Promise) {
    let noop = Closure::<dyn FnMut(JsValue)>::new(|_| {}).into_js_value();
    let catch = js_sys::Reflect::get(promise, &JsValue::from_str("catch"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok());
    if let Some(catch) = catch {
        let _ = catch.call1(promise, &noop);
    }
}

/// A promise and what settles it (the executor runs at once, so it is always there).
fn promise() -> (Promise, Option<Pending>) {
    let mut slot = None;
    let promise = Promise::new(&mut |resolve, reject| {
        slot = Some(Pending {
            resolve,
            reject,
            map: None,
        })
    });
    (promise, slot)
}

impl Driver {
    pub(crate) fn new(options: JsValue) -> Result<Rc<Self>, JsValue> {
        let seed = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64 ^ unix_ms();
        let mut rng = fastrand::Rng::with_seed(seed);
        let default_id = uuid_v7(unix_ms(), &mut rng);
        let Options {
            config,
            token_provider,
            pause_when_hidden,
            reconnect_on_online,
            persist,
            restore,
        } = crate::options::parse(&options, default_id).map_err(|e| error::to_js(&e))?;
        let mut machine = Machine::new(config, rng.u64(..));
        let mut pending = Vec::new();
        let mut restored = Vec::new();
        if let Some(snapshot) = restore {
            let publishes = snapshot.publishes.clone();
            let ops = machine.restore(snapshot);
            for (op, publish) in ops.into_iter().zip(publishes) {
                let (promise, waiter) = promise();
                if let Some(waiter) = waiter {
                    pending.push((op, waiter));
                }
                // Nobody may await it: a rejection must not surface as unhandled.
                ignore_rejection(&promise);
                restored.push((publish, promise));
            }
        }
        let driver = Rc::new(Driver {
            state: RefCell::new(State {
                machine,
                socket: None,
                timer: None,
                pending,
                provider: token_provider,
                token_callbacks: None,
                browser: None,
                rng,
                persist,
                restored,
                writing: std::collections::VecDeque::new(),
            }),
            registry: Registry::default(),
            handled: RefCell::new(Vec::new()),
        });
        // Weak: page listeners exist from construction on and must not keep an idle client.
        let weak = Rc::downgrade(&driver);
        let browser = Browser::attach(reconnect_on_online, pause_when_hidden, move |hint| {
            if let Some(driver) = weak.upgrade() {
                driver.hint(hint);
            }
        });
        driver.state.borrow_mut().browser = browser;
        Ok(driver)
    }

    // -----------------------------------------------------------------------------------------
    // App side

    /// Gives the machine an app command, then carries out its outputs.
    pub(crate) fn input(self: &Rc<Self>, call: impl FnOnce(&mut Machine, Instant)) {
        call(&mut self.state.borrow_mut().machine, Instant::now());
        self.pump();
    }

    /// Gives the machine a request; the promise settles with its `Completed` event, resolving
    /// with `map(reply)` (the reply's plain JS form without `map`).
    pub(crate) fn request(
        self: &Rc<Self>,
        call: impl FnOnce(&mut Machine, Instant) -> OpId,
        map: Option<MapReply>,
    ) -> Promise {
        let op = call(&mut self.state.borrow_mut().machine, Instant::now());
        self.wait(op, map)
    }

    /// The promise of request `op`. Out of line: one copy for every export that makes a
    /// request, not one in each.
    #[inline(never)]
    fn wait(self: &Rc<Self>, op: OpId, map: Option<MapReply>) -> Promise {
        let (promise, waiter) = promise();
        if let Some(mut waiter) = waiter {
            waiter.map = map;
            self.state.borrow_mut().pending.push((op, waiter));
        }
        self.pump();
        promise
    }

    /// The publishes restored from the store as `PendingPublish` objects, each with its
    /// ack's promise. Built under the borrow (no app code runs), so nothing is cloned.
    pub(crate) fn restored(&self) -> js_sys::Array {
        let st = self.state.borrow();
        st.restored
            .iter()
            .map(|(p, ack)| convert::pending(p, ack))
            .collect()
    }

    /// Reads the machine.
    pub(crate) fn with<R>(&self, read: impl FnOnce(&Machine) -> R) -> R {
        read(&self.state.borrow().machine)
    }

    /// A fresh message id.
    pub(crate) fn new_id(&self) -> String {
        uuid_v7(unix_ms(), &mut self.state.borrow_mut().rng)
    }

    // -----------------------------------------------------------------------------------------
    // I/O side

    fn hint(self: &Rc<Self>, hint: Hint) {
        self.input(|m, now| match hint {
            Hint::Online => m.reconnect_now(now),
            Hint::Hidden => m.pause(now),
            Hint::Visible => m.resume(now),
        });
    }

    fn on_socket(self: &Rc<Self>, conn: ConnId, event: SocketEvent) {
        {
            let mut st = self.state.borrow_mut();
            let now = Instant::now();
            match event {
                SocketEvent::Open => st.machine.handle_open(now, conn, unix_ms()),
                SocketEvent::Frame(text) => st.machine.handle_frame(now, conn, &text),
                SocketEvent::Closed(code) => {
                    if st.socket.as_ref().is_some_and(|(c, _)| *c == conn) {
                        st.socket = None;
                    }
                    st.machine.handle_close(now, conn, code);
                }
            }
        }
        self.pump();
    }

    fn on_timer(self: &Rc<Self>) {
        {
            let mut st = self.state.borrow_mut();
            if let Some(timer) = st.timer.as_mut() {
                timer.fired();
            }
            st.machine.handle_timeout(Instant::now());
        }
        self.pump();
    }

    fn on_token(self: &Rc<Self>, answer: Result<Option<String>, String>) {
        self.input(|m, now| m.provide_token(now, answer));
    }

    /// Asks the app's provider; its answer (value, promise, or exception) goes to the machine.
    fn fetch_token(self: &Rc<Self>) {
        let provider = self.state.borrow().provider.clone();
        let Some(provider) = provider else {
            return self.on_token(Ok(None));
        };
        let value = match provider.call0(&JsValue::NULL) {
            Ok(value) => value,
            Err(thrown) => return self.on_token(Err(describe(&thrown))),
        };
        let mut st = self.state.borrow_mut();
        let (ok, err) = st.token_callbacks.get_or_insert_with(|| {
            let answer = |weak: Weak<Driver>, ok: bool| {
                Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| {
                    if let Some(driver) = weak.upgrade() {
                        driver.on_token(if ok {
                            Ok(v.as_string())
                        } else {
                            Err(describe(&v))
                        });
                    }
                })
            };
            (
                answer(Rc::downgrade(self), true),
                answer(Rc::downgrade(self), false),
            )
        });
        let _ = Promise::resolve(&value).then2(ok, err);
    }

    // -----------------------------------------------------------------------------------------
    // Outputs

    /// Carries out every output of the machine until it has none, then releases everything
    /// once the client is closed.
    fn pump(self: &Rc<Self>) {
        loop {
            self.report_handled();
            let outs = self.collect();
            if outs.is_empty() {
                break;
            }
            let (mut records, mut last) = (String::new(), None);
            for out in outs {
                match out {
                    Out::Persist(n, record) => {
                        crate::store::record(&mut records, &record);
                        last = Some(n);
                    }
                    out => self.hand_over(out),
                }
            }
            if let Some(upto) = last {
                self.persist(crate::store::records(records), upto);
            }
        }
        self.release_if_closed();
    }

    /// Socket actions, frames and the timer under the borrow; app-facing work is returned.
    fn collect(self: &Rc<Self>) -> Vec<Out> {
        let mut outs = Vec::new();
        let mut guard = self.state.borrow_mut();
        let st = &mut *guard;
        let deadline = loop {
            match st.machine.poll_output() {
                Output::Action(Action::Connect { conn, url }) => {
                    let driver = self.clone();
                    let report: Rc<dyn Fn(SocketEvent)> =
                        Rc::new(move |e| driver.on_socket(conn, e));
                    st.socket = None;
                    match Socket::open(&url, report) {
                        Ok(socket) => st.socket = Some((conn, socket)),
                        Err(thrown) => {
                            let text =
                                String::from("cannot open ") + &url + ": " + &describe(&thrown);
                            outs.push(Out::Event(Event::Error(Error::InvalidConfig(text))));
                            st.machine.handle_close(Instant::now(), conn, None);
                        }
                    }
                }
                Output::Action(Action::Close { conn, code, reason }) => {
                    if let Some((c, socket)) = st.socket.take() {
                        if c == conn {
                            socket.close(code, &reason);
                        } else {
                            st.socket = Some((c, socket));
                        }
                    }
                }
                Output::Action(Action::FetchToken) => outs.push(Out::FetchToken),
                Output::Persist { n, record } => outs.push(Out::Persist(n, record)),
                Output::Transmit(text) => {
                    if let Some((_, socket)) = &st.socket {
                        socket.send(&text);
                    }
                }
                Output::Event(Event::Completed { op, result }) => {
                    if let Some(i) = st.pending.iter().position(|(o, _)| *o == op) {
                        outs.push(Out::Settle(st.pending.swap_remove(i).1, result));
                    }
                }
                Output::Event(other) => outs.push(Out::Event(other)),
                Output::Timeout(deadline) => break deadline,
            }
        };
        match deadline {
            // No timer without a deadline, so an idle or paused client holds no callback.
            None => st.timer = None,
            Some(at) => {
                let timer = st.timer.get_or_insert_with(|| {
                    let driver = self.clone();
                    Timer::new(move || driver.on_timer())
                });
                timer.arm(Some(at), Instant::now());
            }
        }
        outs
    }

    /// Hands one group of records, the last numbered `upto`, to the app's store writer; a
    /// writer that throws fails the group at once (its publishes reject with `storage`,
    /// unsent).
    fn persist(self: &Rc<Self>, records: JsValue, upto: u64) {
        let writer = self.state.borrow().persist.clone();
        let failed = match writer {
            Some(writer) => writer
                .call1(&JsValue::NULL, &records)
                .err()
                .map(|thrown| describe(&thrown)),
            None => None,
        };
        match failed {
            Some(error) => self.input(|m, now| m.persisted(now, upto, Err(error))),
            None => self.state.borrow_mut().writing.push_back(upto),
        }
    }

    /// The store wrote (or failed to write) its oldest group not reported yet. Writers report
    /// groups in the order they were given; the count is the group's length, kept by the
    /// driver, so only the order matters.
    pub(crate) fn persisted(self: &Rc<Self>, _records: u64, error: Option<String>) {
        let Some(upto) = self.state.borrow_mut().writing.pop_front() else {
            return;
        };
        self.input(|m, now| m.persisted(now, upto, error.map_or(Ok(()), Err)));
    }

    /// Tells the machine which messages the handlers returned from (store positions).
    fn report_handled(&self) {
        let handled = std::mem::take(&mut *self.handled.borrow_mut());
        if handled.is_empty() {
            return;
        }
        let mut st = self.state.borrow_mut();
        let now = Instant::now();
        for (room, seq) in handled {
            st.machine.handled(now, &room, seq);
        }
    }

    /// Hands one output to the app: settles a promise, asks the token provider, or calls the
    /// handlers of an event.
    fn hand_over(self: &Rc<Self>, out: Out) {
        let event = match out {
            Out::Settle(pending, result) => return pending.settle(result),
            Out::FetchToken => return self.fetch_token(),
            Out::Persist(..) => return,
            Out::Event(event) => event,
        };
        let r = &self.registry;
        match event {
            Event::State(s) => r.emit(&Topic::State, &convert::state_info(s)),
            Event::Message(m) => {
                r.message(&m);
                if let Some(seq) = m.seq {
                    if self.state.borrow().persist.is_some() {
                        self.handled.borrow_mut().push((m.room.clone(), seq));
                    }
                }
            }
            Event::Append(a) => {
                r.emit(&Topic::Append(a.room.clone()), &convert::append(&a));
                if self.state.borrow().persist.is_some() {
                    self.handled.borrow_mut().push((a.room.clone(), a.seq));
                }
            }
            Event::Presence(p) => r.emit(&Topic::Presence(p.room.clone()), &convert::presence(&p)),
            Event::Joined(j) => r.emit(&Topic::Joined(j.room.clone()), &convert::join_info(&j)),
            Event::Gap(g) => r.emit(&Topic::Gap(g.room.clone()), &convert::gap(&g)),
            Event::RoomLost { room, error } => {
                let text = String::from("room \"") + &room + "\" was lost: " + &error.message();
                let err = new_error("room_lost", &text);
                set(&err, "room", &JsValue::from_str(&room));
                set(&err, "cause", &error::to_js(&error));
                r.error(Some(&room), &err);
            }
            Event::Error(e) => r.error(None, &error::to_js(&e)),
            Event::Completed { .. } => {}
        }
    }

    /// Once closed and what the store keeps written: drops the socket, timer, page
    /// listeners, token provider, store writer and app handlers, so nothing keeps the client
    /// or the app's closures alive.
    fn release_if_closed(&self) {
        let released = {
            let mut st = self.state.borrow_mut();
            if st.machine.state() != ConnectionState::Closed || st.machine.unwritten() > 0 {
                return;
            }
            st.provider = None;
            st.persist = None;
            st.restored.clear();
            (
                st.socket.take(),
                st.timer.take(),
                st.browser.take(),
                st.token_callbacks.take(),
                std::mem::take(&mut st.pending),
            )
        };
        let (_socket, _timer, _browser, _callbacks, pending) = released;
        for (_, p) in pending {
            p.settle(Err(Error::Closed));
        }
        self.registry.clear();
    }
}
