//! The change feed on PostgreSQL: every audit event is announced on `daypass_changes` (a trigger
//! in the schema), so replicas read the audit log as soon as something happened instead of at
//! their next look. The announcement only wakes them: what changed is read from the log, so a
//! lost announcement (a dropped connection) delays nothing past the next look.
use sqlx::postgres::PgListener;

use crate::store::{Engine, Store};

pub const CHANNEL: &str = "daypass_changes";

pub struct ChangeFeed {
    listener: PgListener,
}

impl ChangeFeed {
    /// Waits for the next announcement. An error means the connection was lost; the next call
    /// connects again.
    pub async fn next(&mut self) -> sqlx::Result<()> {
        self.listener.recv().await.map(|_| ())
    }
}

impl Store {
    /// Listens for changes, on PostgreSQL; `None` on SQLite (one process: nothing to hear).
    pub async fn change_feed(&self) -> sqlx::Result<Option<ChangeFeed>> {
        if self.engine != Engine::Postgres {
            return Ok(None);
        }
        let mut listener = PgListener::connect(&self.url).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(ChangeFeed { listener }))
    }
}
