//! `discord.mode = "gateway"`: receive interactions over Discord's gateway, for installations
//! without a public HTTPS URL. The same handler as the HTTP endpoint answers them.
use std::sync::Arc;

use serenity::all::{Client, EventHandler, GatewayIntents};
use serenity::async_trait;

use super::interactions::{handle, Interaction};
use crate::context::Context;

/// Serenity's interaction, read into the shape the shared handler takes.
pub fn from_gateway(interaction: &serenity::all::Interaction) -> Option<Interaction> {
    use serenity::all::Interaction as I;
    let kind = match interaction {
        I::Ping(_) => 1,
        I::Command(_) => 2,
        I::Component(_) => 3,
        I::Autocomplete(_) => 4,
        I::Modal(_) => 5,
        _ => return None,
    };
    // Serenity leaves the type out when it serializes the variant's contents.
    let mut value = serde_json::to_value(interaction).ok()?;
    value.as_object_mut()?.insert("type".into(), kind.into());
    serde_json::from_value(value).ok()
}

struct Handler {
    ctx: Arc<Context>,
}

#[async_trait]
impl EventHandler for Handler {
    async fn interaction_create(
        &self,
        discord: serenity::client::Context,
        interaction: serenity::all::Interaction,
    ) {
        let Some(parsed) = from_gateway(&interaction) else {
            tracing::warn!("an interaction from the gateway could not be read");
            return;
        };
        let response = handle(&self.ctx, &parsed).await;
        if let Err(e) = discord
            .http
            .create_interaction_response(interaction.id(), interaction.token(), &response, vec![])
            .await
        {
            tracing::warn!(error = %e, "could not answer a Discord interaction");
        }
    }
}

/// Connects to the gateway and handles interactions until the connection ends for good.
pub async fn run(ctx: Arc<Context>, token: String) {
    let client = Client::builder(&token, GatewayIntents::empty())
        .event_handler(Handler { ctx })
        .await;
    match client {
        Ok(mut client) => {
            if let Err(e) = client.start().await {
                tracing::error!(error = %e, "the Discord gateway connection ended");
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot start the Discord gateway client"),
    }
}
