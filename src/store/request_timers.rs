//! Requests over time: withdrawn by the requester, reminded, escalated.
use sqlx::AnyConnection;

use crate::store::requests::COLUMNS;
use crate::store::{RequestRow, Store};

impl Store {
    /// The requester withdraws a pending request. `None` if it was no longer pending.
    pub async fn cancel_request(
        conn: &mut AnyConnection,
        id: i64,
        requester: &str,
        now: i64,
    ) -> sqlx::Result<Option<RequestRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE access_requests SET state = 'cancelled', decided_at = $1, decided_by = requester, decided_via = 'web' \
             WHERE id = $2 AND requester = $3 AND state = 'pending' RETURNING {COLUMNS}"
        )))
        .bind(now)
        .bind(id)
        .bind(requester)
        .fetch_optional(conn)
        .await
    }

    /// Pending requests whose next reminder is due.
    pub async fn due_reminders(
        conn: &mut AnyConnection,
        now: i64,
    ) -> sqlx::Result<Vec<RequestRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM access_requests WHERE state = 'pending' AND expires_at > $1 \
             AND next_reminder_at IS NOT NULL AND next_reminder_at <= $1 ORDER BY id"
        )))
        .bind(now)
        .fetch_all(conn)
        .await
    }

    /// Records that a reminder went out and when the next is due; `false` if another sweep
    /// already did (so a reminder is never sent twice, even across a restart).
    pub async fn advance_reminder(
        conn: &mut AnyConnection,
        id: i64,
        was: i64,
        next: Option<i64>,
    ) -> sqlx::Result<bool> {
        sqlx::query(
            "UPDATE access_requests SET reminders_sent = reminders_sent + 1, next_reminder_at = $1 \
             WHERE id = $2 AND next_reminder_at = $3 AND state = 'pending'",
        )
        .bind(next)
        .bind(id)
        .bind(was)
        .execute(conn)
        .await
        .map(|r| r.rows_affected() == 1)
    }

    /// Pending requests not yet escalated (the caller knows each policy's `escalate_after`).
    pub async fn unescalated_pending(
        conn: &mut AnyConnection,
        now: i64,
    ) -> sqlx::Result<Vec<RequestRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM access_requests WHERE state = 'pending' AND expires_at > $1 AND escalated_at IS NULL"
        )))
        .bind(now)
        .fetch_all(conn)
        .await
    }

    pub async fn mark_escalated(conn: &mut AnyConnection, id: i64, now: i64) -> sqlx::Result<bool> {
        sqlx::query("UPDATE access_requests SET escalated_at = $1 WHERE id = $2 AND escalated_at IS NULL AND state = 'pending'")
            .bind(now)
            .bind(id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected() == 1)
    }
}
