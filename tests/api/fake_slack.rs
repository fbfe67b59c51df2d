//! A local stand-in for Slack's Web API (and the `response_url`s it hands out): answers as Slack
//! documents and records every call.
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

pub const TOKEN: &str = "xoxb-test-token";
pub const APP_TOKEN: &str = "xapp-test-token";

#[derive(Clone, Debug)]
pub struct Call {
    /// `chat.postMessage`, `chat.update`, `views.open`, or `response_url`.
    pub method: String,
    pub body: Value,
    /// Whether the fake answered `ok`.
    pub ok: bool,
}

/// An answer to give instead of success: HTTP status, Slack's `error`, `Retry-After` seconds.
pub type Forced = (u16, &'static str, Option<u64>);

#[derive(Default)]
struct FakeState {
    calls: Mutex<Vec<Call>>,
    forced: Mutex<VecDeque<Forced>>,
    next_ts: AtomicU64,
    /// What `apps.connections.open` hands out (a local WebSocket server's URL).
    socket_url: Mutex<String>,
}

pub struct FakeSlack {
    pub url: String,
    state: Arc<FakeState>,
}

async fn api(
    State(s): State<Arc<FakeState>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let token = if method == "apps.connections.open" {
        APP_TOKEN
    } else {
        TOKEN
    };
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {token}"));
    let forced = if authorized {
        s.forced.lock().unwrap().pop_front()
    } else {
        Some((200, "not_authed", None))
    };
    s.calls.lock().unwrap().push(Call {
        method: method.clone(),
        body: body.clone(),
        ok: forced.is_none(),
    });
    if let Some((status, error, retry_after)) = forced {
        let mut res = (
            StatusCode::from_u16(status).unwrap(),
            Json(json!({ "ok": false, "error": error })),
        )
            .into_response();
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
        }
        return res;
    }
    let ts = format!("1700000000.{:06}", s.next_ts.fetch_add(1, Ordering::SeqCst));
    match method.as_str() {
        // A user id as the channel posts in the bot's direct messages with them (a D… channel).
        "chat.postMessage" => Json(
            json!({ "ok": true, "channel": dm_channel(&body["channel"]), "ts": ts,
            "message": { "text": body["text"], "blocks": body["blocks"] } }),
        ),
        "chat.update" => Json(
            json!({ "ok": true, "channel": body["channel"], "ts": body["ts"],
            "text": body["text"] }),
        ),
        "views.open" => Json(json!({ "ok": true, "view": { "id": "V0001" } })),
        "apps.connections.open" => {
            Json(json!({ "ok": true, "url": s.socket_url.lock().unwrap().clone() }))
        }
        _ => Json(json!({ "ok": false, "error": "unknown_method" })),
    }
    .into_response()
}

fn dm_channel(channel: &Value) -> Value {
    match channel.as_str() {
        Some(c) if c.starts_with('U') => json!(format!("D{}", &c[1..])),
        _ => channel.clone(),
    }
}

async fn response_url(State(s): State<Arc<FakeState>>, Json(body): Json<Value>) -> Response {
    s.calls.lock().unwrap().push(Call {
        method: "response_url".into(),
        body,
        ok: true,
    });
    StatusCode::OK.into_response()
}

impl FakeSlack {
    pub async fn start() -> Self {
        let state = Arc::new(FakeState::default());
        let app = Router::new()
            .route("/api/{method}", post(api))
            .route("/respond/{id}", post(response_url))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, state }
    }

    pub fn set_socket_url(&self, url: &str) {
        *self.state.socket_url.lock().unwrap() = url.to_string();
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    /// The next API calls answer these instead of succeeding.
    pub fn fail_next(&self, answers: impl IntoIterator<Item = Forced>) {
        self.state.forced.lock().unwrap().extend(answers);
    }

    /// Waits (at most 10 s) until a successful call satisfies `pred`; returns the latest.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Call) -> bool) -> Call {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(c) = self.calls().into_iter().rev().find(|c| c.ok && pred(c)) {
                return c;
            }
            assert!(
                Instant::now() < deadline,
                "Slack never received: {what}; calls: {:#?}",
                self.calls()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The status line (the context block) of a message's blocks.
pub fn status_of(body: &Value) -> String {
    body["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["type"] == "context")
        .and_then(|b| b["elements"][0]["text"].as_str())
        .unwrap_or("")
        .to_string()
}

/// The action ids of a message's controls (`duration`, `approve`, `deny`, `revoke`).
pub fn action_ids(body: &Value) -> Vec<String> {
    body["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["action_id"].as_str().map(str::to_string))
        .collect()
}

/// The message (by its header) that shows request `id`.
pub fn shows(body: &Value, id: i64) -> bool {
    body["blocks"][0]["text"]["text"]
        .as_str()
        .is_some_and(|t| t.contains(&format!(" request #{id}:")))
}
