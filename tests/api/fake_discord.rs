//! A local stand-in for Discord's REST API: answers as Discord documents and records every call.
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::{Json, Router};
use serde_json::{json, Value};

#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub body: Value,
    /// What the fake answered.
    pub status: u16,
}

#[derive(Default)]
struct FakeState {
    calls: Mutex<Vec<Call>>,
    /// Answers to give instead of success, one per call, in order.
    forced: Mutex<VecDeque<(u16, Value)>>,
    next_id: AtomicU64,
}

pub struct FakeDiscord {
    pub url: String,
    state: Arc<FakeState>,
}

pub fn message_json(id: &str, channel: &str) -> Value {
    json!({
        "id": id, "channel_id": channel,
        "author": { "id": "900000000000000001", "username": "daypass", "discriminator": "0000",
                    "global_name": null, "avatar": null, "bot": true, "public_flags": 0 },
        "content": "", "timestamp": "2026-11-25T10:00:00.000000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": [], "components": [], "pinned": false, "type": 0, "flags": 0
    })
}

async fn record(state: &FakeState, method: Method, path: String, body: Value) -> Option<Response> {
    let forced = state.forced.lock().unwrap().pop_front();
    let status = forced.as_ref().map(|f| f.0).unwrap_or(200);
    state.calls.lock().unwrap().push(Call {
        method,
        path,
        body,
        status,
    });
    forced.map(|(code, body)| {
        let code = StatusCode::from_u16(code).unwrap();
        let mut res = (code, Json(body.clone())).into_response();
        if let Some(after) = body.get("retry_after").and_then(Value::as_f64) {
            res.headers_mut()
                .insert("retry-after", after.ceil().to_string().parse().unwrap());
        }
        res
    })
}

async fn create_message(
    State(s): State<Arc<FakeState>>,
    Path(channel): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(forced) = record(
        &s,
        Method::POST,
        format!("/api/v10/channels/{channel}/messages"),
        body,
    )
    .await
    {
        return forced;
    }
    let id = (1_200_000_000_000_000_000 + s.next_id.fetch_add(1, Ordering::SeqCst)).to_string();
    Json(message_json(&id, &channel)).into_response()
}

async fn edit_message(
    State(s): State<Arc<FakeState>>,
    Path((channel, id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(forced) = record(
        &s,
        Method::PATCH,
        format!("/api/v10/channels/{channel}/messages/{id}"),
        body,
    )
    .await
    {
        return forced;
    }
    Json(message_json(&id, &channel)).into_response()
}

async fn interaction_callback(
    State(s): State<Arc<FakeState>>,
    Path((id, token)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(forced) = record(
        &s,
        Method::POST,
        format!("/api/v10/interactions/{id}/{token}/callback"),
        body,
    )
    .await
    {
        return forced;
    }
    StatusCode::NO_CONTENT.into_response()
}

impl FakeDiscord {
    pub async fn start() -> Self {
        let state = Arc::new(FakeState::default());
        let app = Router::new()
            .route("/api/v10/channels/{channel}/messages", post(create_message))
            .route(
                "/api/v10/channels/{channel}/messages/{id}",
                patch(edit_message),
            )
            .route(
                "/api/v10/interactions/{id}/{token}/callback",
                post(interaction_callback),
            )
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, state }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    /// The next calls answer these instead of succeeding.
    pub fn fail_next(&self, answers: impl IntoIterator<Item = (u16, Value)>) {
        self.state.forced.lock().unwrap().extend(answers);
    }

    /// Waits (at most 10 s) until a successful call satisfies `pred`; returns it.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Call) -> bool) -> Call {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(c) = self
                .calls()
                .into_iter()
                .rev()
                .find(|c| c.status == 200 && pred(c))
            {
                return c;
            }
            assert!(
                Instant::now() < deadline,
                "Discord never received: {what}; calls: {:#?}",
                self.calls()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The status text of the first embed of a message body.
pub fn status_of(body: &Value) -> String {
    body["embeds"][0]["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "Status"))
        .and_then(|f| f["value"].as_str())
        .unwrap_or("")
        .to_string()
}

/// Every component's custom_id in a message body.
pub fn custom_ids(body: &Value) -> Vec<String> {
    body["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["custom_id"].as_str().map(str::to_string))
        .collect()
}
