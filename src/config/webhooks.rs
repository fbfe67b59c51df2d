//! `[[webhooks]]`: receivers of events, each with its signing secret and the events it takes.
use serde::Deserialize;

use super::{secret, ConfigError, Result, SecretSource};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    pub url: String,
    pub secret_env: String,
    pub secret_file: Option<String>,
    /// Event types to send; all when left out.
    pub events: Option<Vec<String>>,
}

/// A receiver of events: every state change it subscribed to is POSTed to `url` as JSON,
/// signed with its secret.
#[derive(Clone, Debug)]
pub struct Webhook {
    pub url: url::Url,
    pub secret: SecretSource,
    /// The event types it takes (`request.approved`, …); empty: all of them.
    pub events: Vec<String>,
}

impl Webhook {
    pub fn wants(&self, event: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event)
    }
}

/// The event types webhooks can take, one per kind of state change.
pub const WEBHOOK_EVENTS: &[&str] = &[
    "request.created",
    "request.approved",
    "request.denied",
    "request.cancelled",
    "request.expired",
    "request.escalated",
    "approval.recorded",
    "extension.requested",
    "grant.extended",
    "grant.revoked",
    "grant.expired",
];

pub(super) fn webhooks(raw: Vec<RawWebhook>) -> Result<Vec<Webhook>> {
    raw.into_iter()
        .enumerate()
        .map(|(i, w)| {
            let key = format!("webhooks[{i}]");
            let url = url::Url::parse(&w.url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .ok_or_else(|| {
                    ConfigError::new(
                        format!("{key}.url"),
                        format!("`{}` is not an http(s) URL", w.url),
                    )
                })?;
            if w.secret_env.trim().is_empty() {
                return Err(ConfigError::new(
                    format!("{key}.secret_env"),
                    "name the environment variable that holds the signing secret",
                ));
            }
            let events = w.events.unwrap_or_default();
            if let Some((j, e)) = events
                .iter()
                .enumerate()
                .find(|(_, e)| !WEBHOOK_EVENTS.contains(&e.as_str()))
            {
                return Err(ConfigError::new(
                    format!("{key}.events[{j}]"),
                    format!(
                        "`{e}` is not an event; they are {}",
                        WEBHOOK_EVENTS.join(", ")
                    ),
                ));
            }
            Ok(Webhook {
                url,
                secret: secret(w.secret_env, w.secret_file),
                events,
            })
        })
        .collect()
}
