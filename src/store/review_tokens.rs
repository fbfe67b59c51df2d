use sqlx::AnyConnection;

use crate::store::Store;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReviewTokenRow {
    pub request_id: i64,
    pub approver: String,
    pub used_at: Option<i64>,
}

impl Store {
    pub async fn insert_review_token(
        conn: &mut AnyConnection,
        token_hash: &[u8],
        request_id: i64,
        approver: &str,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO review_tokens (token_hash, request_id, approver, created_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(request_id)
            .bind(approver)
            .bind(now)
            .execute(conn)
            .await
            .map(|_| ())
    }

    pub async fn review_token(&self, token_hash: &[u8]) -> sqlx::Result<Option<ReviewTokenRow>> {
        sqlx::query_as(
            "SELECT request_id, approver, used_at FROM review_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await
    }

    /// Once a request is decided, none of its review links decides anything again.
    pub async fn use_review_tokens(
        conn: &mut AnyConnection,
        request_id: i64,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE review_tokens SET used_at = $1 WHERE request_id = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(request_id)
        .execute(conn)
        .await
        .map(|_| ())
    }
}
