//! `POST /slack/interactions`: Slack's signed calls (`X-Slack-Signature`: `v0=` and the hex
//! HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the app's signing secret).
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::chat::slack::interactions::{handle, Payload, Reply};
use crate::server::context::Context;

/// Older signed timestamps are refused, so a captured request cannot be replayed later.
const MAX_AGE_SECS: i64 = 5 * 60;

/// Is `signature` Slack's for `timestamp` and `body`? Compared in constant time.
pub fn signed(secret: &[u8], timestamp: &str, body: &[u8], signature: &str) -> bool {
    let Some(given) = signature
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    if secret.is_empty() {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

pub async fn interactions(
    State(ctx): State<Arc<Context>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(slack) = ctx.slack.as_ref().filter(|s| s.app_token.is_none()) else {
        // Off, or in Socket Mode, where nothing signed arrives here.
        return (
            StatusCode::NOT_FOUND,
            "Slack interactions do not come here\n",
        )
            .into_response();
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(signature), Some(timestamp)) = (
        header("x-slack-signature"),
        header("x-slack-request-timestamp"),
    ) else {
        return (StatusCode::UNAUTHORIZED, "missing signature\n").into_response();
    };
    if !signed(&slack.signing_secret, timestamp, &body, signature) {
        return (StatusCode::UNAUTHORIZED, "invalid request signature\n").into_response();
    }
    let now = ctx.clock.now_ms() / 1000;
    match timestamp.parse::<i64>() {
        Ok(t) if (now - t).abs() <= MAX_AGE_SECS => {}
        _ => return (StatusCode::UNAUTHORIZED, "stale or malformed timestamp\n").into_response(),
    }
    let payload = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned());
    let parsed: Payload = match payload.as_deref().map(serde_json::from_str) {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("unreadable payload: {e}\n"),
            )
                .into_response()
        }
        None => return (StatusCode::BAD_REQUEST, "no payload\n").into_response(),
    };
    match handle(&ctx, slack, &parsed).await {
        Reply::Empty => StatusCode::OK.into_response(),
        Reply::Json(v) => Json(v).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::signed;

    #[test]
    fn slacks_own_example_signature_verifies() {
        // From Slack's "Verifying requests from Slack" page.
        let secret = b"8f742231b10e8888abcd99yyyzzz85a5";
        let ts = "1531420618";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let sig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert!(signed(secret, ts, body, sig));
        assert!(!signed(secret, "1531420619", body, sig));
        assert!(!signed(b"other", ts, body, sig));
        assert!(!signed(secret, ts, body, "a2114d57b48eac39"));
        assert!(!signed(secret, ts, body, "v0=zz"));
    }
}
