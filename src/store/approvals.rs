use sqlx::any::AnyExecutor;
use sqlx::AnyConnection;

use crate::domain::Email;
use crate::store::{Store, Via};

/// One approver's approval of a request that needs several.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApprovalRow {
    pub approver: Email,
    pub duration_ms: i64,
    pub approved_at: i64,
    pub channel: Via,
}

impl Store {
    /// Records an approval; `false` if this approver had already approved.
    pub async fn insert_approval(
        conn: &mut AnyConnection,
        request_id: i64,
        approver: &Email,
        duration_ms: i64,
        now: i64,
        channel: Via,
    ) -> sqlx::Result<bool> {
        sqlx::query(
            "INSERT INTO approvals (request_id, approver, duration_ms, approved_at, channel) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(request_id)
        .bind(approver)
        .bind(duration_ms)
        .bind(now)
        .bind(channel)
        .execute(conn)
        .await
        .map(|r| r.rows_affected() == 1)
    }

    pub async fn approvals<'e>(
        exec: impl AnyExecutor<'e>,
        request_id: i64,
    ) -> sqlx::Result<Vec<ApprovalRow>> {
        sqlx::query_as("SELECT approver, duration_ms, approved_at, channel FROM approvals WHERE request_id = $1 ORDER BY approved_at")
            .bind(request_id)
            .fetch_all(exec)
            .await
    }
}
