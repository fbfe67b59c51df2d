//! Delivers what the outbox holds, with retries and backoff; nothing is lost while a channel is down.
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::access::view::RequestView;
use crate::chat::{Chat, USER};
use crate::config::ChatService;
use crate::notify::email::Outgoing;
use crate::notify::SendError;
use crate::server::context::Context;
use crate::store::{AuditAction, Channel, NewAudit, Origin, OutboxRow, Store, Via};

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
struct ChatPayload {
    request_id: i64,
    /// Where the message should be (chat channels, or `user:` ids); edits go to every one posted.
    #[serde(default)]
    targets: Vec<String>,
}

/// Sends every message of `channel` that is due now; returns how many it tried. Each channel is
/// delivered by its own loop, so that one channel's outage never holds up another.
pub async fn try_execute_tasks(
    ctx: &Context,
    channel: Channel,
) -> anyhow::Result<ExecutionOutcome> {
    let mut n = 0;
    while n < 50 {
        let now = ctx.clock.now_ms();
        let Some(row) = ctx.store.claim_due_message(channel, now, LEASE_MS).await? else {
            break;
        };
        deliver(ctx, row).await?;
        n += 1;
    }
    Ok(if n == 0 {
        ExecutionOutcome::EmptyQueue
    } else {
        ExecutionOutcome::Worked(n)
    })
}

/// Delivers every message of every channel that is due now, as the workers would next, and
/// returns how many it tried: for callers (tests, above all) that must know nothing due is left.
pub async fn deliver_due_now(ctx: &Context) -> anyhow::Result<usize> {
    let mut tried = 0;
    for &channel in Channel::ALL {
        while let ExecutionOutcome::Worked(n) = try_execute_tasks(ctx, channel).await? {
            tried += n;
        }
    }
    Ok(tried)
}

/// How long a claimed message is this worker's alone: longer than any one delivery may take
/// (every client gives up within 15 s), short enough that a message claimed by a replica that
/// died goes out within half a minute from another.
const LEASE_MS: i64 = 30_000;

/// Delivers one message, in a span that carries the access request it tells of, so that one
/// filter (`request=ID`) finds its delivery beside the request's own log lines.
#[tracing::instrument(name = "delivery", skip_all, fields(request = row.request_id, message = row.id, channel = %row.channel))]
async fn deliver(ctx: &Context, row: OutboxRow) -> anyhow::Result<()> {
    let result = match row.channel {
        Channel::Email => match serde_json::from_str::<EmailPayload>(&row.payload) {
            Ok(p) => {
                let fill = |t: &str| crate::tokens::fill_markers(t, &ctx.secret);
                let (subject, text, html) = (fill(&p.subject), fill(&p.text), fill(&p.html));
                let mail = Outgoing {
                    to: &row.recipient,
                    subject: &subject,
                    text: &text,
                    html: &html,
                    id: row.id,
                };
                let thread = p.thread.as_deref().map(|t| (t, p.thread_root));
                ctx.mailer.send(&ctx.config.email.from, &mail, thread).await
            }
            Err(e) => Err(SendError::permanent(format!("unreadable payload: {e}"))),
        },
        Channel::Webhook => {
            ctx.webhooks
                .send(&ctx.config, &row, ctx.clock.now_ms())
                .await
        }
        channel => match (
            ctx.chat(channel),
            serde_json::from_str::<ChatPayload>(&row.payload),
        ) {
            (Some(chat), Ok(p)) => show_request(ctx, chat, &p.targets, p.request_id).await,
            (None, _) => Err(SendError::permanent(format!(
                "{channel} is not enabled in the config"
            ))),
            (_, Err(e)) => Err(SendError::permanent(format!("unreadable payload: {e}"))),
        },
    };
    let now = ctx.clock.now_ms();
    match result {
        Ok(()) => {
            ctx.store.mark_sent(row.id, now).await?;
            tracing::info!(kind = %row.kind, to = %row.recipient, "notification sent");
        }
        Err(e) => {
            let attempts = row.attempts + 1;
            let retry_at = (!e.permanent && attempts < MAX_ATTEMPTS)
                .then(|| now + backoff_ms(attempts).max(e.retry_after_ms.unwrap_or(0)));
            tracing::warn!(to = %row.recipient, attempts, permanent = e.permanent, error = %e.message, "notification not sent");
            let mut tx = ctx.store.begin().await?;
            Store::fail_message(&mut tx, row.id, &e.message, retry_at).await?;
            if retry_at.is_none() {
                // Given up: on the record, for `daypass audit` and /metrics.
                let origin = match row.channel {
                    Channel::Email => Via::Email,
                    Channel::Discord => Via::Discord,
                    Channel::Slack => Via::Slack,
                    Channel::Webhook => Via::Webhook,
                };
                let audit = NewAudit {
                    request_id: row.request_id,
                    subject: Some(&row.recipient),
                    reason: Some(&e.message),
                    ..NewAudit::new(
                        now,
                        AuditAction::NotificationFailed,
                        "daypass",
                        Origin::new(origin),
                    )
                };
                Store::append_audit(&mut tx, &audit).await?;
            }
            tx.commit().await?;
        }
    }
    Ok(())
}

