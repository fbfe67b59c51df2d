use serde::Serialize;
use sqlx::AnyConnection;

use crate::store::builder::Sql;
use crate::store::{AuditAction, Store, Via};

/// Where a decision or change came from, for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub via: Via,
    pub client_ip: Option<&'a str>,
    pub discord_user: Option<&'a str>,
}

impl<'a> Origin<'a> {
    pub fn new(via: Via) -> Self {
        Self {
            via,
            client_ip: None,
            discord_user: None,
        }
    }

    pub fn web(client_ip: Option<&'a str>) -> Self {
        Self {
            client_ip,
            ..Self::new(Via::Web)
        }
    }
}

/// What an audit search keeps; every part is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// From this time (ms), included.
    pub since: Option<i64>,
    /// Up to this time (ms), excluded.
    pub until: Option<i64>,
    pub app: Option<String>,
    /// The requester or the actor.
    pub person: Option<String>,
    pub action: Option<AuditAction>,
}

/// One line of the append-only audit log.
#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    pub at: i64,
    pub action: AuditAction,
    pub actor: &'a str,
    pub channel: Via,
    pub request_id: Option<i64>,
    pub grant_id: Option<i64>,
    pub app_slug: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub justification: Option<&'a str>,
    pub duration_ms: Option<i64>,
    pub reason: Option<&'a str>,
    pub client_ip: Option<&'a str>,
    pub discord_user: Option<&'a str>,
}

