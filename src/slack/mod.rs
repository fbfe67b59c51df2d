//! Slack: one Block Kit message per request in a channel, with a duration menu and
//! Approve/Deny buttons, updated in place as the request changes (through the outbox, like
//! email and Discord). Clicks arrive signed at `/slack/interactions` and go to
//! `interactions::handle`, which reads them into `chat::clicks`.
pub mod client;
pub mod interactions;
pub mod message;

use crate::chat::{Chat, Sent};
use crate::config::SlackConfig;
use crate::request_view::RequestView;
use crate::store::Channel;
use client::SlackClient;

/// What daypass needs to talk to Slack, built once at start when `slack.enabled`.
pub struct Slack {
    pub client: SlackClient,
    /// The app's signing secret: every interaction is checked against it.
    pub signing_secret: Vec<u8>,
}

impl Slack {
    pub fn from_config(config: &SlackConfig) -> anyhow::Result<Option<Self>> {
        if !config.enabled {
            return Ok(None);
        }
        let read = |source: &crate::config::SecretSource, key: &str| {
            source
                .read()
                .map_err(|e| anyhow::anyhow!("slack.{key}_file: {e}"))?
                .filter(|v| !v.is_empty())
                .ok_or_else(|| anyhow::anyhow!("slack.{key}_env: set ${} ", source.env))
        };
        let token = read(&config.bot_token, "bot_token")?;
        let signing_secret = read(&config.signing_secret, "signing_secret")?.into_bytes();
        Ok(Some(Self {
            client: SlackClient::new(config, token)?,
            signing_secret,
        }))
    }
}

impl Chat for Slack {
    fn channel(&self) -> Channel {
        Channel::Slack
    }

    fn show<'a>(
        &'a self,
        view: &'a RequestView,
        message_id: Option<&'a str>,
        now: i64,
    ) -> Sent<'a, Option<String>> {
        Box::pin(async move {
            let rendered = message::render(view, None, now);
            match message_id {
                None => self
                    .client
                    .post(&rendered.text, &rendered.blocks)
                    .await
                    .map(Some),
                Some(ts) => self
                    .client
                    .update(ts, &rendered.text, &rendered.blocks)
                    .await
                    .map(|()| None),
            }
        })
    }
}
