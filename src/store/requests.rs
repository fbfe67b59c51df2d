use sqlx::any::AnyExecutor;
use sqlx::AnyConnection;

use crate::domain::Email;
use crate::store::{RequestState, Store, Via};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestRow {
    pub id: i64,
    pub app_slug: String,
    pub policy_name: String,
    pub requester: Email,
    pub justification: String,
    pub wished_ms: Option<i64>,
    pub max_ms: i64,
    pub redirect_to: Option<String>,
    pub state: RequestState,
    pub created_at: i64,
    pub expires_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub decided_via: Option<Via>,
    pub reason: Option<String>,
    pub discord_message_id: Option<String>,
    /// Set when this asks for more time on a live grant.
    pub extends_grant_id: Option<i64>,
    pub approvals_needed: i64,
    pub next_reminder_at: Option<i64>,
    pub reminders_sent: i64,
    pub escalated_at: Option<i64>,
}

impl RequestRow {
    /// Is the request still waiting for a decision at `now`? (Pending and not yet expired: the
    /// scheduler may not have marked it expired yet.)
    pub fn is_open(&self, now: i64) -> bool {
        self.state == RequestState::Pending && self.expires_at > now
    }
}

pub struct NewRequest<'a> {
    pub app_slug: &'a str,
    pub policy_name: &'a str,
    pub requester: &'a str,
    pub justification: &'a str,
    pub wished_ms: Option<i64>,
    pub max_ms: i64,
    pub redirect_to: Option<&'a str>,
    pub created_at: i64,
    pub expires_at: i64,
    pub client_ip: Option<&'a str>,
    pub extends_grant_id: Option<i64>,
    pub approvals_needed: i64,
    pub next_reminder_at: Option<i64>,
}

pub(super) const COLUMNS: &str = "id, app_slug, policy_name, requester, justification, wished_ms, max_ms, \
     redirect_to, state, created_at, expires_at, decided_at, decided_by, decided_via, reason, discord_message_id, \
     extends_grant_id, approvals_needed, next_reminder_at, reminders_sent, escalated_at";

impl Store {
    pub async fn insert_request(conn: &mut AnyConnection, r: &NewRequest<'_>) -> sqlx::Result<i64> {
        sqlx::query_scalar(
            "INSERT INTO access_requests (app_slug, policy_name, requester, justification, wished_ms, \
             max_ms, redirect_to, created_at, expires_at, client_ip, extends_grant_id, approvals_needed, \
             next_reminder_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(r.app_slug)
        .bind(r.policy_name)
        .bind(r.requester)
        .bind(r.justification)
        .bind(r.wished_ms)
        .bind(r.max_ms)
        .bind(r.redirect_to)
        .bind(r.created_at)
        .bind(r.expires_at)
        .bind(r.client_ip)
        .bind(r.extends_grant_id)
        .bind(r.approvals_needed)
        .bind(r.next_reminder_at)
        .fetch_one(conn)
        .await
    }

    pub async fn request<'e>(
        exec: impl AnyExecutor<'e>,
        id: i64,
    ) -> sqlx::Result<Option<RequestRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM access_requests WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(exec)
        .await
    }

    /// The requester's pending request for an application, if one is still waiting.
    pub async fn pending_request_of(
        &self,
        requester: &str,
        slug: &str,
        now: i64,
    ) -> sqlx::Result<Option<RequestRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM access_requests \
             WHERE requester = $1 AND app_slug = $2 AND state = 'pending' AND expires_at > $3 \
             ORDER BY id DESC LIMIT 1"
        )))
        .bind(requester)
        .bind(slug)
        .bind(now)
        .fetch_optional(&self.read)
        .await
    }

    /// Remembers a chat interaction id; `false` if it was seen before (a replay).
    pub async fn first_sight_of_interaction(&self, id: &str, now: i64) -> sqlx::Result<bool> {
        sqlx::query("INSERT INTO discord_interactions (id, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(now)
            .execute(&self.write)
            .await
            .map(|r| r.rows_affected() == 1)
    }

    pub async fn pending_request_id(
        conn: &mut AnyConnection,
        requester: &str,
        slug: &str,
        now: i64,
    ) -> sqlx::Result<Option<i64>> {
        sqlx::query_scalar(
            "SELECT id FROM access_requests \
             WHERE requester = $1 AND app_slug = $2 AND state = 'pending' AND expires_at > $3 LIMIT 1",
        )
        .bind(requester)
        .bind(slug)
        .bind(now)
        .fetch_optional(conn)
        .await
    }

    /// Requests still waiting for a decision at `now`, oldest first.
    pub async fn open_requests(&self, now: i64, limit: i64) -> sqlx::Result<Vec<RequestRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM access_requests WHERE state = 'pending' AND expires_at > $1 \
             ORDER BY created_at, id LIMIT $2"
        )))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.read)
        .await
    }

    /// Requests by state, application and requester (each optional), newest first.
    pub async fn find_requests(
        &self,
        state: Option<RequestState>,
        app: Option<&str>,
        requester: Option<&str>,
        limit: i64,
    ) -> sqlx::Result<Vec<RequestRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM access_requests WHERE ($1 IS NULL OR state = $1) \
             AND ($2 IS NULL OR app_slug = $2) AND ($3 IS NULL OR requester = $3) \
             ORDER BY id DESC LIMIT $4"
        )))
        .bind(state)
        .bind(app)
        .bind(requester)
        .bind(limit)
        .fetch_all(&self.read)
        .await
    }

    pub async fn list_requests(
        &self,
        state: Option<RequestState>,
        limit: i64,
    ) -> sqlx::Result<Vec<RequestRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM access_requests WHERE ($1 IS NULL OR state = $1) ORDER BY id DESC LIMIT $2"
        )))
        .bind(state)
        .bind(limit)
        .fetch_all(&self.read)
        .await
    }

    /// Moves a pending, unexpired request to `approved` or `denied`. `None` means someone else
    /// decided first, or it expired: the first decision wins, even across processes.
    #[allow(clippy::too_many_arguments)]
    pub async fn decide_request(
        conn: &mut AnyConnection,
        id: i64,
        state: RequestState,
        by: &str,
        via: Via,
        reason: Option<&str>,
        now: i64,
    ) -> sqlx::Result<Option<RequestRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE access_requests SET state = $1, decided_at = $2, decided_by = $3, decided_via = $4, reason = $5 \
             WHERE id = $6 AND state = 'pending' AND expires_at > $7 RETURNING {COLUMNS}"
        )))
        .bind(state)
        .bind(now)
        .bind(by)
        .bind(via)
        .bind(reason)
        .bind(id)
        .bind(now)
        .fetch_optional(conn)
        .await
    }

    /// Expires every pending request whose time to be answered has passed, and every pending
    /// extension whose grant has ended.
    pub async fn expire_pending_requests(
        conn: &mut AnyConnection,
        now: i64,
    ) -> sqlx::Result<Vec<RequestRow>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE access_requests SET state = 'expired', decided_at = CASE WHEN expires_at < $1 THEN expires_at ELSE $1 END, decided_by = 'daypass', \
             decided_via = 'scheduler' WHERE state = 'pending' AND (expires_at <= $1 OR extends_grant_id IN \
             (SELECT id FROM grants WHERE state <> 'active' OR expires_at <= $1)) RETURNING {COLUMNS}"
        )))
        .bind(now)
        .fetch_all(conn)
        .await
    }
}
