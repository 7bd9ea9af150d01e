//! The HTTP side: routes, `/health`, `/stats` and the room messages endpoints.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, Path, RawQuery, Request, State, WebSocketUpgrade,
};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::{Json, Router};
use roomcast_core::protocol::json::Object;
use roomcast_core::protocol::{
    write_history_items, ErrorCode, Member, Payload, StreamState, MAX_HISTORY_LIMIT,
};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::auth::{AuthError, Claims};
use crate::connection::{self, DEFAULT_HISTORY_LIMIT};
use crate::engine::{AppendCmd, AppendOp, EngineError, Origin, PublishCmd, Stored};
use crate::state::AppState;
use crate::validate;

/// `client` recorded in `from` for messages posted over HTTP.
pub const HTTP_CLIENT: &str = "http";
/// `source` recorded in `from` for messages posted over HTTP.
pub const HTTP_SOURCE: &str = "server";

/// Every route of the server.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.config.transport_limit();
    let web_dir = state.config.web_dir.clone();
    let router = Router::new()
        .route("/ws", get(ws))
        .route("/health", get(health))
        .route("/stats", get(stats))
        .route("/livez", get(crate::internal::livez))
        .route("/readyz", get(crate::internal::readyz))
        .route("/metrics", get(crate::internal::metrics_public))
        .route(
            "/rooms/{room}/messages",
            get(get_messages).post(post_messages),
        )
        .route(
            "/rooms/{room}/messages/{id}/append",
            axum::routing::post(post_append),
        )
        .layer(DefaultBodyLimit::max(body_limit));
    let router = crate::admin::routes(router, crate::internal::Listener::Public)
        .layer(axum::middleware::from_fn(request_span));
    let router = match web_dir {
        // Static files only where no route matched; a missing file is still a JSON 404.
        Some(dir) => {
            let files = ServeDir::new(dir).fallback(get(not_found).with_state(()));
            router.fallback(move |request: Request| static_file(files.clone(), request))
        }
        None => router.fallback(not_found),
    };
    router.with_state(state)
}

/// A file of `--web`. tower-http answers 500 when the file system refuses a path the client
/// made up (a name over the file system's limit; a target that is not a path, such as
/// `GET host:80 HTTP/1.1`, whose redirect to the directory's `/` cannot be built). No such
/// request names a file, so it gets the JSON 404; the status goes to the debug log in case it
/// was the directory itself that failed.
async fn static_file(files: ServeDir<MethodRouter>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let response = match files.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if response.status().is_server_error() {
        tracing::debug!(%path, status = %response.status(), "static file not served");
        return not_found().await.into_response();
    }
    response.into_response()
}

/// Runs each HTTP request in a span `req` with a process-wide request id, its method and
/// path, so every log line it causes says which request it belongs to; its status is logged
/// at debug level (an access log: `RUST_LOG=roomcast_server::http=debug`).
async fn request_span(request: Request, next: axum::middleware::Next) -> Response {
    use std::sync::atomic::{AtomicU64, Ordering};
    use tracing::Instrument;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!(
        "req",
        id,
        method = %request.method(),
        path = %request.uri().path()
    );
    async move {
        let response = next.run(request).await;
        tracing::debug!(status = response.status().as_u16(), "answered");
        response
    }
    .instrument(span)
    .await
}

/// A JSON error answer: `{"code":..,"message":..}`.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"code": self.code, "message": self.message})),
        )
            .into_response()
    }
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// Bytes read from a WebSocket at a time. tungstenite zero-fills its whole read buffer before
/// the first read, so every connection keeps it resident: 1 KiB holds a `hello` with its token
/// or a typical publish in one read, and costs 3 KiB less per connection than 4 KiB did
/// (docs/benchmarks.md). Larger frames are read in several chunks.
const READ_BUFFER: usize = 1024;

/// The WebSocket upgrade. Over `max_conns_per_ip` it is refused before upgrading (HTTP 429
/// with `Retry-After`): cheaper than accepting and closing, and every client treats a failed
/// upgrade as a failed attempt and backs off.
async fn ws(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(slot) = state.ip_limit.acquire(peer.ip()) else {
        tracing::debug!(ip = %peer.ip(), "too many connections from this address");
        crate::metrics::metrics().refused_conns_per_ip.inc();
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("at most {} connections per address", state.ip_limit.max()),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return response;
    };
    let limit = state.config.transport_limit();
    upgrade
        // tungstenite's default 128 KiB read buffer is zero-filled before every read, so it
        // stays resident for every connection; protocol frames are small and a frame larger
        // than the buffer is still read whole, in several chunks.
        .read_buffer_size(READ_BUFFER)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| async move {
            connection::run(socket, state).await;
            drop(slot);
        })
}

