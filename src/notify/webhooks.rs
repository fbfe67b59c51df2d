//! Events out: every state change a `[[webhooks]]` receiver subscribed to is written to the
//! outbox in the change's own transaction and POSTed as JSON, signed
//! (`X-Daypass-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`). A receiver that is down
//! gets it later, with backoff; its id stays the same on every try, so a receiver can drop
//! repeats.
use std::time::Duration;

use serde_json::json;
use sqlx::AnyConnection;

use crate::config::{Config, Webhook};
use crate::notify::SendError;
use crate::store::{AuditAction, Channel, NewAudit, NewMessage, OutboxRow, Store};
use crate::tokens;

/// The event type an audit action is sent as; `None` for what is not a state change.
pub fn event_type(action: AuditAction) -> Option<&'static str> {
    Some(match action {
        AuditAction::RequestCreated => "request.created",
        AuditAction::ExtensionRequested => "extension.requested",
        AuditAction::RequestCancelled => "request.cancelled",
        AuditAction::RequestApproved => "request.approved",
        AuditAction::RequestDenied => "request.denied",
        AuditAction::RequestExpired => "request.expired",
        AuditAction::RequestEscalated => "request.escalated",
        AuditAction::ApprovalRecorded => "approval.recorded",
        AuditAction::GrantExtended => "grant.extended",
        AuditAction::GrantRevoked => "grant.revoked",
        AuditAction::GrantExpired => "grant.expired",
        AuditAction::DecisionRefused
        | AuditAction::NotificationFailed
        | AuditAction::SessionsEnded
        | AuditAction::SignedOut => return None,
    })
}

/// Appends `events` to the audit log and queues them for every webhook that wants them, on
/// `conn` (inside the caller's transaction); returns the outbox channels that got messages.
pub async fn record(
    conn: &mut AnyConnection,
    config: &Config,
    events: &[NewAudit<'_>],
    now: i64,
) -> sqlx::Result<Vec<Channel>> {
    Store::append_audits(conn, events).await?;
    let mut rows = Vec::new();
    for e in events {
        let Some(kind) = event_type(e.action) else {
            continue;
        };
        for hook in config.webhooks.iter().filter(|h| h.wants(kind)) {
            let body = json!({
                "id": format!("evt_{}", &tokens::new_token()[..32]),
                "type": kind,
                "time": crate::clock::rfc3339(e.at),
                "request_id": e.request_id,
                "grant_id": e.grant_id,
                "application": e.app_slug,
                "subject": e.subject,
                "actor": e.actor,
                "via": e.channel,
                "justification": e.justification,
                "duration_ms": e.duration_ms,
                "reason": e.reason,
            });
            rows.push((kind, hook.url.to_string(), body.to_string(), e.request_id));
        }
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let messages: Vec<NewMessage<'_>> = rows
        .iter()
        .map(|(kind, url, payload, request_id)| NewMessage {
            channel: Channel::Webhook,
            kind,
            recipient: url,
            payload: payload.clone(),
            request_id: *request_id,
        })
        .collect();
    Store::enqueue_many(conn, &messages, now).await?;
    Ok(vec![Channel::Webhook])
}

/// `X-Daypass-Signature` for `body` sent at `unix` seconds: `t=<unix>,v1=<hex HMAC-SHA256 of
/// "<unix>.<body>">`.
pub fn signature(secret: &[u8], unix: i64, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(format!("{unix}.{body}").as_bytes());
    format!("t={unix},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Sends webhook rows.
pub struct Sender {
    http: reqwest::Client,
}

impl Sender {
    pub fn new() -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { http })
    }

    /// POSTs the row's event to its receiver, if the config still has one at that URL.
    pub async fn send(&self, config: &Config, row: &OutboxRow, now: i64) -> Result<(), SendError> {
        let hook: &Webhook = config
            .webhooks
            .iter()
            .find(|h| h.url.as_str() == row.recipient)
            .ok_or_else(|| SendError::permanent("no [[webhooks]] has this url any more"))?;
        let secret = hook
            .secret
            .read()
            .ok()
            .flatten()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                SendError::temporary(format!(
                    "the webhook secret ${} is not set",
                    hook.secret.env
                ))
            })?;
        let response = self
            .http
            .post(hook.url.clone())
            .header("Content-Type", "application/json")
            .header("X-Daypass-Event", &row.kind)
            .header(
                "X-Daypass-Signature",
                signature(secret.as_bytes(), now.div_euclid(1000), &row.payload),
            )
            .body(row.payload.clone())
            .send()
            .await
            .map_err(|e| SendError::temporary(format!("webhook {}: {e}", hook.url)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let message = format!("webhook {} answered {}", hook.url, status.as_u16());
        // A receiver that is down, overloaded or slow gets it later; one that refuses it does not.
        let later = status.is_server_error() || matches!(status.as_u16(), 408 | 429);
        Err(if later {
            SendError::temporary(message)
        } else {
            SendError::permanent(message)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_time_dot_body() {
        let s = signature(b"whsec", 1_700_000_000, "{\"a\":1}");
        assert!(s.starts_with("t=1700000000,v1="));
        assert_eq!(s.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(s, signature(b"whsec", 1_700_000_001, "{\"a\":1}"));
        assert_ne!(s, signature(b"other", 1_700_000_000, "{\"a\":1}"));
    }

    #[test]
    fn every_event_type_is_configurable() {
        for a in AuditAction::ALL {
            if let Some(t) = event_type(*a) {
                assert!(crate::config::WEBHOOK_EVENTS.contains(&t), "{t}");
            }
        }
    }
}