/// Makes the request's chat messages match the request as it is now: edits every one posted
/// before, and posts one at each of `targets` that has none yet. Rendered at sending time, so
/// however late, they show the latest state.
async fn show_request(
    ctx: &Context,
    chat: &dyn Chat,
    targets: &[String],
    request_id: i64,
) -> Result<(), SendError> {
    let fail = |e: sqlx::Error| SendError::temporary(e.to_string());
    let view = RequestView::load(&ctx.store, &ctx.config, request_id)
        .await
        .map_err(fail)?
        .ok_or_else(|| SendError::permanent(format!("request {request_id} does not exist")))?;
    let channel = chat.channel();
    let now = ctx.clock.now_ms();
    let posted = ctx
        .store
        .chat_messages(channel, request_id)
        .await
        .map_err(fail)?;
    for m in &posted {
        // Where it is: a direct message's own channel, the channel it was sent to, or (for
        // messages posted before targets were kept) the configured one.
        let target = Some(m.target.as_str()).filter(|t| !t.is_empty() && !t.starts_with(USER));
        let in_channel = m.chat_channel.as_deref().or(target);
        chat.edit(&view, in_channel, &m.message_id, now).await?;
    }
    let default = ctx
        .config
        .chat_target(service_of(channel), &view.request.app_slug, None);
    for target in targets {
        let covered = posted.iter().any(|m| {
            m.target == *target || (m.target.is_empty() && default == Some(target.as_str()))
        });
        if covered {
            continue;
        }
        let p = chat.post(&view, target, now).await?;
        ctx.store
            .set_chat_message(
                channel,
                request_id,
                target,
                p.chat_channel.as_deref(),
                &p.message_id,
            )
            .await
            .map_err(fail)?;
    }
    Ok(())
}

fn service_of(channel: Channel) -> ChatService {
    match channel {
        Channel::Slack => ChatService::Slack,
        Channel::Discord | Channel::Email | Channel::Webhook => ChatService::Discord,
    }
}

/// 2 s, 4 s, 8 s … capped at 10 minutes.
pub fn backoff_ms(attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 20) as u32;
    (1000i64 << exp).min(600_000)
}

/// Delivers `channel`'s messages until `stop` fires, waking when one is queued or every second.
pub async fn run_worker(
    ctx: Arc<Context>,
    channel: Channel,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let wakeup = ctx.outbox_wakeup(channel);
    loop {
        match try_execute_tasks(&ctx, channel).await {
            Ok(ExecutionOutcome::Worked(_)) => continue,
            Ok(ExecutionOutcome::EmptyQueue) => {}
            Err(e) => tracing::error!(error = %e, %channel, "outbox worker"),
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