/// 200 `ok` while the store can read and write; 503 `unavailable` with a `reason` otherwise,
/// so a load balancer or an operator sees a broken store instead of a wall of 500s.
async fn health(State(state): State<Arc<AppState>>) -> Response {
    let problem = state.engine.health().await.err();
    let mut body = json!({
        "status": if problem.is_some() { "unavailable" } else { "ok" },
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": state.started.elapsed().as_secs(),
        "connections": state.hub.stats().connections,
    });
    match problem {
        None => Json(body).into_response(),
        Some(reason) => {
            tracing::warn!(%reason, "unhealthy");
            body["reason"] = Value::String(reason);
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// Aggregates for anyone; room names, per-room counts and client sources only with an
/// operator token (`"stats": true`), since they tell who talks where.
async fn stats(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let detail = match bearer(&headers) {
        None => false,
        Some(token) => {
            state.auth.verify_operator(token).map_err(|e| match e {
                AuthError::NotOperator => {
                    ApiError::new(StatusCode::FORBIDDEN, "forbidden", e.to_string())
                }
                _ => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()),
            })?;
            true
        }
    };
    let hub = state.hub.stats();
    let stored = state.engine.stats().await.map_err(|e| internal(&e))?;
    let mut body = json!({
        "connections": hub.connections,
        "rooms": hub.rooms + state.engine.extra_local_rooms(),
        "messages_stored": stored.messages_stored,
    });
    if detail {
        let per_room: BTreeMap<String, u64> = stored.messages_per_room.into_iter().collect();
        body["connections_by_source"] = json!(hub.connections_by_source);
        body["messages_per_room"] = json!(per_room);
    }
    Ok(Json(body))
}

fn internal(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "internal error");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
}

/// The token of an `Authorization: Bearer <JWT>` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// Checks the Bearer token and that it allows `room`.
async fn authorize(state: &AppState, headers: &HeaderMap, room: &str) -> Result<Claims, ApiError> {
    validate::room(room).map_err(ApiError::bad_request)?;
    let token = bearer(headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing Authorization: Bearer <JWT>",
        )
    })?;
    let claims = state.auth.verify_any(token).await.map_err(|e: AuthError| {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string())
    })?;
    if state.blocked(&claims.sub) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this user is blocked by an operator",
        ));
    }
    if !claims.permits(room) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("the token does not allow room {room}"),
        ));
    }
    Ok(claims)
}

/// `before` and `limit` from a query string.
fn parse_query(raw: Option<&str>) -> Result<(Option<u64>, u32), ApiError> {
    let mut before = None;
    let mut limit = DEFAULT_HISTORY_LIMIT;
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "before" if !value.is_empty() => {
                before =
                    Some(value.parse::<u64>().map_err(|_| {
                        ApiError::bad_request("before must be a non-negative integer")
                    })?);
            }
            "limit" if !value.is_empty() => {
                let n = value
                    .parse::<u32>()
                    .map_err(|_| ApiError::bad_request("limit must be a non-negative integer"))?;
                limit = n.clamp(1, MAX_HISTORY_LIMIT);
            }
            _ => {}
        }
    }
    Ok((before, limit))
}

async fn get_messages(
    State(state): State<Arc<AppState>>,
    Path(room): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, &room).await?;
    let (before, limit) = parse_query(query.as_deref())?;
    crate::metrics::metrics().history_pages_http.inc();
    let page = state
        .engine
        .history(room, before, limit)
        .await
        .map_err(|e| internal(&e))?;
    // Written by the protocol's own writer, straight from the stored items: each payload goes
    // out as the raw text it was stored as (no JSON tree is built, and no stored value,
    // however deep, can fail to serialize), and appends whose opening message the page lacks
    // are items with "type":"append" in seq order, as in a `history` frame.
    let mut body = String::with_capacity(256);
    let mut o = Object::open(&mut body);
    write_history_items(&mut o, "messages", &page.messages, &page.appends);
    o.bool("more", page.more);
    o.end();
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Reads a request body of at most `max_frame` bytes within `request_timeout_ms`. Over the
/// limit (declared or sent) is the documented JSON 413 `too_large`, read no further; a body
/// that trickles in slower than the timeout gets 408, so a slow sender cannot hold a task.
async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let max = state.config.max_frame;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is over max_frame {max} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX)) {
        return Err(too_large());
    }
    let wait = Duration::from_millis(state.config.request_timeout_ms);
    match tokio::time::timeout(wait, axum::body::to_bytes(body, max)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        // Over the limit, or the body broke off (then nobody reads the answer anyway).
        Ok(Err(_)) => Err(too_large()),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "bad_request",
            "the request body did not arrive in time",
        )),
    }
}