impl<'a> NewAudit<'a> {
    /// An event with only its time, action, actor and origin; set the rest by name.
    pub fn new(at: i64, action: AuditAction, actor: &'a str, origin: Origin<'a>) -> Self {
        Self {
            at,
            action,
            actor,
            channel: origin.via,
            request_id: None,
            grant_id: None,
            app_slug: None,
            subject: None,
            justification: None,
            duration_ms: None,
            reason: None,
            client_ip: origin.client_ip,
            discord_user: origin.discord_user,
        }
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEvent {
    pub id: i64,
    pub at: i64,
    pub action: AuditAction,
    pub actor: String,
    pub channel: Via,
    pub request_id: Option<i64>,
    pub grant_id: Option<i64>,
    pub app_slug: Option<String>,
    pub subject: Option<String>,
    pub justification: Option<String>,
    pub duration_ms: Option<i64>,
    pub reason: Option<String>,
    pub client_ip: Option<String>,
    pub discord_user: Option<String>,
}

impl AuditEvent {
    /// The event as one JSON line (`daypass audit --json`, the admin page's export): its
    /// fields, and `time` in RFC 3339 beside `at`.
    pub fn json_line(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        v["time"] = serde_json::Value::String(crate::clock::rfc3339(self.at));
        v.to_string()
    }
}

impl Store {
    pub async fn append_audit(conn: &mut AnyConnection, e: &NewAudit<'_>) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO audit_events (at, action, actor, channel, request_id, grant_id, app_slug, subject, \
             justification, duration_ms, reason, client_ip, discord_user) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(e.at)
        .bind(e.action)
        .bind(e.actor)
        .bind(e.channel)
        .bind(e.request_id)
        .bind(e.grant_id)
        .bind(e.app_slug)
        .bind(e.subject)
        .bind(e.justification)
        .bind(e.duration_ms)
        .bind(e.reason)
        .bind(e.client_ip)
        .bind(e.discord_user)
        .execute(conn)
        .await
        .map(|_| ())
    }

    /// Appends many events with few statements (the sweep's thousands of expiries).
    pub async fn append_audits(
        conn: &mut AnyConnection,
        events: &[NewAudit<'_>],
    ) -> sqlx::Result<()> {
        // 13 values a row stays well under SQLite's 32,766 bound parameters.
        for chunk in events.chunks(1000) {
            let mut q = Sql::new(
                "INSERT INTO audit_events (at, action, actor, channel, request_id, grant_id, app_slug, subject, \
                 justification, duration_ms, reason, client_ip, discord_user)",
            );
            q.values(chunk, |b, e| {
                b.bind(e.at)
                    .bind(e.action)
                    .bind(e.actor)
                    .bind(e.channel)
                    .bind(e.request_id)
                    .bind(e.grant_id)
                    .bind(e.app_slug)
                    .bind(e.subject)
                    .bind(e.justification)
                    .bind(e.duration_ms)
                    .bind(e.reason)
                    .bind(e.client_ip)
                    .bind(e.discord_user);
            });
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Events after `after_id` (and at or after `since`), oldest first.
    pub async fn audit_events(
        &self,
        after_id: i64,
        since: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<AuditEvent>> {
        sqlx::query_as(
            "SELECT id, at, action, actor, channel, request_id, grant_id, app_slug, subject, justification, \
             duration_ms, reason, client_ip, discord_user FROM audit_events WHERE id > $1 AND at >= $2 ORDER BY id LIMIT $3",
        )
        .bind(after_id)
        .bind(since)
        .bind(limit)
        .fetch_all(&self.read)
        .await
    }

    /// The latest decisions (approvals, denials, extensions, quorum approvals) made by `actor`.
    pub async fn decisions_by(&self, actor: &str, limit: i64) -> sqlx::Result<Vec<AuditEvent>> {
        sqlx::query_as(
            "SELECT id, at, action, actor, channel, request_id, grant_id, app_slug, subject, justification, \
             duration_ms, reason, client_ip, discord_user FROM audit_events WHERE actor = $1 AND action IN \
             ('request_approved', 'request_denied', 'grant_extended', 'approval_recorded') \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(actor)
        .bind(limit)
        .fetch_all(&self.read)
        .await
    }

    /// One page of the events that match `filter`, newest first, older than `before_id` when set.
    pub async fn search_audit(
        &self,
        filter: &AuditFilter,
        before_id: Option<i64>,
        limit: i64,
    ) -> sqlx::Result<Vec<AuditEvent>> {
        // Only the conditions that are set, so SQLite picks the index that fits (one per filter).
        let mut q = Sql::new(
            "SELECT id, at, action, actor, channel, request_id, grant_id, app_slug, subject, justification, \
             duration_ms, reason, client_ip, discord_user FROM audit_events WHERE 1 = 1",
        );
        if let Some(t) = filter.since {
            q.push(" AND at >= ").bind(t);
        }
        if let Some(t) = filter.until {
            q.push(" AND at < ").bind(t);
        }
        if let Some(a) = &filter.app {
            q.push(" AND app_slug = ").bind(a.clone());
        }
        if let Some(p) = &filter.person {
            q.push(" AND (subject = ")
                .bind(p.clone())
                .push(" OR actor = ")
                .bind(p.clone())
                .push(")");
        }
        if let Some(a) = filter.action {
            q.push(" AND action = ").bind(a);
        }
        if let Some(id) = before_id {
            q.push(" AND id < ").bind(id);
        }
        q.push(" ORDER BY id DESC LIMIT ").bind(limit);
        q.fetch_all(&self.read).await
    }

    pub async fn last_audit_id(&self) -> sqlx::Result<i64> {
        sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM audit_events")
            .fetch_one(&self.read)
            .await
    }
}

impl Store {
    /// Decisions taken so far, per channel, for /metrics.
    pub async fn decision_counts(&self) -> sqlx::Result<Vec<(String, i64)>> {
        sqlx::query_as(
            "SELECT channel, COUNT(*) FROM audit_events \
             WHERE action IN ('request_approved', 'request_denied', 'grant_extended', 'approval_recorded') \
             GROUP BY channel ORDER BY channel",
        )
        .fetch_all(&self.read)
        .await
    }

    /// Requests per state, for /metrics.
    pub async fn request_counts(&self) -> sqlx::Result<Vec<(String, i64)>> {
        sqlx::query_as("SELECT state, COUNT(*) FROM access_requests GROUP BY state ORDER BY state")
            .fetch_all(&self.read)
            .await
    }
}
