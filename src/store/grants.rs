use sqlx::any::AnyExecutor;
use sqlx::AnyConnection;

use crate::domain::Email;
use crate::store::{GrantState, Store};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GrantRow {
    pub id: i64,
    pub request_id: i64,
    pub app_slug: String,
    pub email: Email,
    pub approved_by: String,
    pub approved_at: i64,
    pub expires_at: i64,
    pub state: GrantState,
    pub ended_at: Option<i64>,
    pub ended_by: Option<String>,
    pub end_reason: Option<String>,
    /// The latest extension's approval; the caps count from it.
    pub extended_at: Option<i64>,
    pub warned_at: Option<i64>,
}

pub struct NewGrant<'a> {
    pub request_id: i64,
    pub app_slug: &'a str,
    pub email: &'a str,
    pub approved_by: &'a str,
    pub approved_at: i64,
    pub expires_at: i64,
    /// The policy's cap when the grant was made; the schema holds the grant to it.
    pub max_ms: i64,
}

const COLUMNS: &str =
    "id, request_id, app_slug, email, approved_by, approved_at, expires_at, state, ended_at, \
     ended_by, end_reason, extended_at, warned_at";

impl GrantRow {
    /// Does this grant let its holder in at `now`? The one place that says what "live" means.
    pub fn is_live(&self, now: i64) -> bool {
        self.state == GrantState::Active && self.expires_at > now
    }
}

impl Store {
    pub async fn insert_grant(
        conn: &mut AnyConnection,
        g: &NewGrant<'_>,
    ) -> sqlx::Result<GrantRow> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO grants (request_id, app_slug, email, approved_by, approved_at, expires_at, max_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
        )))
        .bind(g.request_id)
        .bind(g.app_slug)
        .bind(g.email)
        .bind(g.approved_by)
        .bind(g.approved_at)
        .bind(g.expires_at)
        .bind(g.max_ms)
        .fetch_one(conn)
        .await
    }

    pub async fn grant<'e>(exec: impl AnyExecutor<'e>, id: i64) -> sqlx::Result<Option<GrantRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM grants WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(exec)
        .await
    }

    pub async fn grant_for_request(&self, request_id: i64) -> sqlx::Result<Option<GrantRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM grants WHERE request_id = $1"
        )))
        .bind(request_id)
        .fetch_optional(&self.read)
        .await
    }

    /// The most recent grant of `email` at `app_slug`, live or ended.
    pub async fn latest_grant_of(
        &self,
        email: &str,
        app_slug: &str,
    ) -> sqlx::Result<Option<GrantRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM grants WHERE email = $1 AND app_slug = $2 ORDER BY id DESC LIMIT 1"
        )))
        .bind(email)
        .bind(app_slug)
        .fetch_optional(&self.read)
        .await
    }

    /// Grants that are active and unexpired at `now`: what the access cache starts from.
    pub async fn live_grants(&self, now: i64) -> sqlx::Result<Vec<GrantRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM grants WHERE state = 'active' AND expires_at > $1"
        )))
        .bind(now)
        .fetch_all(&self.read)
        .await
    }

    pub async fn list_grants(
        &self,
        active_only: bool,
        now: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<GrantRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM grants WHERE ($1 = 0 OR (state = 'active' AND expires_at > $2)) \
             ORDER BY id DESC LIMIT $3"
        )))
        .bind(i64::from(active_only))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.read)
        .await
    }

    /// Ends an active grant early. `None` when it had already ended.
    pub async fn revoke_grant(
        conn: &mut AnyConnection,
        id: i64,
        by: &str,
        reason: Option<&str>,
        now: i64,
    ) -> sqlx::Result<Option<GrantRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE grants SET state = 'revoked', ended_at = $1, ended_by = $2, end_reason = $3 \
             WHERE id = $4 AND state = 'active' RETURNING {COLUMNS}"
        )))
        .bind(now)
        .bind(by)
        .bind(reason)
        .bind(id)
        .fetch_optional(conn)
        .await
    }

    /// Moves a live grant's end to `until` (never earlier than it was), counting from `now`.
    /// `None` when the grant is no longer live.
    pub async fn extend_grant(
        conn: &mut AnyConnection,
        id: i64,
        now: i64,
        until: i64,
    ) -> sqlx::Result<Option<GrantRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE grants SET expires_at = CASE WHEN expires_at > $1 THEN expires_at ELSE $1 END, extended_at = $2, warned_at = NULL \
             WHERE id = $3 AND state = 'active' AND expires_at > $2 RETURNING {COLUMNS}"
        )))
        .bind(until)
        .bind(now)
        .bind(id)
        .fetch_optional(conn)
        .await
    }

    /// Live grants that end within `before_ms` and have not been warned yet; marks them warned.
    pub async fn warn_due_grants(
        conn: &mut AnyConnection,
        now: i64,
        before_ms: i64,
    ) -> sqlx::Result<Vec<GrantRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE grants SET warned_at = $1 WHERE state = 'active' AND warned_at IS NULL \
             AND expires_at > $1 AND expires_at <= $1 + $2 RETURNING {COLUMNS}"
        )))
        .bind(now)
        .bind(before_ms)
        .fetch_all(conn)
        .await
    }

    /// Marks every active grant whose time is up as expired.
    pub async fn expire_due_grants(
        conn: &mut AnyConnection,
        now: i64,
    ) -> sqlx::Result<Vec<GrantRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE grants SET state = 'expired', ended_at = expires_at, ended_by = 'daypass' \
             WHERE state = 'active' AND expires_at <= $1 RETURNING {COLUMNS}"
        )))
        .bind(now)
        .fetch_all(conn)
        .await
    }
}