#[derive(Deserialize)]
struct PostBody {
    id: String,
    event: String,
    #[serde(default)]
    data: Payload,
    #[serde(default)]
    stream: bool,
}

/// The body of `POST /rooms/{room}/messages/{id}/append`.
#[derive(Deserialize)]
struct AppendBody {
    n: u64,
    text: String,
    #[serde(default)]
    end: Option<StreamState>,
}

/// Answers 429 with `Retry-After` when `user`'s HTTP bucket is empty.
fn rate_limited(state: &AppState, user: &str) -> Option<Response> {
    let wait = state.http_rate(user).err()?;
    crate::metrics::metrics().refused_http_rate.inc();
    let secs = wait.as_secs() + 1;
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("at most {} messages per second", state.config.publish_rate),
    )
    .into_response();
    if let Ok(v) = header::HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Some(response)
}

fn unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "internal",
        "the store is not available",
    )
}

/// The answer to a stored write: 201 `{seq, ts}`, 200 with the original for a repeat, or the
/// error the stream rules refused it with.
async fn stored_answer(
    rx: oneshot::Receiver<Result<Stored, EngineError>>,
) -> Result<Response, ApiError> {
    let stored = match rx.await.map_err(|_| unavailable())? {
        Ok(stored) => stored,
        Err(EngineError::Refused { code, message }) => {
            let status = match code {
                ErrorCode::NotFound => StatusCode::NOT_FOUND,
                ErrorCode::StreamEnded => StatusCode::CONFLICT,
                ErrorCode::Forbidden => StatusCode::FORBIDDEN,
                ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            return Err(ApiError::new(status, code.as_str(), message));
        }
        Err(e) => return Err(internal(&e)),
    };
    let status = if stored.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(json!({"seq": stored.seq, "ts": stored.ts}))).into_response())
}

async fn post_append(
    State(state): State<Arc<AppState>>,
    Path((room, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let claims = authorize(&state, &headers, &room).await?;
    validate::message_id(&id).map_err(ApiError::bad_request)?;
    if let Some(response) = rate_limited(&state, &claims.sub) {
        return Ok(response);
    }
    let body = read_body(&state, &headers, body).await?;
    let body: AppendBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?;
    if body.end == Some(StreamState::Open) {
        return Err(ApiError::bad_request(
            "end must be done, cancelled or failed",
        ));
    }
    let (tx, rx) = oneshot::channel();
    let cmd = AppendCmd {
        room,
        id,
        op: AppendOp::Append {
            n: body.n,
            text: body.text,
            end: body.end,
        },
        from: Member {
            user: claims.sub,
            client: HTTP_CLIENT.into(),
            source: HTTP_SOURCE.into(),
            name: None,
        },
        origin: Origin::Http(tx),
    };
    state.engine.append(cmd).await.map_err(|_| unavailable())?;
    stored_answer(rx).await
}

async fn post_messages(
    State(state): State<Arc<AppState>>,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let claims = authorize(&state, &headers, &room).await?;
    if let Some(response) = rate_limited(&state, &claims.sub) {
        return Ok(response);
    }
    let body = read_body(&state, &headers, body).await?;
    let body: PostBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?;
    validate::message_id(&body.id)
        .and_then(|()| validate::event(&body.event))
        .and_then(|()| validate::data_depth(body.data.json()))
        .map_err(ApiError::bad_request)?;
    let (tx, rx) = oneshot::channel();
    crate::metrics::metrics().publishes_http.inc();
    let cmd = PublishCmd {
        room,
        id: body.id,
        event: body.event,
        data: body.data,
        from: Member {
            user: claims.sub,
            client: HTTP_CLIENT.into(),
            source: HTTP_SOURCE.into(),
            name: None,
        },
        stream: body.stream,
        origin: Origin::Http(tx),
    };
    state.engine.publish(cmd).await.map_err(|_| unavailable())?;
    stored_answer(rx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query() {
        assert_eq!(parse_query(None).unwrap(), (None, 50));
        assert_eq!(
            parse_query(Some("before=10&limit=5")).unwrap(),
            (Some(10), 5)
        );
        assert_eq!(parse_query(Some("limit=100000")).unwrap(), (None, 500));
        assert!(parse_query(Some("before=x")).is_err());
    }
}
