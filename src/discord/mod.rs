//! Discord: one message per request in a channel, with a duration menu and Approve/Deny buttons,
//! edited in place as the request changes. Clicks arrive signed at `/discord/interactions`
//! (`mode = "http"`) or over the gateway (`mode = "gateway"`); both go to `interactions::handle`.
pub mod client;
pub mod gateway;
pub mod interactions;
pub mod message;

use serenity::all::{CreateAllowedMentions, CreateMessage, EditMessage};
use serenity::interactions_endpoint::Verifier;

use crate::config::DiscordConfig;
use crate::context::Context;
use crate::notify::email::SendError;
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

/// Makes the request's Discord message match the request: posts it the first time, edits it after.
pub async fn sync_request(
    ctx: &Context,
    discord: &Discord,
    request_id: i64,
) -> Result<(), SendError> {
    let fail = |e: anyhow::Error| SendError::temporary(e.to_string());
    let Some(rendered) = interactions::render(ctx, request_id, None)
        .await
        .map_err(fail)?
    else {
        return Err(SendError::permanent(format!(
            "request {request_id} does not exist"
        )));
    };
    match &rendered.message_id {
        None => {
            let message = CreateMessage::new()
                .embed(rendered.embed)
                .components(rendered.components)
                .allowed_mentions(CreateAllowedMentions::new());
            let id = discord.client.post(message).await?;
            ctx.store
                .set_discord_message_id(request_id, &id)
                .await
                .map_err(|e| fail(e.into()))
        }
        Some(message_id) => {
            let edit = EditMessage::new()
                .embed(rendered.embed)
                .components(rendered.components)
                .allowed_mentions(CreateAllowedMentions::new());
            discord.client.edit(message_id, edit).await
        }
    }
}
