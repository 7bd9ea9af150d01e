//! The admin API: disconnect a user, a room's presence, the rooms with counts, reset a room's
//! history, erase a user's messages.
//!
//! On the internal listener (`--internal-listen`) it needs no credential. On the public
//! listener it exists only when no internal listener is configured and an admin key is
//! (`--admin-key` / `ROOMCAST_ADMIN_KEY`), and then needs `Authorization: Bearer <admin key>`,
//! compared in constant time; a user token, even an operator's, is refused.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use roomcast_core::protocol::close;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::http::{bearer, ApiError};
use crate::internal::Listener;
use crate::state::AppState;
use crate::validate;

/// Equal in constant time (for equal lengths; a length mismatch answers at once).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The 404 of an endpoint not served on this listener.
pub fn not_here() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// Whether the request carries the admin key.
fn has_admin_key(state: &AppState, headers: &HeaderMap) -> bool {
    match (&state.config.admin_key, bearer(headers)) {
        (Some(key), Some(given)) => constant_time_eq(key.as_bytes(), given.as_bytes()),
        _ => false,
    }
}

/// An operator credential for `/metrics` on the public listener: the admin key, or an
/// operator token (`"stats": true`, as for `/stats`).
pub fn operator(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if has_admin_key(state, headers) {
        return Ok(());
    }
    let token = bearer(headers).ok_or_else(|| {
        unauthorized("missing Authorization: Bearer <admin key or operator token>")
    })?;
    state
        .auth
        .verify_operator(token)
        .map(|_| ())
        .map_err(|e| unauthorized(&e.to_string()))
}

/// Lets an admin request through: always on the internal listener; on the public one, with
/// the admin key and only when no internal listener is configured.
fn admin(state: &AppState, headers: &HeaderMap, listener: Listener) -> Result<(), Box<Response>> {
    if listener == Listener::Internal {
        return Ok(());
    }
    if state.config.internal_listen.is_some() || state.config.admin_key.is_none() {
        return Err(Box::new(not_here()));
    }
    if has_admin_key(state, headers) {
        Ok(())
    } else {
        Err(Box::new(
            unauthorized("the admin API needs Authorization: Bearer <admin key>").into_response(),
        ))
    }
}

fn failed(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "admin request failed");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()).into_response()
}

/// Adds the admin routes, answering as on `listener`.
pub fn routes(r: Router<Arc<AppState>>, listener: Listener) -> Router<Arc<AppState>> {
    r.route(
        "/admin/rooms",
        get(move |s: State<Arc<AppState>>, h: HeaderMap| rooms(s, h, listener)),
    )
    .route(
        "/admin/rooms/{room}/presence",
        get(
            move |s: State<Arc<AppState>>, h: HeaderMap, p: Path<String>| {
                presence(s, h, p, listener)
            },
        ),
    )
    .route(
        "/admin/rooms/{room}/messages",
        delete(
            move |s: State<Arc<AppState>>, h: HeaderMap, p: Path<String>| {
                reset_room(s, h, p, listener)
            },
        ),
    )
    .route(
        "/admin/users/{user}/disconnect",
        post(
            move |s: State<Arc<AppState>>, h: HeaderMap, p: Path<String>, b: axum::body::Bytes| {
                disconnect(s, h, p, b, listener)
            },
        ),
    )
    .route(
        "/admin/users/{user}/messages",
        delete(
            move |s: State<Arc<AppState>>, h: HeaderMap, p: Path<String>, q: RawQuery| {
                erase_user(s, h, p, q, listener)
            },
        ),
    )
}

