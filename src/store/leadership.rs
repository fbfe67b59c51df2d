//! One replica at a time for what must run once (the Discord gateway connection): a PostgreSQL
//! session-level advisory lock, held on a connection of its own. When the holder dies its
//! connection closes, the server releases the lock, and the next replica that asks gets it.
use sqlx::{Connection, PgConnection};

use crate::store::{Engine, Store};

/// The lock for the Discord gateway connection.
pub const DISCORD_GATEWAY: i64 = 0x6461_7970_6173_7302;

pub struct Leadership {
    store: Store,
    key: i64,
    conn: Option<PgConnection>,
    held: bool,
}

impl Store {
    /// A claim on `key`, not yet taken (`Leadership::try_take`).
    pub fn leadership(&self, key: i64) -> Leadership {
        Leadership {
            store: self.clone(),
            key,
            conn: None,
            held: false,
        }
    }
}

impl Leadership {
    /// Takes the lock if nobody holds it; true while this process holds it. On SQLite (one
    /// process) it is always taken.
    pub async fn try_take(&mut self) -> sqlx::Result<bool> {
        if self.store.engine != Engine::Postgres {
            self.held = true;
            return Ok(true);
        }
        if self.held {
            return self.still_held().await.map(|()| true);
        }
        let conn = match &mut self.conn {
            Some(c) => c,
            None => {
                let mut c = PgConnection::connect(&self.store.url).await?;
                // If this replica's host dies (no FIN ever comes), the server finds out within
                // about ten seconds and frees the lock, instead of after hours of TCP silence.
                for set in [
                    "SET tcp_keepalives_idle = 5",
                    "SET tcp_keepalives_interval = 2",
                    "SET tcp_keepalives_count = 3",
                ] {
                    sqlx::query(set).execute(&mut c).await?;
                }
                self.conn.insert(c)
            }
        };
        let taken: Result<bool, sqlx::Error> =
            sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(self.key)
                .fetch_one(&mut *conn)
                .await;
        match taken {
            Ok(t) => {
                self.held = t;
                Ok(t)
            }
            Err(e) => {
                self.conn = None;
                Err(e)
            }
        }
    }

    /// Whether the lock is still ours: its connection still answers. An error means it is lost.
    pub async fn still_held(&mut self) -> sqlx::Result<()> {
        if self.store.engine != Engine::Postgres {
            return Ok(());
        }
        // A ping that does not come back (a partition) is a lost lock too.
        let result = match &mut self.conn {
            Some(c) => tokio::time::timeout(std::time::Duration::from_secs(5), c.ping())
                .await
                .unwrap_or(Err(sqlx::Error::PoolTimedOut)),
            None => Err(sqlx::Error::PoolClosed),
        };
        if result.is_err() {
            self.held = false;
            self.conn = None;
        }
        result
    }
}
