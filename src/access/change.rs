//! What a use-case changed, handed to whoever runs it: the server applies it in one step
//! (`Context::apply`: access cache, outbox wake-up); another process (the CLI) leaves it to the
//! server, which sees the change through the audit log.
use crate::domain::Email;
use crate::store::{Channel, GrantRow};

/// What changed besides the database rows the use-case wrote.
#[derive(Debug, Default)]
pub struct Change {
    /// Every grant made, extended or ended, as it is now.
    pub grants: Vec<GrantRow>,
    pub sessions: Vec<SessionChange>,
    /// The outbox channels that have new messages.
    pub queued: Vec<Channel>,
}

#[derive(Debug)]
pub enum SessionChange {
    Started {
        id_hash: [u8; 32],
        email: Email,
        /// Every group the person is in.
        groups: Vec<String>,
        expires_at: i64,
    },
    Ended {
        id_hash: [u8; 32],
    },
}

impl Change {
    pub fn queued(channels: Vec<Channel>) -> Self {
        Self {
            queued: channels,
            ..Default::default()
        }
    }

    pub fn with_grant(mut self, grant: Option<&GrantRow>) -> Self {
        self.grants.extend(grant.cloned());
        self
    }

    pub fn merge(&mut self, other: Change) {
        self.grants.extend(other.grants);
        self.sessions.extend(other.sessions);
        for c in other.queued {
            if !self.queued.contains(&c) {
                self.queued.push(c);
            }
        }
    }
}

/// A use-case's result with what it changed. It must be applied by the server or handed on.
#[must_use = "apply it with Context::apply, or call `elsewhere` in a process without a cache"]
#[derive(Debug)]
pub struct Outcome<T> {
    value: T,
    change: Change,
}

impl<T> Outcome<T> {
    pub fn new(value: T, change: Change) -> Self {
        Self { value, change }
    }

    /// The value and the change, for the one step that applies it.
    pub fn into_parts(self) -> (T, Change) {
        (self.value, self.change)
    }

    /// The value, in a process that keeps no cache (the CLI): the running server picks the
    /// change up from the audit log.
    pub fn elsewhere(self) -> T {
        self.value
    }

    pub fn value(&self) -> &T {
        &self.value
    }
}
