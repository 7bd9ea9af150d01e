//! Driver pieces that need a JS host, run by wasm-bindgen-test-runner under Node
//! (scripts/test-js.sh): error objects, options, conversions, the timer, and a client driven
//! through a stand-in `WebSocket` installed on the global object.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use js_sys::{Promise, Reflect};
use roomcast_core::machine::{ConnectionState, Error};
use roomcast_core::protocol::{Member, Message, Payload};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;
use web_time::Instant;

use crate::client::Client;
use crate::convert::{message_parts, state_info};
use crate::error::to_js;
use crate::options::parse;
use crate::timer::Timer;

#[wasm_bindgen(inline_js = r#"
export class FakeSocket {
  constructor(url) { this.url = url; this.sent = []; this.readyState = 0; FakeSocket.last = this; }
  send(text) { this.sent.push(text); }
  close() { this.readyState = 3; }
  open() { this.readyState = 1; this.onopen && this.onopen({}); }
  deliver(text) { this.onmessage && this.onmessage({ data: text }); }
  lastSent() { return JSON.parse(this.sent[this.sent.length - 1]); }
}
FakeSocket.prototype.fail = function () { this.readyState = 3; this.onclose && this.onclose({ code: 1006 }); };
export function installFakeSocket() { globalThis.WebSocket = FakeSocket; FakeSocket.OPEN = 1; }
export function installFakePage() {
  const win = new EventTarget();
  globalThis.addEventListener = win.addEventListener.bind(win);
  globalThis.removeEventListener = win.removeEventListener.bind(win);
  globalThis.__win = win;
  globalThis.document = Object.assign(new EventTarget(), { hidden: false });
}
export function fire(name) { globalThis.__win.dispatchEvent(new Event(name)); }
export function setHidden(hidden) {
  globalThis.document.hidden = hidden;
  globalThis.document.dispatchEvent(new Event("visibilitychange"));
}
export function lastSocket() { return FakeSocket.last; }
export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
export function obj(json) { return JSON.parse(json); }
"#)]
extern "C" {
    type FakeSocket;
    #[wasm_bindgen(js_name = installFakeSocket)]
    fn install_fake_socket();
    #[wasm_bindgen(js_name = installFakePage)]
    fn install_fake_page();
    fn fire(name: &str);
    #[wasm_bindgen(js_name = setHidden)]
    fn set_hidden(hidden: bool);
    #[wasm_bindgen(method)]
    fn fail(this: &FakeSocket);
    #[wasm_bindgen(js_name = lastSocket)]
    fn last_socket() -> FakeSocket;
    #[wasm_bindgen(method)]
    fn open(this: &FakeSocket);
    #[wasm_bindgen(method)]
    fn deliver(this: &FakeSocket, text: &str);
    #[wasm_bindgen(method, js_name = lastSent)]
    fn last_sent(this: &FakeSocket) -> JsValue;
    fn sleep(ms: u32) -> Promise;
    fn obj(json: &str) -> JsValue;
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap_or_default()
}

#[wasm_bindgen_test]
fn errors_are_error_objects_with_a_code() {
    let e = to_js(&Error::QueueFull { capacity: 3 });
    assert!(e.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&e, "code").as_string().as_deref(), Some("queue_full"));
    assert_eq!(
        get(&e, "name").as_string().as_deref(),
        Some("RoomcastError")
    );
    assert_eq!(Error::Closed.code(), "closed");
}

