//! A grant made by an approval, or a live one given more time.
use crate::config::Temporary;
use crate::store::{GrantRow, NewGrant, RequestRow, Store, Tx};

/// Starts the grant `decided` asked for, approved by `approver` at `now` for `ms`.
pub(crate) async fn start(
    tx: &mut Tx,
    decided: &RequestRow,
    temporary: &Temporary,
    approver: &str,
    ms: i64,
    now: i64,
) -> sqlx::Result<GrantRow> {
    let new = NewGrant {
        request_id: decided.id,
        app_slug: &decided.app_slug,
        email: decided.requester.as_str(),
        approved_by: approver,
        approved_at: now,
        expires_at: now + ms,
        max_ms: temporary.max_duration.as_millis(),
    };
    Store::insert_grant(tx, &new).await
}

/// Moves a live grant's end to `ms` after `now`, never past the policy's cap counted from this
/// approval (the schema checks it too). `None` when the grant has ended meanwhile.
pub(crate) async fn extend(
    tx: &mut Tx,
    grant_id: i64,
    temporary: &Temporary,
    ms: i64,
    now: i64,
) -> sqlx::Result<Option<GrantRow>> {
    let until = now + ms.min(temporary.max_duration.as_millis());
    Store::extend_grant(tx, grant_id, now, until).await
}
