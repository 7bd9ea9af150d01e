//! The operator's endpoints: `/metrics` (Prometheus), `/livez` and `/readyz`, and the admin
//! API. With `--internal-listen ADDR` they are served there, without credentials (bind it to
//! a private address); the public listener then does not serve `/metrics` or the admin API
//! at all. Without it they are on the public listener, `/metrics` and the admin API behind an
//! operator credential (see [`operator`]). `/livez` and `/readyz` are on both.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::metrics::{self, Gauges};
use crate::state::AppState;

/// Whether a request reached the internal listener (trusted) or the public one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Public,
    Internal,
}

/// The routes of the internal listener.
pub fn router(state: Arc<AppState>) -> Router {
    let r = Router::new()
        .route("/metrics", get(metrics_internal))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/health", get(readyz));
    crate::admin::routes(r, Listener::Internal)
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                Json(json!({"code":"not_found","message":"no such endpoint"})),
            )
        })
        .with_state(state)
}

/// `/livez`: the process serves requests. Nothing else is checked, so a Redis or disk blip
/// never gets the process restarted.
pub async fn livez() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `/readyz`: 200 while the store (or Redis) answers and the server is not shutting down;
/// 503 `draining` once shutdown began, 503 `unavailable` with a `reason` while the backend
/// cannot serve. A load balancer takes the node out of rotation; the process stays up.
pub async fn readyz(axum::extract::State(state): axum::extract::State<Arc<AppState>>) -> Response {
    if *state.shutdown.borrow() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "draining"})),
        )
            .into_response();
    }
    match state.engine.health().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "reason": reason})),
        )
            .into_response(),
    }
}

/// The Prometheus text exposition.
pub fn exposition(state: &AppState) -> Response {
    let hub = state.hub.stats();
    let gauges = Gauges {
        connections_by_source: hub.connections_by_source.into_iter().collect(),
        rooms: hub.rooms + state.engine.extra_local_rooms(),
        retention_items: state.trims.items.load(Ordering::Relaxed),
        retention_steps: state.trims.steps.load(Ordering::Relaxed),
        uptime_s: state.started.elapsed().as_secs(),
        draining: *state.shutdown.borrow(),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics::render(&gauges),
    )
        .into_response()
}

async fn metrics_internal(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> Response {
    exposition(&state)
}

/// `/metrics` on the public listener: only when no internal listener is configured, and only
/// for an operator credential.
pub async fn metrics_public(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    if state.config.internal_listen.is_some() {
        return crate::admin::not_here();
    }
    if let Err(e) = crate::admin::operator(&state, &headers) {
        return e.into_response();
    }
    exposition(&state)
}
