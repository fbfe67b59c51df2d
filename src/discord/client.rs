//! Talking to Discord's REST API through serenity's HTTP client.
use std::sync::Arc;

use serenity::all::{ChannelId, CreateAllowedMentions, CreateMessage, EditMessage, MessageId};
use serenity::http::{Http, HttpBuilder, HttpError};

use crate::config::DiscordConfig;
use crate::notify::SendError;

pub const DISCORD_API: &str = "https://discord.com";

#[derive(Clone)]
pub struct DiscordClient {
    http: Arc<Http>,
    pub channel: ChannelId,
}

impl DiscordClient {
    pub fn new(config: &DiscordConfig, token: &str) -> anyhow::Result<Self> {
        let channel: u64 = config
            .channel_id
            .parse()
            .map_err(|_| anyhow::anyhow!("discord.channel_id: not a channel id"))?;
        let mut builder =
            HttpBuilder::new(token).default_allowed_mentions(CreateAllowedMentions::new());
        if config.api_base != DISCORD_API {
            // A stand-in API (tests): serenity's rate limiter would bypass the proxy.
            builder = builder
                .proxy(config.api_base.clone())
                .ratelimiter_disabled(true);
        }
        Ok(Self {
            http: Arc::new(builder.build()),
            channel: ChannelId::new(channel.max(1)),
        })
    }

    pub fn http(&self) -> Arc<Http> {
        self.http.clone()
    }

    /// A channel id as Discord takes it (`None` means the configured channel).
    fn channel_of(&self, id: Option<&str>) -> Result<ChannelId, SendError> {
        match id {
            None => Ok(self.channel),
            Some(s) => s
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(ChannelId::new)
                .ok_or_else(|| SendError::permanent(format!("{s:?} is not a Discord channel id"))),
        }
    }

    /// Posts a new message in `channel`; returns its id.
    pub async fn post(&self, channel: &str, message: CreateMessage) -> Result<String, SendError> {
        self.http
            .send_message(self.channel_of(Some(channel))?, vec![], &message)
            .await
            .map(|m| m.id.to_string())
            .map_err(classify)
    }

    pub async fn edit(
        &self,
        channel: Option<&str>,
        message_id: &str,
        edit: EditMessage,
    ) -> Result<(), SendError> {
        let channel = self.channel_of(channel)?;
        let id: u64 = message_id.parse().map_err(|_| {
            SendError::permanent(format!(
                "stored Discord message id {message_id:?} is not a snowflake"
            ))
        })?;
        self.http
            .edit_message(channel, MessageId::new(id.max(1)), &edit, vec![])
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

/// Server errors and rate limits are worth another try later; a refused token or a missing
/// channel is not.
fn classify(e: serenity::Error) -> SendError {
    let permanent = match &e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => {
            let status = r.status_code.as_u16();
            !(status == 429 || status >= 500)
        }
        serenity::Error::Http(HttpError::Request(_)) => false,
        serenity::Error::Model(_) | serenity::Error::Json(_) => true,
        _ => false,
    };
    let message = match &e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => {
            format!(
                "Discord answered {} to {} {}: {}",
                r.status_code, r.method, r.url, r.error.message
            )
        }
        other => format!("Discord: {other}"),
    };
    // Discord's own rate limiter honours retry_after when it is on (production); when a 429
    // reaches here its value is not passed on, so wait a conservative minute.
    let rate_limited = matches!(&e, serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) if r.status_code.as_u16() == 429);
    SendError {
        message,
        permanent,
        retry_after_ms: rate_limited.then_some(60_000),
    }
}
