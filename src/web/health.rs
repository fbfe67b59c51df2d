//! `/healthz` and `/metrics`.
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::context::Context;

pub async fn healthz(State(ctx): State<Arc<Context>>) -> Response {
    let db = ctx.store.ping().await.is_ok();
    let backlog = ctx.store.outbox_backlog().await.unwrap_or(-1);
    let status = if db {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if db { "ok" } else { "unavailable" },
        "database": if db { "ok" } else { "unreachable" },
        "outbox_backlog": backlog,
    });
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

pub async fn metrics(State(ctx): State<Arc<Context>>) -> Response {
    let now = ctx.clock.now_ms();
    let backlog = ctx.store.outbox_backlog().await.unwrap_or(-1);
    let body = format!(
        "# HELP daypass_live_grants Grants that let someone through right now.\n\
         # TYPE daypass_live_grants gauge\ndaypass_live_grants {}\n\
         # HELP daypass_outbox_backlog Notifications waiting to be delivered.\n\
         # TYPE daypass_outbox_backlog gauge\ndaypass_outbox_backlog {}\n",
        ctx.cache.live_grant_count(now),
        backlog
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