/// `GET /admin/rooms`: every room with stored items, how many, and its members on this node.
async fn rooms(State(state): State<Arc<AppState>>, headers: HeaderMap, l: Listener) -> Response {
    if let Err(r) = admin(&state, &headers, l) {
        return *r;
    }
    let stored = match state.engine.stats().await {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    let members: std::collections::HashMap<String, usize> =
        state.hub.room_members().into_iter().collect();
    let mut rooms: Vec<Value> = stored
        .messages_per_room
        .iter()
        .map(|(room, n)| json!({"room": room, "stored": n, "members_here": members.get(room).copied().unwrap_or(0)}))
        .collect();
    for (room, n) in &members {
        if !stored.messages_per_room.iter().any(|(r, _)| r == room) {
            rooms.push(json!({"room": room, "stored": 0, "members_here": n}));
        }
    }
    Json(json!({"rooms": rooms})).into_response()
}

/// `GET /admin/rooms/{room}/presence`: who is in the room (every node's members with Redis).
async fn presence(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(room): Path<String>,
    l: Listener,
) -> Response {
    if let Err(r) = admin(&state, &headers, l) {
        return *r;
    }
    if let Err(e) = validate::room(&room) {
        return ApiError::bad_request(e).into_response();
    }
    match state.engine.presence(&state.hub, &room).await {
        Ok(members) => Json(json!({"room": room, "members": members})).into_response(),
        Err(e) => failed(&e),
    }
}

/// `DELETE /admin/rooms/{room}/messages`: the room's history is deleted and it gets a new
/// epoch; its members are closed with 1001 and rejoin into the new epoch.
async fn reset_room(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(room): Path<String>,
    l: Listener,
) -> Response {
    if let Err(r) = admin(&state, &headers, l) {
        return *r;
    }
    if let Err(e) = validate::room(&room) {
        return ApiError::bad_request(e).into_response();
    }
    match state.engine.reset_room(room.clone()).await {
        Ok(epoch) => {
            tracing::warn!(%room, %epoch, "room history reset by an operator");
            Json(json!({"room": room, "epoch": epoch})).into_response()
        }
        Err(e) => failed(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisconnectBody {
    /// Only this client id's connections.
    client: Option<String>,
    /// The close code (default 4001: the SDK asks its token provider for a new token).
    code: Option<u16>,
    /// Refuse this user's tokens on this node for so many seconds.
    block_s: Option<u64>,
}

/// `POST /admin/users/{user}/disconnect`: closes the user's connections on this node now.
async fn disconnect(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(user): Path<String>,
    body: axum::body::Bytes,
    l: Listener,
) -> Response {
    if let Err(r) = admin(&state, &headers, l) {
        return *r;
    }
    let body: DisconnectBody = if body.iter().all(u8::is_ascii_whitespace) {
        DisconnectBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => return ApiError::bad_request(e.to_string()).into_response(),
        }
    };
    let code = body.code.unwrap_or(close::UNAUTHORIZED);
    if !(code == 1000 || code == 1001 || (4000..5000).contains(&code)) {
        return ApiError::bad_request("code must be 1000, 1001 or 4000-4999").into_response();
    }
    if let Some(s) = body.block_s.filter(|s| *s > 0) {
        state.block(&user, Duration::from_secs(s.min(366 * 86_400)));
    }
    let n = state.hub.disconnect(&user, body.client.as_deref(), code);
    crate::metrics::metrics().kicks.add(n as u64);
    tracing::warn!(%user, client = ?body.client, code, n, block_s = ?body.block_s, "disconnected by an operator");
    Json(json!({"user": user, "disconnected": n})).into_response()
}

/// `DELETE /admin/users/{user}/messages[?room=R]`: erases the user's messages.
async fn erase_user(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(user): Path<String>,
    RawQuery(query): RawQuery,
    l: Listener,
) -> Response {
    if let Err(r) = admin(&state, &headers, l) {
        return *r;
    }
    let room = query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .find_map(|p| p.strip_prefix("room="))
        .map(str::to_string);
    if let Some(room) = &room {
        if let Err(e) = validate::room(room) {
            return ApiError::bad_request(e).into_response();
        }
    }
    match state.engine.erase_user(user.clone(), room.clone()).await {
        Ok(n) => {
            tracing::warn!(%user, ?room, n, "messages erased by an operator");
            Json(json!({"user": user, "room": room, "erased": n})).into_response()
        }
        Err(e) => failed(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
