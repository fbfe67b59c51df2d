//! Discord: one message per request in a channel, with a duration menu and Approve/Deny buttons,
//! edited in place as the request changes. Clicks arrive signed at `/discord/interactions`
//! (`mode = "http"`) or over the gateway (`mode = "gateway"`); both go to `interactions::handle`,
//! which reads them into `chat::clicks`. The client and the message know nothing of the server.
pub mod client;
pub mod gateway;
pub mod interactions;
pub mod message;

use serenity::all::{CreateAllowedMentions, CreateMessage, EditMessage};
use serenity::interactions_endpoint::Verifier;

use crate::access::view::RequestView;
use crate::chat::{Chat, Posted, Sent};
use crate::config::DiscordConfig;
use crate::store::Channel;
use client::DiscordClient;

/// What daypass needs to talk to Discord, built once at start when `discord.enabled`.
pub struct Discord {
    pub client: DiscordClient,
    pub verifier: Verifier,
    pub token: String,
}

impl Discord {
    pub fn from_config(config: &DiscordConfig) -> anyhow::Result<Option<Self>> {
        if !config.enabled {
            return Ok(None);
        }
        let token = config
            .token
            .read()
            .map_err(|e| anyhow::anyhow!("discord.token_file: {e}"))?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "discord.token_env: set ${} to the bot token",
                    config.token.env
                )
            })?;
        let key: [u8; 32] = hex::decode(&config.public_key)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| anyhow::anyhow!("discord.public_key: not 64 hex characters"))?;
        let verifier = Verifier::try_new(key)
            .map_err(|_| anyhow::anyhow!("discord.public_key: not an Ed25519 public key"))?;
        Ok(Some(Self {
            client: DiscordClient::new(config, &token)?,
            verifier,
            token,
        }))
    }
}

impl Chat for Discord {
    fn channel(&self) -> Channel {
        Channel::Discord
    }

    fn post<'a>(&'a self, view: &'a RequestView, target: &'a str, now: i64) -> Sent<'a, Posted> {
        Box::pin(async move {
            let rendered = message::render(view, None, now);
            let message = CreateMessage::new()
                .embed(rendered.embed)
                .components(rendered.components)
                .allowed_mentions(CreateAllowedMentions::new());
            let message_id = self.client.post(target, message).await?;
            Ok(Posted {
                message_id,
                chat_channel: None,
            })
        })
    }

    fn edit<'a>(
        &'a self,
        view: &'a RequestView,
        chat_channel: Option<&'a str>,
        message_id: &'a str,
        now: i64,
    ) -> Sent<'a, ()> {
        Box::pin(async move {
            let rendered = message::render(view, None, now);
            let edit = EditMessage::new()
                .embed(rendered.embed)
                .components(rendered.components)
                .allowed_mentions(CreateAllowedMentions::new());
            self.client.edit(chat_channel, message_id, edit).await
        })
    }
}
