//! `discord.mode = "gateway"`: receive interactions over Discord's gateway, for installations
//! without a public HTTPS URL. The same handler as the HTTP endpoint answers them.
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serenity::all::{Client, EventHandler, GatewayIntents};
use serenity::async_trait;

use crate::chat::discord::interactions::{handle, Interaction};
use crate::server::context::Context;
use crate::store::DISCORD_GATEWAY;

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

/// Holds the gateway connection on one replica at a time: waits for the gateway lock (taken at
/// once on SQLite), then connects, and connects again after a drop while the lock is held. A
/// replica that loses the lock (its database connection broke) drops the gateway; another
/// takes over within seconds of the holder's death.
pub async fn run_as_leader(
    ctx: Arc<Context>,
    token: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut leadership = ctx.store.leadership(DISCORD_GATEWAY);
    loop {
        match leadership.try_take().await {
            Ok(true) => {
                ctx.gateway_held.store(true, Ordering::Relaxed);
                tracing::info!("this replica holds the Discord gateway connection");
                let mut gateway = tokio::spawn(connect_again_and_again(ctx.clone(), token.clone()));
                let mut check = tokio::time::interval(LOCK_CHECK);
                loop {
                    tokio::select! {
                        _ = check.tick() => {
                            if let Err(e) = leadership.still_held().await {
                                tracing::warn!(error = %e, "lost the Discord gateway lock; leaving the gateway");
                                break;
                            }
                        }
                        _ = &mut gateway => break,
                        _ = stop.changed() => {
                            gateway.abort();
                            ctx.gateway_held.store(false, Ordering::Relaxed);
                            return;
                        }
                    }
                }
                gateway.abort();
                ctx.gateway_held.store(false, Ordering::Relaxed);
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "cannot ask for the Discord gateway lock"),
        }
        tokio::select! {
            _ = tokio::time::sleep(LOCK_CHECK) => {}
            _ = stop.changed() => return,
        }
    }
}

/// How often a standby replica asks for the gateway lock, and the holder checks it still has it.
const LOCK_CHECK: Duration = Duration::from_secs(2);

async fn connect_again_and_again(ctx: Arc<Context>, token: String) {
    let mut wait = Duration::from_secs(1);
    loop {
        run(ctx.clone(), token.clone()).await;
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(60));
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
