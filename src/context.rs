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
    pub outbox_wakeup: Notify,
}

impl Context {
    /// Call after committing a transaction that queued notifications.
    pub fn wake_outbox(&self) {
        self.outbox_wakeup.notify_one();
    }
}
