//! Rate limits counted in the database, so that they hold across replicas.
use sqlx::AnyConnection;

use crate::store::{Engine, Store};

impl Store {
    /// Counts one event for each `(key, window_ms, max)` if every key is under its `max`
    /// within its window; otherwise counts nothing and gives the milliseconds until the tightest
    /// allows it again. One write transaction: replicas counting at once take turns.
    pub async fn count_hits(
        &self,
        keys: &[(&str, i64, i64)],
        now: i64,
    ) -> sqlx::Result<Result<(), i64>> {
        // Not the write lock: each key is counted under a lock of its own, so a flood of
        // sign-in attempts never queues ahead of decisions, revokes and sign-outs.
        let mut tx = match self.engine {
            Engine::Sqlite => self.begin().await?,
            Engine::Postgres => {
                let mut tx = self.write.begin().await?;
                let mut names: Vec<&str> = keys.iter().map(|(k, _, _)| *k).collect();
                names.sort_unstable();
                for key in names {
                    sqlx::query(
                        "SELECT true FROM pg_advisory_xact_lock(CAST(hashtext($1) AS BIGINT))",
                    )
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                }
                tx
            }
        };
        let mut wait_ms = 0;
        for (key, window_ms, max) in keys {
            let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
                "SELECT COUNT(*), MIN(at) FROM rate_limit_hits WHERE key = $1 AND at > $2",
            )
            .bind(*key)
            .bind(now - window_ms)
            .fetch_one(&mut *tx)
            .await?;
            if count >= *max {
                wait_ms = wait_ms.max(oldest.unwrap_or(now) + window_ms - now);
            }
        }
        if wait_ms > 0 {
            tx.rollback().await?;
            return Ok(Err(wait_ms));
        }
        for (key, window_ms, _) in keys {
            sqlx::query("DELETE FROM rate_limit_hits WHERE key = $1 AND at <= $2")
                .bind(*key)
                .bind(now - window_ms)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO rate_limit_hits (key, at) VALUES ($1, $2)")
                .bind(*key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Forgets events older than `before` (no window is longer).
    pub async fn forget_hits(conn: &mut AnyConnection, before: i64) -> sqlx::Result<u64> {
        sqlx::query("DELETE FROM rate_limit_hits WHERE at <= $1")
            .bind(before)
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
    }
}
