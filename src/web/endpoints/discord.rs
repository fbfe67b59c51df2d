//! `POST /discord/interactions`: Discord's signed calls (Ed25519 over timestamp + raw body).
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::chat::discord::interactions::{handle, Interaction, PING};
use crate::server::context::Context;

/// Older signed timestamps are refused, so a captured request cannot be replayed later.
const MAX_AGE_SECS: i64 = 5 * 60;

pub async fn interactions(
    State(ctx): State<Arc<Context>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(discord) = &ctx.discord else {
        return (StatusCode::NOT_FOUND, "Discord is not enabled\n").into_response();
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(signature), Some(timestamp)) = (
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
    ) else {
        return (StatusCode::UNAUTHORIZED, "missing signature\n").into_response();
    };
    if discord
        .verifier
        .verify(signature, timestamp, &body)
        .is_err()
    {
        return (StatusCode::UNAUTHORIZED, "invalid request signature\n").into_response();
    }
    let now = ctx.clock.now_ms() / 1000;
    match timestamp.parse::<i64>() {
        Ok(t) if (now - t).abs() <= MAX_AGE_SECS => {}
        _ => return (StatusCode::UNAUTHORIZED, "stale or malformed timestamp\n").into_response(),
    }
    let interaction: Interaction = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("unreadable interaction: {e}\n"),
            )
                .into_response()
        }
    };
    if interaction.kind == PING {
        // Exactly what Discord's endpoint check expects.
        return Json(serde_json::json!({ "type": 1 })).into_response();
    }
    Json(handle(&ctx, &interaction).await).into_response()
}
