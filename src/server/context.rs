//! What every handler and background task shares, and the one step that applies what a
//! use-case changed.
use std::sync::atomic::{AtomicBool, AtomicI64};

use tokio::sync::Notify;

use crate::access::change::{Change, Outcome, SessionChange};
use crate::chat::discord::Discord;
use crate::chat::slack::Slack;
use crate::chat::Chat;
use crate::clock::Clock;
use crate::config::Config;
use crate::notify::email::Mailer;
use crate::server::access_cache::AccessCache;
use crate::store::{Channel, Store};

pub struct Context {
    pub config: Config,
    pub store: Store,
    pub cache: AccessCache,
    pub clock: Clock,
    /// Key for cookies, CSRF tokens and login-code MACs.
    pub secret: Vec<u8>,
    pub mailer: Mailer,
    /// Set when `discord.enabled`.
    pub discord: Option<Discord>,
    /// Set when `slack.enabled`.
    pub slack: Option<Slack>,
    /// Set when `identity.mode = "oidc"`.
    pub oidc: Option<crate::identity::oidc::Provider>,
    /// Sends `[[webhooks]]` events.
    pub webhooks: crate::notify::webhooks::Sender,
    pub limits: crate::server::rate_limit::Limits,
    /// When the scheduler last finished a sweep (ms), for /healthz and /metrics.
    pub last_sweep_ms: AtomicI64,
    /// Whether this replica hears of changes made elsewhere as they happen (PostgreSQL's change
    /// feed is connected; on SQLite, the audit-log follower runs).
    pub following: AtomicBool,
    /// Whether this replica holds the Discord gateway connection (`discord.mode = "gateway"`).
    pub gateway_held: AtomicBool,
    /// One per outbox channel, in `Channel::ALL` order.
    pub outbox_wakeups: Vec<Notify>,
}

impl Context {
    /// Applies what a use-case changed, once its transaction has committed: the access cache
    /// learns every grant and session that changed, and the outbox workers with new messages
    /// wake up. Every server-side caller goes through here, so none can forget a part.
    pub fn apply<T>(&self, outcome: Outcome<T>) -> T {
        let (value, change) = outcome.into_parts();
        self.apply_change(change);
        value
    }

    fn apply_change(&self, change: Change) {
        for g in &change.grants {
            self.cache.put_grant(g);
        }
        for s in change.sessions {
            match s {
                SessionChange::Started {
                    id_hash,
                    email,
                    groups,
                    expires_at,
                } => self.cache.put_session(&id_hash, email, groups, expires_at),
                SessionChange::Ended { id_hash } => self.cache.remove_session(&id_hash),
            }
        }
        for c in change.queued {
            self.outbox_wakeup(c).notify_one();
        }
    }

    pub fn outbox_wakeup(&self, channel: Channel) -> &Notify {
        &self.outbox_wakeups[channel.index()]
    }

    /// The chat service that delivers `channel`, if it is one and enabled.
    pub fn chat(&self, channel: Channel) -> Option<&dyn Chat> {
        match channel {
            Channel::Discord => self.discord.as_ref().map(|d| d as &dyn Chat),
            Channel::Slack => self.slack.as_ref().map(|s| s as &dyn Chat),
            Channel::Email | Channel::Webhook => None,
        }
    }
}
