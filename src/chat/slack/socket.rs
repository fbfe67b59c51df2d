//! `slack.mode = "socket"`: receive interactions over Slack's Socket Mode, for installations
//! without a public HTTPS URL. daypass opens the WebSocket (`apps.connections.open` with the
//! app-level token), acknowledges each envelope, and hands its payload to the same handler as
//! the HTTP endpoint. When Slack asks it to reconnect, or the connection drops, it opens a new one.
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::chat::slack::interactions::{handle, Payload, Reply};
use crate::server::context::Context;

/// Keeps a Socket Mode connection open until `stop` fires.
pub async fn run(ctx: Arc<Context>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut failures: u32 = 0;
    loop {
        let ended = tokio::select! {
            r = connection(&ctx) => r,
            _ = stop.changed() => return,
        };
        match ended {
            Ok(()) => failures = 0,
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(error = %e, failures, "Slack Socket Mode connection ended");
            }
        }
        // Reconnect at once after a requested refresh; back off after failures (at most 1 min).
        let wait = Duration::from_millis(250u64 << failures.min(8)).min(Duration::from_secs(60));
        tokio::select! {
            () = tokio::time::sleep(if failures == 0 { Duration::ZERO } else { wait }) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One connection: from `apps.connections.open` until Slack says `disconnect` (Ok) or it fails.
async fn connection(ctx: &Context) -> anyhow::Result<()> {
    let Some(slack) = &ctx.slack else {
        return Ok(());
    };
    let token = slack
        .app_token
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("slack.app_token_env is not set"))?;
    let url = slack
        .client
        .open_connection(token)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
    tracing::info!("Slack Socket Mode connected");
    while let Some(frame) = ws.next().await {
        let text = match frame? {
            Message::Text(t) => t,
            Message::Close(_) => return Ok(()),
            _ => continue,
        };
        let Ok(envelope) = serde_json::from_str::<Value>(&text) else {
            tracing::warn!("an unreadable Socket Mode message");
            continue;
        };
        match envelope["type"].as_str() {
            Some("disconnect") => return Ok(()),
            Some("interactive") => {}
            // `hello`, and events daypass did not subscribe to.
            _ => {
                if let Some(id) = envelope["envelope_id"].as_str() {
                    ws.send(Message::Text(json!({ "envelope_id": id }).to_string()))
                        .await?;
                }
                continue;
            }
        }
        let Some(id) = envelope["envelope_id"].as_str() else {
            continue;
        };
        let ack = match serde_json::from_value::<Payload>(envelope["payload"].clone()) {
            Ok(payload) => match handle(ctx, slack, &payload).await {
                Reply::Empty => json!({ "envelope_id": id }),
                Reply::Json(p) => json!({ "envelope_id": id, "payload": p }),
            },
            Err(e) => {
                tracing::warn!(error = %e, "an unreadable Slack interaction");
                json!({ "envelope_id": id })
            }
        };
        ws.send(Message::Text(ack.to_string())).await?;
    }
    Ok(())
}
