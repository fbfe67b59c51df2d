use sqlx::AnyConnection;

use crate::store::Store;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id_hash: Vec<u8>,
    pub email: String,
    pub expires_at: i64,
    /// The groups the sign-in brought, as a JSON array (`groups()` reads it).
    pub member_of: String,
}

impl SessionRow {
    pub fn groups(&self) -> Vec<String> {
        serde_json::from_str(&self.member_of).unwrap_or_default()
    }
}

impl Store {
    pub async fn insert_session(
        conn: &mut AnyConnection,
        id_hash: &[u8],
        email: &str,
        now: i64,
        expires_at: i64,
    ) -> sqlx::Result<()> {
        Self::insert_session_in(conn, id_hash, email, &[], now, expires_at).await
    }

    /// A session whose sign-in said the person is in `groups`.
    pub async fn insert_session_in(
        conn: &mut AnyConnection,
        id_hash: &[u8],
        email: &str,
        groups: &[String],
        now: i64,
        expires_at: i64,
    ) -> sqlx::Result<()> {
        let member_of = serde_json::to_string(groups).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO sessions (id_hash, email, created_at, expires_at, member_of) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id_hash)
        .bind(email)
        .bind(now)
        .bind(expires_at)
        .bind(member_of)
        .execute(conn)
        .await
        .map(|_| ())
    }

    /// Ends one session; returns whose it was, if it was still there.
    pub async fn delete_session(
        conn: &mut AnyConnection,
        id_hash: &[u8],
    ) -> sqlx::Result<Option<String>> {
        sqlx::query_scalar("DELETE FROM sessions WHERE id_hash = $1 RETURNING email")
            .bind(id_hash)
            .fetch_optional(conn)
            .await
    }

    /// The ids (hashed) of every session `email` has now, for replicas that follow a sign-out.
    pub async fn session_hashes_of(&self, email: &str) -> sqlx::Result<Vec<Vec<u8>>> {
        sqlx::query_scalar("SELECT id_hash FROM sessions WHERE email = $1")
            .bind(email)
            .fetch_all(&self.read)
            .await
    }

    /// Ends every session of `email`; returns their hashes.
    pub async fn delete_sessions_of(
        conn: &mut AnyConnection,
        email: &str,
    ) -> sqlx::Result<Vec<Vec<u8>>> {
        sqlx::query_scalar("DELETE FROM sessions WHERE email = $1 RETURNING id_hash")
            .bind(email)
            .fetch_all(conn)
            .await
    }

    /// Live sessions per person: (email, how many, the latest end).
    pub async fn sessions_by_person(&self, now: i64) -> sqlx::Result<Vec<(String, i64, i64)>> {
        sqlx::query_as(
            "SELECT email, COUNT(*), MAX(expires_at) FROM sessions WHERE expires_at > $1 \
             GROUP BY email ORDER BY email",
        )
        .bind(now)
        .fetch_all(&self.read)
        .await
    }

    pub async fn live_sessions(&self, now: i64) -> sqlx::Result<Vec<SessionRow>> {
        sqlx::query_as(
            "SELECT id_hash, email, expires_at, member_of FROM sessions WHERE expires_at > $1",
        )
        .bind(now)
        .fetch_all(&self.read)
        .await
    }

    pub async fn session(&self, id_hash: &[u8], now: i64) -> sqlx::Result<Option<SessionRow>> {
        sqlx::query_as(
            "SELECT id_hash, email, expires_at, member_of FROM sessions WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.read)
        .await
    }

    /// Forgets sessions and login codes that can no longer be used.
    pub async fn delete_stale_credentials(conn: &mut AnyConnection, now: i64) -> sqlx::Result<u64> {
        let a = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *conn)
            .await?;
        let b = sqlx::query("DELETE FROM login_codes WHERE expires_at <= $1")
            .bind(now - 86_400_000)
            .execute(&mut *conn)
            .await?;
        Ok(a.rows_affected() + b.rows_affected())
    }
}
