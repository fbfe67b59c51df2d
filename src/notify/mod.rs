//! Notifications: rendered into the outbox inside the transaction that causes them, then
//! delivered by the outbox worker. Each channel (email now, Discord beside it) renders its own.
pub mod email;
mod messages;
pub mod outbox;
mod send_error;
pub mod webhooks;

use sqlx::AnyConnection;

use crate::config::{ChatService, Config, Route};
use crate::policy;
use crate::store::{ApprovalRow, Channel, GrantRow, NewMessage, RequestRow, Store};
pub use send_error::SendError;

/// Something people must hear about.
pub enum Event<'a> {
    LoginCode {
        to: &'a str,
        code: &'a str,
    },
    /// A new request (or a request for more time on `extends`); each approver gets their own link.
    RequestCreated {
        request: &'a RequestRow,
        app_name: &'a str,
        links: &'a [(String, String)],
        extends: Option<&'a GrantRow>,
    },
    /// Still unanswered: the approvers are asked again, with fresh links.
    Reminder {
        request: &'a RequestRow,
        app_name: &'a str,
        links: &'a [(String, String)],
    },
    /// Unanswered for `escalate_after`: the `escalate_to` approvers are asked too.
    Escalated {
        request: &'a RequestRow,
        app_name: &'a str,
        links: &'a [(String, String)],
    },
    /// One of several approvals needed is in.
    ApprovalRecorded {
        request: &'a RequestRow,
        app_name: &'a str,
        approvals: &'a [ApprovalRow],
    },
    /// Approved (with the grant made or extended) or denied.
    RequestDecided {
        request: &'a RequestRow,
        app_name: &'a str,
        grant: Option<&'a GrantRow>,
    },
    RequestCancelled {
        request: &'a RequestRow,
        app_name: &'a str,
    },
    RequestExpired {
        request: &'a RequestRow,
        app_name: &'a str,
    },
    /// A grant ends soon.
    GrantWarning {
        grant: &'a GrantRow,
        app_name: &'a str,
    },
    GrantEnded {
        grant: &'a GrantRow,
        app_name: &'a str,
    },
}

impl Event<'_> {
    /// The request the event is about, when it carries one.
    fn request(&self) -> Option<&RequestRow> {
        match self {
            Event::RequestCreated { request, .. }
            | Event::Reminder { request, .. }
            | Event::Escalated { request, .. }
            | Event::ApprovalRecorded { request, .. }
            | Event::RequestDecided { request, .. }
            | Event::RequestCancelled { request, .. }
            | Event::RequestExpired { request, .. } => Some(request),
            Event::LoginCode { .. } | Event::GrantWarning { .. } | Event::GrantEnded { .. } => None,
        }
    }

    /// The application (and policy, when known) whose routes say where its chat messages go.
    fn route(&self) -> Option<(&str, Option<&str>)> {
        match (self, self.request()) {
            (_, Some(r)) => Some((r.app_slug.as_str(), Some(r.policy_name.as_str()))),
            (Event::GrantWarning { grant, .. } | Event::GrantEnded { grant, .. }, None) => {
                Some((grant.app_slug.as_str(), None))
            }
            _ => None,
        }
    }

    /// The request whose chat messages this event changes.
    fn request_id(&self) -> Option<i64> {
        match self {
            Event::LoginCode { .. } | Event::Reminder { .. } | Event::GrantWarning { .. } => None,
            Event::RequestCreated { request, .. }
            | Event::Escalated { request, .. }
            | Event::ApprovalRecorded { request, .. }
            | Event::RequestDecided { request, .. }
            | Event::RequestCancelled { request, .. }
            | Event::RequestExpired { request, .. } => Some(request.id),
            Event::GrantEnded { grant, .. } => Some(grant.request_id),
        }
    }
}

/// Where a request's chat messages should be: the routed channel, or the direct messages of
/// each approver who may decide it now and has an id in that service (`chat::USER` and the id).
/// Events without the request's policy (a grant's) name no approvers: they only edit.
fn targets(config: &Config, route: &Route, service: ChatService, event: &Event<'_>) -> Vec<String> {
    match route {
        Route::Channel(c) => vec![c.clone()],
        Route::Inherit | Route::Off => Vec::new(),
        Route::Approvers => {
            let Some(request) = event.request() else {
                return Vec::new();
            };
            let Some((_, t)) = config.temporary(&request.app_slug, &request.policy_name) else {
                return Vec::new();
            };
            policy::deciders(t, &request.requester, request.escalated_at.is_some())
                .into_iter()
                .filter_map(|email| config.approver(email))
                .filter_map(|a| match service {
                    ChatService::Slack => a.slack_id.as_deref(),
                    ChatService::Discord => a.discord_id.as_deref(),
                })
                .map(|id| format!("{}{id}", crate::config::USER))
                .collect()
        }
    }
}

/// Writes the messages for `event` to the outbox on `conn` (inside the caller's transaction);
/// returns the channels that got messages, for the server to wake their workers.
pub async fn enqueue(
    conn: &mut AnyConnection,
    config: &Config,
    event: Event<'_>,
    now: i64,
) -> sqlx::Result<Vec<Channel>> {
    enqueue_all(conn, config, &[event], now).await
}

/// As `enqueue`, for many events at once (written with a few statements).
pub async fn enqueue_all(
    conn: &mut AnyConnection,
    config: &Config,
    events: &[Event<'_>],
    now: i64,
) -> sqlx::Result<Vec<Channel>> {
    let mut rows = Vec::new();
    for event in events {
        for mail in messages::render(config, event) {
            let payload = serde_json::json!({
                "subject": mail.subject, "text": mail.text, "html": mail.html,
                "thread": mail.thread, "thread_root": mail.thread_root,
            });
            rows.push((
                mail.kind,
                mail.to,
                payload.to_string(),
                mail.request_id,
                Channel::Email,
            ));
        }
        // Every chat service shows each request in one message, rendered when sent from the
        // request as it is then: the message always shows the latest state, however late.
        // An extension decided also changes the original request's message (its expiry).
        let also = match event {
            Event::RequestDecided {
                grant: Some(g),
                request,
                ..
            } if request.extends_grant_id.is_some() => Some(g.request_id),
            _ => None,
        };
        let Some((slug, policy)) = event.route() else {
            continue;
        };
        for (service, channel) in [
            (ChatService::Discord, Channel::Discord),
            (ChatService::Slack, Channel::Slack),
        ] {
            // Where the application (or its policy) shows requests; none: email only.
            let Some(route) = config.chat_route(service, slug, policy) else {
                continue;
            };
            let targets = targets(config, route, service, event);
            for request_id in event.request_id().into_iter().chain(also) {
                let payload =
                    serde_json::json!({ "request_id": request_id, "targets": targets }).to_string();
                rows.push((
                    "sync_request",
                    targets.join(","),
                    payload,
                    Some(request_id),
                    channel,
                ));
            }
        }
    }
    let messages: Vec<NewMessage<'_>> = rows
        .iter()
        .map(|(kind, to, payload, request_id, channel)| NewMessage {
            channel: *channel,
            kind,
            recipient: to,
            payload: payload.clone(),
            request_id: *request_id,
        })
        .collect();
    Store::enqueue_many(conn, &messages, now).await?;
    let mut channels: Vec<Channel> = Vec::new();
    for (_, _, _, _, channel) in &rows {
        if !channels.contains(channel) {
            channels.push(*channel);
        }
    }
    Ok(channels)
}
