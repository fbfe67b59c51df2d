//! Slack: one Block Kit message per request in a channel, with a duration menu and
//! Approve/Deny buttons, updated in place as the request changes (through the outbox, like
//! email and Discord). Clicks arrive signed at `/slack/interactions` and go to
//! `interactions::handle`, which reads them into `chat::clicks`.
pub mod client;
pub mod interactions;
pub mod message;
pub mod socket;

use crate::access::view::RequestView;
use crate::chat::{Chat, Posted, Sent, USER};
use crate::config::{SlackConfig, SlackMode};
use crate::store::Channel;
use client::SlackClient;

/// What daypass needs to talk to Slack, built once at start when `slack.enabled`.
pub struct Slack {
    pub client: SlackClient,
    /// The app's signing secret: every interaction over HTTP is checked against it.
    pub signing_secret: Vec<u8>,
    /// The app-level token, in Socket Mode.
    pub app_token: Option<String>,
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
        let (signing_secret, app_token) = match config.mode {
            SlackMode::Http => (
                read(&config.signing_secret, "signing_secret")?.into_bytes(),
                None,
            ),
            // Socket Mode needs no public URL, so no signed requests arrive at all.
            SlackMode::Socket => (Vec::new(), Some(read(&config.app_token, "app_token")?)),
        };
        Ok(Some(Self {
            client: SlackClient::new(config, token)?,
            signing_secret,
            app_token,
        }))
    }
}

impl Chat for Slack {
    fn channel(&self) -> Channel {
        Channel::Slack
    }

    fn post<'a>(&'a self, view: &'a RequestView, target: &'a str, now: i64) -> Sent<'a, Posted> {
        Box::pin(async move {
            let rendered = message::render(view, None, now);
            // A user id as the channel: the bot's direct messages with that person.
            let to = target.strip_prefix(USER).unwrap_or(target);
            let (ts, channel) = self
                .client
                .post(to, &rendered.text, &rendered.blocks)
                .await?;
            Ok(Posted {
                message_id: ts,
                chat_channel: (channel != target).then_some(channel),
            })
        })
    }

    fn edit<'a>(
        &'a self,
        view: &'a RequestView,
        chat_channel: Option<&'a str>,
        ts: &'a str,
        now: i64,
    ) -> Sent<'a, ()> {
        Box::pin(async move {
            let rendered = message::render(view, None, now);
            let channel = chat_channel.unwrap_or(&self.client.channel);
            self.client
                .update(channel, ts, &rendered.text, &rendered.blocks)
                .await
        })
    }
}
