//! `daypass copy-db`: every row of one database into another, empty one (SQLite to PostgreSQL
//! when an installation outgrows one machine), with the ids it had.
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::store::builder::Sql;
use crate::store::{Engine, Store};

#[derive(Clone, Copy)]
enum Kind {
    Int,
    Text,
    Bytes,
}
use Kind::{Bytes, Int, Text};

/// The tables, parents first, with their columns. `access_requests.extends_grant_id` points at a
/// grant, which points back at its request: it is filled in after the grants are copied.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "access_requests",
        &[
            ("id", Int),
            ("app_slug", Text),
            ("policy_name", Text),
            ("requester", Text),
            ("justification", Text),
            ("wished_ms", Int),
            ("max_ms", Int),
            ("redirect_to", Text),
            ("state", Text),
            ("created_at", Int),
            ("expires_at", Int),
            ("decided_at", Int),
            ("decided_by", Text),
            ("decided_via", Text),
            ("reason", Text),
            ("client_ip", Text),
            ("discord_message_id", Text),
            ("approvals_needed", Int),
            ("next_reminder_at", Int),
            ("reminders_sent", Int),
            ("escalated_at", Int),
        ],
    ),
    (
        "grants",
        &[
            ("id", Int),
            ("request_id", Int),
            ("app_slug", Text),
            ("email", Text),
            ("approved_by", Text),
            ("approved_at", Int),
            ("expires_at", Int),
            ("max_ms", Int),
            ("state", Text),
            ("ended_at", Int),
            ("ended_by", Text),
            ("end_reason", Text),
            ("extended_at", Int),
            ("warned_at", Int),
        ],
    ),
    (
        "approvals",
        &[
            ("request_id", Int),
            ("approver", Text),
            ("duration_ms", Int),
            ("approved_at", Int),
            ("channel", Text),
        ],
    ),
    (
        "review_tokens",
        &[
            ("token_hash", Bytes),
            ("request_id", Int),
            ("approver", Text),
            ("created_at", Int),
            ("used_at", Int),
        ],
    ),
    (
        "sessions",
        &[
            ("id_hash", Bytes),
            ("email", Text),
            ("created_at", Int),
            ("expires_at", Int),
            ("member_of", Text),
        ],
    ),
    (
        "login_codes",
        &[
            ("challenge_hash", Bytes),
            ("email", Text),
            ("code_mac", Bytes),
            ("created_at", Int),
            ("expires_at", Int),
            ("attempts", Int),
            ("used_at", Int),
        ],
    ),
    (
        "audit_events",
        &[
            ("id", Int),
            ("at", Int),
            ("action", Text),
            ("actor", Text),
            ("channel", Text),
            ("request_id", Int),
            ("grant_id", Int),
            ("app_slug", Text),
            ("subject", Text),
            ("justification", Text),
            ("duration_ms", Int),
            ("reason", Text),
            ("client_ip", Text),
            ("discord_user", Text),
        ],
    ),
    (
        "outbox",
        &[
            ("id", Int),
            ("channel", Text),
            ("kind", Text),
            ("recipient", Text),
            ("payload", Text),
            ("request_id", Int),
            ("created_at", Int),
            ("next_attempt_at", Int),
            ("attempts", Int),
            ("state", Text),
            ("last_error", Text),
            ("sent_at", Int),
        ],
    ),
    (
        "discord_interactions",
        &[("id", Text), ("received_at", Int)],
    ),
    (
        "chat_messages",
        &[
            ("request_id", Int),
            ("channel", Text),
            ("target", Text),
            ("chat_channel", Text),
            ("message_id", Text),
        ],
    ),
    ("rate_limit_hits", &[("key", Text), ("at", Int)]),
];

/// Tables whose `id` the target must go on counting from.
const WITH_IDS: &[&str] = &["access_requests", "grants", "audit_events", "outbox"];

/// Rows copied, per table, in the order they were copied.
pub type Copied = Vec<(&'static str, u64)>;

impl Store {
    /// The first table of `self` that holds rows, and how many: a target must have none.
    pub async fn first_nonempty_table(&self) -> sqlx::Result<Option<(&'static str, i64)>> {
        for (table, _) in TABLES {
            let n: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(&self.read)
                    .await?;
            if n > 0 {
                return Ok(Some((table, n)));
            }
        }
        Ok(None)
    }

    /// Copies every row of `self` into `target` (migrated and empty), reading one snapshot of
    /// `self` and writing `target` in one transaction: all of it or nothing. `progress` hears
    /// of each table when it is done.
    pub async fn copy_into(
        &self,
        target: &Store,
        mut progress: impl FnMut(&str, u64),
    ) -> anyhow::Result<Copied> {
        if let Some((table, n)) = target.first_nonempty_table().await? {
            anyhow::bail!(
                "the target database is not empty ({table} has {n} rows): copy-db only fills a new, empty database"
            );
        }
        let mut from = self.read.begin().await?;
        let mut to = target.begin().await?;
        let mut copied = Vec::new();
        for (table, columns) in TABLES {
            let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
            let list = names.join(", ");
            let rows: Vec<AnyRow> =
                sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {list} FROM {table}")))
                    .fetch_all(&mut *from)
                    .await?;
            // Well under both engines' bound-parameter limits (SQLite 32,766; PostgreSQL 65,535).
            let per_statement = (30_000 / columns.len()).max(1);
            for chunk in rows.chunks(per_statement) {
                let mut insert = Sql::new(&format!("INSERT INTO {table} ({list})"));
                let mut bad = None;
                insert.values(chunk, |b, row| {
                    for (i, (name, kind)) in columns.iter().enumerate() {
                        let bound = match kind {
                            Int => row.try_get::<Option<i64>, _>(i).map(|v| {
                                b.bind(v);
                            }),
                            Text => row.try_get::<Option<String>, _>(i).map(|v| {
                                b.bind(v);
                            }),
                            Bytes => row.try_get::<Option<Vec<u8>>, _>(i).map(|v| {
                                b.bind(v);
                            }),
                        };
                        if let Err(e) = bound {
                            bad.get_or_insert(format!("{table}.{name}: {e}"));
                        }
                    }
                });
                if let Some(bad) = bad {
                    anyhow::bail!("cannot read {bad}");
                }
                insert.execute(&mut to).await?;
            }
            if *table == "grants" {
                // The requests that extend a grant, now that the grants are there.
                let links: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT id, extends_grant_id FROM access_requests WHERE extends_grant_id IS NOT NULL",
                )
                .fetch_all(&mut *from)
                .await?;
                for (id, grant) in links {
                    sqlx::query("UPDATE access_requests SET extends_grant_id = $1 WHERE id = $2")
                        .bind(grant)
                        .bind(id)
                        .execute(&mut *to)
                        .await?;
                }
            }
            progress(table, rows.len() as u64);
            copied.push((*table, rows.len() as u64));
        }
        if target.engine == Engine::Postgres {
            for table in WITH_IDS {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT CAST(setval(pg_get_serial_sequence('{table}', 'id'), \
                     COALESCE(MAX(id), 0) + 1, false) AS BIGINT) FROM {table}"
                )))
                .execute(&mut *to)
                .await?;
            }
        }
        to.commit().await?;
        from.rollback().await?;
        Ok(copied)
    }
}
