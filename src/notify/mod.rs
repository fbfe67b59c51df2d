//! Notifications: rendered into the outbox inside the transaction that causes them, then
//! delivered by the outbox worker. Each channel (email now, Discord beside it) renders its own.
pub mod email;
mod messages;
pub mod outbox;

use sqlx::SqliteConnection;

use crate::config::Config;
use crate::store::{GrantRow, NewMessage, RequestRow, Store};

/// Something people must hear about.
pub enum Event<'a> {
    LoginCode {
        to: &'a str,
        code: &'a str,
    },
    /// A new request; each approver gets their own review link.
    RequestCreated {
        request: &'a RequestRow,
        app_name: &'a str,
        links: &'a [(String, String)],
    },
    RequestDecided {
        request: &'a RequestRow,
        app_name: &'a str,
        grant: Option<&'a GrantRow>,
    },
    RequestExpired {
        request: &'a RequestRow,
        app_name: &'a str,
    },
    GrantEnded {
        grant: &'a GrantRow,
        app_name: &'a str,
    },
}

impl Event<'_> {
    /// The request whose Discord message this event changes.
    fn request_id(&self) -> Option<i64> {
        match self {
            Event::LoginCode { .. } => None,
            Event::RequestCreated { request, .. }
            | Event::RequestDecided { request, .. }
            | Event::RequestExpired { request, .. } => Some(request.id),
            Event::GrantEnded { grant, .. } => Some(grant.request_id),
        }
    }
}

/// Writes the messages for `event` to the outbox on `conn` (inside the caller's transaction).
pub async fn enqueue(
    conn: &mut SqliteConnection,
    config: &Config,
    event: Event<'_>,
    now: i64,
) -> sqlx::Result<()> {
    for mail in messages::render(config, &event) {
        let message = NewMessage {
            channel: "email",
            kind: mail.kind,
            recipient: &mail.to,
            payload:
                serde_json::json!({ "subject": mail.subject, "text": mail.text, "html": mail.html })
                    .to_string(),
            request_id: mail.request_id,
        };
        Store::enqueue(conn, &message, now).await?;
    }
    if config.discord.enabled {
        if let Some(request_id) = event.request_id() {
            // Rendered when sent, from the request as it is then: the message always shows
            // the latest state, however late the delivery.
            let message = NewMessage {
                channel: "discord",
                kind: "sync_request",
                recipient: &config.discord.channel_id,
                payload: serde_json::json!({ "request_id": request_id }).to_string(),
                request_id: Some(request_id),
            };
            Store::enqueue(conn, &message, now).await?;
        }
    }
    Ok(())
}
