//! Slack's Web API: the few methods daypass calls, with Slack's errors sorted into "try again
//! later" (outages, rate limits, honouring `Retry-After`) and "never" (a refused token).
use std::time::Duration;

use serde_json::{json, Value};

use crate::config::SlackConfig;
use crate::notify::SendError;

#[derive(Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    api_base: String,
    token: String,
    pub channel: String,
}

/// Errors after which trying again cannot help.
const PERMANENT: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
    "missing_scope",
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "msg_too_long",
    "invalid_blocks",
    "message_not_found",
    "cant_update_message",
];

impl SlackClient {
    pub fn new(config: &SlackConfig, token: String) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            api_base: config.api_base.clone(),
            token,
            channel: config.channel_id.clone(),
        })
    }

    /// Calls Web API `method` with a JSON body; the answer when Slack says `ok`.
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, SendError> {
        self.call_as(&self.token, method, body).await
    }

    /// Asks for a Socket Mode WebSocket URL with the app-level token.
    pub async fn open_connection(&self, app_token: &str) -> Result<String, SendError> {
        let answer = self
            .call_as(app_token, "apps.connections.open", &json!({}))
            .await?;
        answer["url"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SendError::temporary("Slack's apps.connections.open answer has no url"))
    }

    async fn call_as(&self, token: &str, method: &str, body: &Value) -> Result<Value, SendError> {
        let url = format!("{}/{method}", self.api_base);
        let response = self
            .http
            .post(&url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(|e| SendError::temporary(format!("Slack {method}: {e}")))?;
        let status = response.status();
        let retry_after_ms = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
            .map(|secs| secs.clamp(0, 3600) * 1000);
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        let error = answer["error"].as_str().unwrap_or("no answer");
        if status.is_success() && answer["ok"] == json!(true) {
            return Ok(answer);
        }
        let message = format!("Slack answered {} to {method}: {error}", status.as_u16());
        let rate_limited = status.as_u16() == 429 || error == "ratelimited";
        let permanent = !rate_limited
            && !status.is_server_error()
            && (status.is_client_error() || PERMANENT.contains(&error));
        Err(SendError {
            message,
            permanent,
            retry_after_ms: if rate_limited {
                Some(retry_after_ms.unwrap_or(60_000))
            } else {
                None
            },
        })
    }

    /// Posts a message to `channel` (or a user's direct messages); returns its `ts` and the
    /// channel it is in.
    pub async fn post(
        &self,
        channel: &str,
        text: &str,
        blocks: &Value,
    ) -> Result<(String, String), SendError> {
        let body = json!({ "channel": channel, "text": text, "blocks": blocks,
            "unfurl_links": false, "unfurl_media": false });
        let answer = self.call("chat.postMessage", &body).await?;
        let ts = answer["ts"]
            .as_str()
            .ok_or_else(|| SendError::temporary("Slack's chat.postMessage answer has no ts"))?;
        let in_channel = answer["channel"].as_str().unwrap_or(channel);
        Ok((ts.to_string(), in_channel.to_string()))
    }

    pub async fn update(
        &self,
        channel: &str,
        ts: &str,
        text: &str,
        blocks: &Value,
    ) -> Result<(), SendError> {
        let body = json!({ "channel": channel, "ts": ts, "text": text, "blocks": blocks });
        self.call("chat.update", &body).await.map(|_| ())
    }

    /// Opens a modal for the click that gave `trigger_id` (valid for 3 seconds).
    pub async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), SendError> {
        let body = json!({ "trigger_id": trigger_id, "view": view });
        self.call("views.open", &body).await.map(|_| ())
    }

    /// Answers a click through its `response_url` (a note only the clicker sees, for one).
    pub async fn respond(&self, response_url: &str, body: &Value) -> Result<(), SendError> {
        self.http
            .post(response_url)
            .json(body)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map(|_| ())
            .map_err(|e| SendError::temporary(format!("Slack response_url: {e}")))
    }
}
