//! What every handler and background task shares.
use tokio::sync::Notify;

use crate::access_cache::AccessCache;
use crate::clock::Clock;
use crate::config::Config;
use crate::notify::email::Mailer;
use crate::store::Store;

pub struct Context {
    pub config: Config,
    pub store: Store,
    pub cache: AccessCache,
    pub clock: Clock,
    /// Key for cookies, CSRF tokens and login-code MACs.
    pub secret: Vec<u8>,
    pub mailer: Mailer,
    /// Set when `discord.enabled`.
    pub discord: Option<crate::discord::Discord>,
    pub limits: crate::rate_limit::RateLimiter,
    /// When the scheduler last finished a sweep (ms), for /healthz and /metrics.
    pub last_sweep_ms: std::sync::atomic::AtomicI64,
    /// One per outbox channel (`email`, `discord`).
    pub outbox_wakeups: [Notify; 2],
}

impl Context {
    /// Call after committing a transaction that queued notifications.
    pub fn wake_outbox(&self) {
        for n in &self.outbox_wakeups {
            n.notify_one();
        }
    }

    pub fn outbox_wakeup(&self, channel: &str) -> &Notify {
        &self.outbox_wakeups[usize::from(channel == "discord")]
    }
}
