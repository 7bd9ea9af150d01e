//! The HTTP routes: the server's axum router, called in process (`tower::ServiceExt::oneshot`)
//! with a few structured requests per input: any method, a route or any path, any query,
//! headers and body, with or without a valid token. Checks: no panic, no 5xx (none is
//! expected while the store is healthy), every answer (body included) within
//! [`ANSWER_WITHIN`], no static file served from outside the web directory, and a message
//! whose POST was answered 200/201 with a `seq` is readable with GET at that `seq`.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use axum::body::Body;
use axum::http::{header, HeaderName, HeaderValue, Request, StatusCode};
use axum::Router;
use libfuzzer_sys::fuzz_target;
use roomcast_fuzz::{with_server, Tokens, OUTSIDE_MARKER};
use serde_json::Value;
use tower::ServiceExt;

/// Longest time one request may take, body included; longer is reported as a hang.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// Most bytes of an answer read (far over any page the server sends).
const MAX_ANSWER: usize = 16 << 20;

#[derive(Arbitrary, Debug)]
struct Input {
    requests: Vec<Req>,
}

#[derive(Arbitrary, Debug)]
struct Req {
    method: Method,
    path: PathSpec,
    query: Option<String>,
    auth: Auth,
    headers: Vec<(Name, String)>,
    body: BodySpec,
}

