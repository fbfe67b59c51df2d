use sqlx::AnyConnection;

use crate::store::Store;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoginCodeRow {
    pub email: String,
    pub code_mac: Vec<u8>,
    pub expires_at: i64,
    pub attempts: i64,
    pub used_at: Option<i64>,
}

impl Store {
    pub async fn insert_login_code(
        conn: &mut AnyConnection,
        challenge_hash: &[u8],
        email: &str,
        code_mac: &[u8],
        now: i64,
        expires_at: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO login_codes (challenge_hash, email, code_mac, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(challenge_hash)
        .bind(email)
        .bind(code_mac)
        .bind(now)
        .bind(expires_at)
        .execute(conn)
        .await
        .map(|_| ())
    }

    /// The address the code of a live (unused, unexpired) challenge went to.
    pub async fn login_code_email(
        &self,
        challenge_hash: &[u8],
        now: i64,
    ) -> sqlx::Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT email FROM login_codes WHERE challenge_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(challenge_hash)
        .bind(now)
        .fetch_optional(&self.read)
        .await
    }

    /// Counts one more try at a code and returns the row as it now stands.
    pub async fn try_login_code(
        conn: &mut AnyConnection,
        challenge_hash: &[u8],
    ) -> sqlx::Result<Option<LoginCodeRow>> {
        sqlx::query_as(
            "UPDATE login_codes SET attempts = attempts + 1 WHERE challenge_hash = $1 \
             RETURNING email, code_mac, expires_at, attempts, used_at",
        )
        .bind(challenge_hash)
        .fetch_optional(conn)
        .await
    }

    /// Marks the code used; `false` if it already was (a double submit).
    pub async fn use_login_code(
        conn: &mut AnyConnection,
        challenge_hash: &[u8],
        now: i64,
    ) -> sqlx::Result<bool> {
        sqlx::query(
            "UPDATE login_codes SET used_at = $1 WHERE challenge_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(challenge_hash)
        .execute(conn)
        .await
        .map(|r| r.rows_affected() == 1)
    }
}
