//! Talking to Discord's REST API: posting and editing the request messages. serenity builds the
//! message bodies; the calls are plain HTTPS, so that a rate limit's `retry_after` (which
//! serenity's client keeps to itself) reaches the outbox, which waits exactly that long.
use std::time::Duration;

use serde_json::Value;
use serenity::all::{CreateMessage, EditMessage};

use crate::config::DiscordConfig;
use crate::notify::SendError;

#[derive(Clone)]
pub struct DiscordClient {
    http: reqwest::Client,
    api_base: String,
    token: String,
    /// The configured `discord.channel_id`.
    pub channel: String,
}

impl DiscordClient {
    pub fn new(config: &DiscordConfig, token: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("DiscordBot (https://github.com/daypass, 1) daypass")
            .build()?;
        Ok(Self {
            http,
            api_base: config.api_base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            channel: config.channel_id.clone(),
        })
    }

    /// A channel id as Discord takes it (`None` means the configured channel).
    fn channel_of<'a>(&'a self, id: Option<&'a str>) -> Result<&'a str, SendError> {
        let id = id.unwrap_or(&self.channel);
        if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            Ok(id)
        } else {
            Err(SendError::permanent(format!(
                "{id:?} is not a Discord channel id"
            )))
        }
    }

    /// Posts a new message in `channel`; returns its id.
    pub async fn post(&self, channel: &str, message: CreateMessage) -> Result<String, SendError> {
        let url = format!(
            "{}/api/v10/channels/{}/messages",
            self.api_base,
            self.channel_of(Some(channel))?
        );
        let answer = self.send(self.http.post(url).json(&message)).await?;
        answer["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SendError::temporary("Discord's answer to a new message has no id"))
    }

    pub async fn edit(
        &self,
        channel: Option<&str>,
        message_id: &str,
        edit: EditMessage,
    ) -> Result<(), SendError> {
        if message_id.is_empty() || !message_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SendError::permanent(format!(
                "stored Discord message id {message_id:?} is not a snowflake"
            )));
        }
        let url = format!(
            "{}/api/v10/channels/{}/messages/{message_id}",
            self.api_base,
            self.channel_of(channel)?
        );
        self.send(self.http.patch(url).json(&edit))
            .await
            .map(|_| ())
    }

    /// Sends with the bot token; server errors and rate limits are worth another try (after
    /// Discord's `retry_after`), a refused token or a missing channel is not.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, SendError> {
        let response = request
            .header("Authorization", format!("Bot {}", self.token))
            .send()
            .await
            .map_err(|e| SendError::temporary(format!("Discord: {e}")))?;
        let status = response.status();
        let header_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(answer);
        }
        let message = format!(
            "Discord answered {}: {}",
            status.as_u16(),
            answer["message"].as_str().unwrap_or("no message")
        );
        if status.as_u16() == 429 {
            let secs = answer["retry_after"]
                .as_f64()
                .or(header_after)
                .unwrap_or(60.0);
            return Err(SendError {
                message,
                permanent: false,
                retry_after_ms: Some((secs.clamp(0.0, 3600.0) * 1000.0).ceil() as i64),
            });
        }
        Err(SendError {
            message,
            permanent: !status.is_server_error(),
            retry_after_ms: None,
        })
    }
}
