use sqlx::AnyConnection;

use crate::store::builder::Sql;
use crate::store::{Channel, Engine, Store};

/// A notification to deliver, written in the same transaction as the change it tells of.
pub struct NewMessage<'a> {
    pub channel: Channel,
    pub kind: &'a str,
    pub recipient: &'a str,
    pub payload: String,
    pub request_id: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub channel: Channel,
    pub kind: String,
    pub recipient: String,
    pub payload: String,
    pub request_id: Option<i64>,
    pub attempts: i64,
}

impl Store {
    pub async fn enqueue(
        conn: &mut AnyConnection,
        m: &NewMessage<'_>,
        now: i64,
    ) -> sqlx::Result<i64> {
        sqlx::query_scalar(
            "INSERT INTO outbox (channel, kind, recipient, payload, request_id, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(m.channel)
        .bind(m.kind)
        .bind(m.recipient)
        .bind(&m.payload)
        .bind(m.request_id)
        .bind(now)
        .bind(now)
        .fetch_one(conn)
        .await
    }

    /// Queues many messages with few statements.
    pub async fn enqueue_many(
        conn: &mut AnyConnection,
        messages: &[NewMessage<'_>],
        now: i64,
    ) -> sqlx::Result<()> {
        for chunk in messages.chunks(2000) {
            let mut q = Sql::new(
                "INSERT INTO outbox (channel, kind, recipient, payload, request_id, created_at, next_attempt_at)",
            );
            q.values(chunk, |b, m| {
                b.bind(m.channel)
                    .bind(m.kind)
                    .bind(m.recipient)
                    .bind(m.payload.as_str())
                    .bind(m.request_id)
                    .bind(now)
                    .bind(now);
            });
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Takes the oldest message of `channel` that is due, if any, for `lease_ms`: no other
    /// worker (another replica) takes it meanwhile; if this one dies before it is sent or failed,
    /// the lease runs out and another worker sends it. On PostgreSQL the row is claimed with
    /// `FOR UPDATE SKIP LOCKED`, so workers racing for the queue each take a different message.
    pub async fn claim_due_message(
        &self,
        channel: Channel,
        now: i64,
        lease_ms: i64,
    ) -> sqlx::Result<Option<OutboxRow>> {
        let sql = match self.engine {
            Engine::Sqlite => {
                "UPDATE outbox SET next_attempt_at = $3 WHERE id = (SELECT id FROM outbox \
                 WHERE state = 'pending' AND channel = $1 AND next_attempt_at <= $2 ORDER BY id LIMIT 1) \
                 RETURNING id, channel, kind, recipient, payload, request_id, attempts"
            }
            Engine::Postgres => {
                "UPDATE outbox SET next_attempt_at = $3 WHERE id = (SELECT id FROM outbox \
                 WHERE state = 'pending' AND channel = $1 AND next_attempt_at <= $2 ORDER BY id LIMIT 1 \
                 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, channel, kind, recipient, payload, request_id, attempts"
            }
        };
        sqlx::query_as(sql)
            .bind(channel)
            .bind(now)
            .bind(now + lease_ms)
            .fetch_optional(&self.write)
            .await
    }

    pub async fn mark_sent(&self, id: i64, now: i64) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE outbox SET state = 'sent', sent_at = $1, attempts = attempts + 1 WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&self.write)
        .await
        .map(|_| ())
    }

    /// Records a failed attempt: try again at `retry_at`, or give up when it is `None`.
    pub async fn fail_message(
        conn: &mut AnyConnection,
        id: i64,
        error: &str,
        retry_at: Option<i64>,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1, \
             state = CASE WHEN $2 IS NULL THEN 'failed' ELSE 'pending' END, \
             next_attempt_at = COALESCE($2, next_attempt_at) WHERE id = $3",
        )
        .bind(error)
        .bind(retry_at)
        .bind(id)
        .execute(conn)
        .await
        .map(|_| ())
    }

    /// Messages per channel and state, for /metrics.
    pub async fn outbox_counts(&self) -> sqlx::Result<Vec<(String, String, i64)>> {
        sqlx::query_as("SELECT channel, state, COUNT(*) FROM outbox GROUP BY channel, state ORDER BY channel, state")
            .fetch_all(&self.read)
            .await
    }

    pub async fn outbox_backlog(&self) -> sqlx::Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
            .fetch_one(&self.read)
            .await
    }
}