#[derive(Arbitrary, Debug)]
enum Method {
    Get,
    Post,
    Head,
    Put,
    Delete,
    Options,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum PathSpec {
    Ws,
    Health,
    Stats,
    Messages(String),
    Static(String),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Auth {
    None,
    User,
    Limited,
    Other,
    Expired,
    Operator,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Name {
    ContentType,
    ContentLength,
    Connection,
    Upgrade,
    SecWebSocketKey,
    SecWebSocketVersion,
    Range,
    AcceptEncoding,
    IfModifiedSince,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum BodySpec {
    Empty,
    /// A publish body: `{"id":..,"event":..,"data":<data>}` with `data` as raw (maybe invalid)
    /// JSON text.
    Publish {
        id: String,
        event: String,
        data: Option<String>,
    },
    /// A publish whose `data` nests `depth` arrays or objects.
    Deep {
        id: String,
        depth: u16,
        objects: bool,
    },
    Raw(Vec<u8>),
}

fuzz_target!(|input: Input| {
    with_server(|rt, harness, tokens| {
        let app = harness.router();
        rt.block_on(async {
            for req in input.requests.iter().take(4) {
                send(&app, tokens, req).await;
            }
        });
    });
});

async fn send(app: &Router, tokens: &Tokens, req: &Req) {
    let Some(request) = build(tokens, req) else {
        return;
    };
    let (status, json, body) = call(app, request).await;
    assert!(
        !status.is_server_error(),
        "{status} for {req:?}: {}",
        String::from_utf8_lossy(&body)
    );
    // JSON answers may echo what inputs published (the fuzzer learns the marker from this
    // very comparison); a file is never served as JSON here.
    assert!(
        json || !body
            .windows(OUTSIDE_MARKER.len())
            .any(|w| w == OUTSIDE_MARKER.as_bytes()),
        "a file outside the web directory was served for {req:?}"
    );
    let (Method::Post, PathSpec::Messages(room)) = (&req.method, &req.path) else {
        return;
    };
    if !matches!(status, StatusCode::OK | StatusCode::CREATED) {
        return;
    }
    let answer: Value = serde_json::from_slice(&body).expect("a publish answer is JSON");
    let seq = answer["seq"].as_u64().expect("a publish answer has a seq");
    check_stored(app, tokens, room, req, seq).await;
}

/// Sends one request, reading the whole answer within [`ANSWER_WITHIN`]: its status, whether
/// it is JSON, and its body.
async fn call(app: &Router, request: Request<Body>) -> (StatusCode, bool, Vec<u8>) {
    let what = format!("{} {}", request.method(), request.uri());
    let answer = async {
        let response = app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let body = axum::body::to_bytes(response.into_body(), MAX_ANSWER)
            .await
            .expect("the answer body reads");
        (status, json, body.to_vec())
    };
    match tokio::time::timeout(ANSWER_WITHIN, answer).await {
        Ok(answer) => answer,
        Err(_) => panic!("no answer within {ANSWER_WITHIN:?}: {what}"),
    }
}

/// The message just published is the one at `seq` in a GET page.
async fn check_stored(app: &Router, tokens: &Tokens, room: &str, req: &Req, seq: u64) {
    let id = match &req.body {
        BodySpec::Publish { id, .. } | BodySpec::Deep { id, .. } => Some(id.as_str()),
        _ => None,
    };
    let before = seq.saturating_add(1);
    let uri = format!("/rooms/{room}/messages?before={before}&limit=1");
    let request = Request::get(&uri)
        .header(header::AUTHORIZATION, format!("Bearer {}", tokens.user))
        .body(Body::empty())
        .expect("a GET the POST's path was valid for");
    let (status, _, body) = call(app, request).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{uri}: {}",
        String::from_utf8_lossy(&body)
    );
    let text = String::from_utf8_lossy(&body);
    let page: Page = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{uri}: a page is JSON ({e}): {text}"));
    let last = page
        .messages
        .first()
        .unwrap_or_else(|| panic!("{uri}: {text}"));
    assert_eq!(last.seq, seq, "{uri}: {text}");
    if let Some(id) = id {
        assert_eq!(last.id, id, "{uri}: {text}");
    }
}

/// A history page, each payload kept as its JSON text: any JSON is a payload, including
/// numbers beyond what `serde_json::Value` holds.
#[derive(serde::Deserialize)]
struct Page {
    messages: Vec<PageMessage>,
}

#[derive(serde::Deserialize)]
struct PageMessage {
    seq: u64,
    id: String,
    #[allow(dead_code)]
    data: Box<serde_json::value::RawValue>,
}

/// The request `req` describes; `None` when it is not one HTTP can carry (a bad URI or
/// header), which the server never sees either.
fn build(tokens: &Tokens, req: &Req) -> Option<Request<Body>> {
    let method = match &req.method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Head => "HEAD",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Options => "OPTIONS",
        Method::Other(m) => m.as_str(),
    };
    let mut uri = match &req.path {
        PathSpec::Ws => "/ws".to_owned(),
        PathSpec::Health => "/health".to_owned(),
        PathSpec::Stats => "/stats".to_owned(),
        PathSpec::Messages(room) => format!("/rooms/{room}/messages"),
        PathSpec::Static(file) => format!("/{file}"),
        PathSpec::Raw(path) => path.clone(),
    };
    if let Some(query) = &req.query {
        uri.push('?');
        uri.push_str(query);
    }
    let mut builder = Request::builder().method(method).uri(uri);
    let token = match &req.auth {
        Auth::None => None,
        Auth::User => Some(tokens.user.as_str()),
        Auth::Limited => Some(tokens.limited.as_str()),
        Auth::Other => Some(tokens.other.as_str()),
        Auth::Expired => Some(tokens.expired.as_str()),
        Auth::Operator => Some(tokens.operator.as_str()),
        Auth::Raw(raw) => Some(raw.as_str()),
    };
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in req.headers.iter().take(8) {
        let name = match name {
            Name::ContentType => header::CONTENT_TYPE,
            Name::ContentLength => header::CONTENT_LENGTH,
            Name::Connection => header::CONNECTION,
            Name::Upgrade => header::UPGRADE,
            Name::SecWebSocketKey => header::SEC_WEBSOCKET_KEY,
            Name::SecWebSocketVersion => header::SEC_WEBSOCKET_VERSION,
            Name::Range => header::RANGE,
            Name::AcceptEncoding => header::ACCEPT_ENCODING,
            Name::IfModifiedSince => header::IF_MODIFIED_SINCE,
            Name::Other(name) => HeaderName::from_bytes(name.as_bytes()).ok()?,
        };
        builder = builder.header(name, HeaderValue::from_str(value).ok()?);
    }
    builder.body(Body::from(body(&req.body))).ok()
}

fn body(spec: &BodySpec) -> Vec<u8> {
    let quoted = |s: &str| Value::String(s.to_owned()).to_string();
    match spec {
        BodySpec::Empty => Vec::new(),
        BodySpec::Publish { id, event, data } => {
            let data = data
                .as_deref()
                .map(|d| format!(",\"data\":{d}"))
                .unwrap_or_default();
            format!(r#"{{"id":{},"event":{}{data}}}"#, quoted(id), quoted(event)).into_bytes()
        }
        BodySpec::Deep { id, depth, objects } => {
            let depth = usize::from(*depth);
            let (open, close) = if *objects {
                (r#"{"a":"#, "}")
            } else {
                ("[", "]")
            };
            let data = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            format!(r#"{{"id":{},"event":"e","data":{data}}}"#, quoted(id)).into_bytes()
        }
        BodySpec::Raw(bytes) => bytes.clone(),
    }
}
