//! Delivers what the outbox holds, with retries and backoff; nothing is lost while a channel is down.
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::context::Context;
use crate::notify::email::Outgoing;
use crate::store::OutboxRow;

/// After this many failed attempts a message is marked failed and no longer retried.
pub const MAX_ATTEMPTS: i64 = 10;

#[derive(Debug, PartialEq, Eq)]
pub enum ExecutionOutcome {
    EmptyQueue,
    Worked(usize),
}

#[derive(Deserialize)]
struct EmailPayload {
    subject: String,
    text: String,
    html: String,
    #[serde(default)]
    thread: Option<String>,
    #[serde(default)]
    thread_root: bool,
}

#[derive(Deserialize)]
struct DiscordPayload {
    request_id: i64,
}

/// The channels, each delivered by its own loop so that one channel's outage never holds up another.
pub const CHANNELS: [&str; 2] = ["email", "discord"];

/// Sends every message of `channel` that is due now; returns how many it tried.
pub async fn try_execute_tasks(ctx: &Context, channel: &str) -> anyhow::Result<ExecutionOutcome> {
    let now = ctx.clock.now_ms();
    let due = ctx.store.due_messages(channel, now, 50).await?;
    if due.is_empty() {
        return Ok(ExecutionOutcome::EmptyQueue);
    }
    let n = due.len();
    for row in due {
        deliver(ctx, row).await?;
    }
    Ok(ExecutionOutcome::Worked(n))
}

async fn deliver(ctx: &Context, row: OutboxRow) -> anyhow::Result<()> {
    let result = match row.channel.as_str() {
        "email" => match serde_json::from_str::<EmailPayload>(&row.payload) {
            Ok(p) => ctx
                .mailer
                .send(
                    &ctx.config.email.from,
                    &Outgoing {
                        to: &row.recipient,
                        subject: &p.subject,
                        text: &p.text,
                        html: &p.html,
                        id: row.id,
                    },
                    p.thread.as_deref().map(|t| (t, p.thread_root)),
                )
                .await
                .map_err(|e| (e.message, e.permanent)),
            Err(e) => Err((format!("unreadable payload: {e}"), true)),
        },
        "discord" => match (
            &ctx.discord,
            serde_json::from_str::<DiscordPayload>(&row.payload),
        ) {
            (Some(d), Ok(p)) => crate::discord::sync_request(ctx, d, p.request_id)
                .await
                .map_err(|e| (e.message, e.permanent)),
            (None, _) => Err((
                "Discord is not enabled (discord.enabled = false)".to_string(),
                true,
            )),
            (_, Err(e)) => Err((format!("unreadable payload: {e}"), true)),
        },
        other => Err((format!("no sender for channel {other}"), true)),
    };
    let now = ctx.clock.now_ms();
    match result {
        Ok(()) => {
            ctx.store.mark_sent(row.id, now).await?;
            tracing::info!(id = row.id, channel = %row.channel, kind = %row.kind, to = %row.recipient, "notification sent");
        }
        Err((error, permanent)) => {
            let attempts = row.attempts + 1;
            let retry_at =
                (!permanent && attempts < MAX_ATTEMPTS).then(|| now + backoff_ms(attempts));
            tracing::warn!(id = row.id, channel = %row.channel, to = %row.recipient, attempts, permanent, %error, "notification not sent");
            ctx.store
                .mark_failed_attempt(row.id, &error, retry_at)
                .await?;
        }
    }
    Ok(())
}

/// 2 s, 4 s, 8 s … capped at 10 minutes.
pub fn backoff_ms(attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 20) as u32;
    (1000i64 << exp).min(600_000)
}

/// Delivers `channel`'s messages until `stop` fires, waking when one is queued or every second.
pub async fn run_worker(
    ctx: Arc<Context>,
    channel: &'static str,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let wakeup = ctx.outbox_wakeup(channel);
    loop {
        match try_execute_tasks(&ctx, channel).await {
            Ok(ExecutionOutcome::Worked(_)) => continue,
            Ok(ExecutionOutcome::EmptyQueue) => {}
            Err(e) => tracing::error!(error = %e, channel, "outbox worker"),
        }
        tokio::select! {
            _ = wakeup.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(super::backoff_ms(1), 2000);
        assert_eq!(super::backoff_ms(2), 4000);
        assert_eq!(super::backoff_ms(30), 600_000);
    }
}