#[wasm_bindgen_test]
fn options_are_read_and_checked() {
    let o = parse(
        &obj(r#"{"url":"wss://h/ws","token":"t","name":"n","backoff":{"minDelayMs":5,"maxAttempts":3},"queueCapacity":7}"#),
        "dflt".into(),
    )
    .expect("valid");
    assert_eq!(o.config.client.id, "dflt");
    assert_eq!(o.config.client.source, "web");
    assert_eq!(o.config.backoff.min_delay, Duration::from_millis(5));
    assert_eq!(o.config.backoff.max_attempts, Some(3));
    assert_eq!(o.config.queue_capacity, 7);
    assert!(o.reconnect_on_online && !o.pause_when_hidden);
    for bad in [
        r#"{"token":"t"}"#,
        r#"{"url":"http://h","token":"t"}"#,
        r#"{"url":"ws://h/ws"}"#,
        r#"{"url":"ws://h/ws","token":5}"#,
        r#"{"url":"ws://h/ws","token":"t","queueCapacity":-1}"#,
        r#"{"url":"ws://h/ws","token":"t","pauseWhenHidden":"yes"}"#,
    ] {
        assert!(
            matches!(parse(&obj(bad), "x".into()), Err(Error::InvalidConfig(_))),
            "{bad}"
        );
    }
}

#[wasm_bindgen_test]
fn messages_split_into_data_and_meta() {
    let m = Message {
        room: "r".into(),
        seq: Some(4),
        id: "i".into(),
        event: "e".into(),
        data: Payload::from_json(r#"{"a": [1, 2]}"#).expect("valid JSON"),
        from: Member {
            user: "u".into(),
            client: "c".into(),
            source: "web".into(),
            name: None,
        },
        ts: 9,
        stream: None,
    };
    let (data, meta) = message_parts(&m);
    assert_eq!(get(&data, "a").is_array(), true);
    assert_eq!(get(&meta, "seq").as_f64(), Some(4.0));
    assert!(get(&meta, "data").is_undefined());
    let s = state_info(ConnectionState::Reconnecting {
        attempt: 2,
        delay: Duration::from_millis(1500),
    });
    assert_eq!(
        get(&s, "state").as_string().as_deref(),
        Some("reconnecting")
    );
    assert_eq!(get(&s, "delayMs").as_f64(), Some(1500.0));
}

#[wasm_bindgen_test]
async fn the_timer_fires_once_armed_and_not_after_disarm() {
    let fired = Rc::new(Cell::new(0));
    let f = fired.clone();
    let mut timer = Timer::new(move || f.set(f.get() + 1));
    let now = Instant::now();
    timer.arm(Some(now + Duration::from_millis(5)), now);
    JsFuture::from(sleep(40)).await.expect("sleep");
    assert_eq!(fired.get(), 1);
    timer.fired();
    timer.arm(Some(now + Duration::from_millis(5)), now);
    timer.arm(None, now);
    JsFuture::from(sleep(40)).await.expect("sleep");
    assert_eq!(fired.get(), 1);
}

#[wasm_bindgen_test]
async fn a_client_handshakes_and_joins_through_the_socket_it_opens() {
    install_fake_socket();
    let client = Client::new(obj(
        r#"{"url":"ws://fake/ws","token":"tok","clientId":"c1"}"#,
    ))
    .expect("client");
    let connected = client.connect();
    let ws = last_socket();
    ws.open();
    let hello = ws.last_sent();
    assert_eq!(get(&hello, "type").as_string().as_deref(), Some("hello"));
    assert_eq!(get(&hello, "token").as_string().as_deref(), Some("tok"));
    let hello_ref = get(&hello, "ref").as_f64().unwrap_or_default();
    ws.deliver(&format!(
        r#"{{"type":"welcome","ref":{hello_ref},"session":"s","user":"u","heartbeat_ms":25000,"max_frame":65536,"token_exp":null}}"#
    ));
    JsFuture::from(connected).await.expect("connected");
    assert_eq!(
        get(&client.state(), "state").as_string().as_deref(),
        Some("connected")
    );

    let room = client.room("r1".into());
    let joined = room.join(JsValue::UNDEFINED);
    let join = ws.last_sent();
    assert_eq!(get(&join, "type").as_string().as_deref(), Some("join"));
    let join_ref = get(&join, "ref").as_f64().unwrap_or_default();
    ws.deliver(&format!(
        r#"{{"type":"joined","ref":{join_ref},"room":"r1","seq":3,"epoch":"e","recovered":true,"presence":[]}}"#
    ));
    let info = JsFuture::from(joined).await.expect("joined");
    assert_eq!(get(&info, "seq").as_f64(), Some(3.0));

    let closed = client.close();
    JsFuture::from(closed).await.expect("closed");
    let late = JsFuture::from(room.publish("e".into(), JsValue::from(1), JsValue::UNDEFINED)).await;
    let err = late.expect_err("closed client");
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("closed"));
}

fn state_of(client: &Client) -> String {
    get(&client.state(), "state")
        .as_string()
        .unwrap_or_default()
}

/// Opens the fake socket the client just created and answers its `hello`.
fn handshake(ws: &FakeSocket) {
    ws.open();
    let hello_ref = get(&ws.last_sent(), "ref").as_f64().unwrap_or_default();
    ws.deliver(&format!(
        r#"{{"type":"welcome","ref":{hello_ref},"session":"s","user":"u","heartbeat_ms":25000,"max_frame":65536,"token_exp":null}}"#
    ));
}

#[wasm_bindgen_test]
async fn the_page_online_event_skips_the_reconnect_wait() {
    install_fake_socket();
    install_fake_page();
    let slow =
        r#"{"url":"ws://fake/ws","token":"t","backoff":{"minDelayMs":60000,"maxDelayMs":60000}}"#;
    let client = Client::new(obj(slow)).expect("client");
    let connected = client.connect();
    handshake(&last_socket());
    JsFuture::from(connected).await.expect("connected");
    last_socket().fail();
    assert_eq!(state_of(&client), "reconnecting");
    fire("online");
    assert_eq!(state_of(&client), "connecting");
    handshake(&last_socket());
    assert_eq!(state_of(&client), "connected");
    JsFuture::from(client.close()).await.expect("closed");
}

#[wasm_bindgen_test]
async fn pause_when_hidden_follows_the_page_visibility() {
    install_fake_socket();
    install_fake_page();
    let opts = r#"{"url":"ws://fake/ws","token":"t","pauseWhenHidden":true}"#;
    let client = Client::new(obj(opts)).expect("client");
    let connected = client.connect();
    handshake(&last_socket());
    JsFuture::from(connected).await.expect("connected");
    set_hidden(true);
    assert_eq!(state_of(&client), "paused");
    set_hidden(false);
    assert_eq!(state_of(&client), "connecting");
    handshake(&last_socket());
    assert_eq!(state_of(&client), "connected");
    JsFuture::from(client.close()).await.expect("closed");
    // Closed: the page listeners are gone, so hiding the page changes nothing.
    set_hidden(true);
    assert_eq!(state_of(&client), "closed");
}

#[wasm_bindgen_test]
fn store_records_and_snapshots_cross_as_json() {
    use roomcast_core::machine::{Record, StoredPosition, StoredPublish};

    let publish = StoredPublish {
        room: "r\"1".into(),
        id: "i\u{1}é".into(),
        event: "e\\v".into(),
        data: Payload::from_json(r#"{"t":"a\"b\n😀"}"#).expect("valid JSON"),
        stream: false,
    };
    let mut text = String::new();
    for r in [
        Record::Queued(publish.clone()),
        Record::Done {
            room: "r".into(),
            id: "i".into(),
        },
        Record::Position(StoredPosition {
            room: "r".into(),
            epoch: "ep".into(),
            seq: 9_007_199_254_740_991,
        }),
        Record::Forget { room: "r".into() },
    ] {
        crate::store::record(&mut text, &r);
    }
    let records = crate::store::records(text);
    let expected = obj(
        r#"[["queued","r\"1","i\u0001é","e\\v","{\"t\":\"a\\\"b\\n😀\"}",0],["done","r","i"],["position","r","ep",9007199254740991],["forget","r"]]"#,
    );
    assert_eq!(
        js_sys::JSON::stringify(&records).ok(),
        js_sys::JSON::stringify(&expected).ok()
    );

    // What a store gives back: extra keys and row elements skipped, null lists empty.
    let kept = obj(
        r#"{"v":1,"publishes":[["r\"1","i\u0001é","e\\v","{\"t\":\"a\\\"b\\n😀\"}",5]],"positions":[["r","ep",12]]}"#,
    );
    let snapshot = crate::store::snapshot(&kept).expect("a snapshot");
    assert_eq!(snapshot.publishes, vec![publish]);
    assert_eq!(
        snapshot.positions,
        vec![StoredPosition {
            room: "r".into(),
            epoch: "ep".into(),
            seq: 12
        }]
    );
    let empty = crate::store::snapshot(&obj(r#"{"publishes":null}"#)).expect("empty");
    assert!(empty.is_empty());
    for bad in [
        r#""snapshot""#,
        r#"[]"#,
        r#"{"publishes":{}}"#,
        r#"{"publishes":[["r","i","e"]]}"#,
        r#"{"publishes":[["r","i","e","{bad"]]}"#,
        r#"{"publishes":[["r","i","e",5]]}"#,
        r#"{"positions":[["r","ep",-1]]}"#,
        r#"{"positions":[["r","ep",1.5]]}"#,
        r#"{"positions":[["r","ep"]]}"#,
        r#"{"positions":[[1,"ep",1]]}"#,
    ] {
        assert!(
            matches!(
                crate::store::snapshot(&obj(bad)),
                Err(Error::InvalidConfig(_))
            ),
            "{bad}"
        );
    }
}

#[wasm_bindgen_test]
async fn a_stream_writer_sends_its_opening_publish_pieces_and_end_in_call_order() {
    install_fake_socket();
    let client = Client::new(obj(
        r#"{"url":"ws://fake/ws","token":"tok","clientId":"c1"}"#,
    ))
    .expect("client");
    let connected = client.connect();
    let ws = last_socket();
    handshake(&ws);
    JsFuture::from(connected).await.expect("connected");
    let room = client.room("r1".into());
    let joined = room.join(JsValue::UNDEFINED);
    let join_ref = get(&ws.last_sent(), "ref").as_f64().unwrap_or_default();
    ws.deliver(&format!(
        r#"{{"type":"joined","ref":{join_ref},"room":"r1","seq":3,"epoch":"e","recovered":true,"presence":[]}}"#
    ));
    JsFuture::from(joined).await.expect("joined");

    let writer = room.stream("reply".into(), obj(r#"{"role":"assistant"}"#));
    let id = writer.id();
    let open = ws.last_sent();
    assert_eq!(get(&open, "type").as_string().as_deref(), Some("publish"));
    assert_eq!(get(&open, "stream").as_bool(), Some(true));
    assert_eq!(get(&open, "id").as_string().as_deref(), Some(id.as_str()));
    let open_ref = get(&open, "ref").as_f64().unwrap_or_default();
    ws.deliver(&format!(
        r#"{{"type":"ack","ref":{open_ref},"id":"{id}","seq":4,"ts":1}}"#
    ));
    let opened = JsFuture::from(writer.opened()).await.expect("opened");
    assert_eq!(get(&opened, "seq").as_f64(), Some(4.0));

    // Each piece once acknowledged, the next: `n` counts them, the end comes last.
    let pieces = [("Hel", None), ("lo", None), ("", Some("done"))];
    for (n, (text, end)) in pieces.into_iter().enumerate() {
        let ack = match end {
            None => writer.append(text.into()),
            Some(_) => writer.finish(),
        };
        let sent = ws.last_sent();
        assert_eq!(get(&sent, "type").as_string().as_deref(), Some("append"));
        assert_eq!(get(&sent, "id").as_string().as_deref(), Some(id.as_str()));
        assert_eq!(get(&sent, "n").as_f64(), Some(n as f64));
        assert_eq!(get(&sent, "text").as_string().as_deref(), Some(text));
        assert_eq!(get(&sent, "end").as_string().as_deref(), end);
        let piece_ref = get(&sent, "ref").as_f64().unwrap_or_default();
        let seq = 5 + n;
        ws.deliver(&format!(
            r#"{{"type":"ack","ref":{piece_ref},"id":"{id}","n":{n},"seq":{seq},"ts":1}}"#
        ));
        let acked = JsFuture::from(ack).await.expect("piece acked");
        assert_eq!(get(&acked, "seq").as_f64(), Some(seq as f64));
    }

    // Any member may end a stream: a cancel frame for its id.
    let cancelled = room.cancel_stream(id.clone());
    let cancel = ws.last_sent();
    assert_eq!(get(&cancel, "type").as_string().as_deref(), Some("cancel"));
    assert_eq!(get(&cancel, "id").as_string().as_deref(), Some(id.as_str()));
    let cancel_ref = get(&cancel, "ref").as_f64().unwrap_or_default();
    ws.deliver(&format!(
        r#"{{"type":"ack","ref":{cancel_ref},"id":"{id}","n":2,"seq":7,"ts":1}}"#
    ));
    let acked = JsFuture::from(cancelled).await.expect("cancel acked");
    assert_eq!(get(&acked, "seq").as_f64(), Some(7.0));
    JsFuture::from(client.close()).await.expect("closed");
}
