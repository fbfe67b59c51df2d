//! Ending a grant early: the holder's "I'm done", an approver from a page or a chat message, or
//! an administrator from the CLI.
use crate::access::change::{Change, Outcome};
use crate::config::Config;
use crate::notify::{self, webhooks, Event};
use crate::store::{AuditAction, GrantRow, NewAudit, Origin, Store};

#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("There is no grant {0}.")]
    NotFound(i64),
    #[error("Grant {} has already ended ({}).", .0.id, .0.state)]
    AlreadyEnded(Box<GrantRow>),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Revokes grant `id` at `now`: state, audit event and the holder's email commit together.
#[tracing::instrument(name = "access", skip_all, fields(request = tracing::field::Empty, grant = id, person = by))]
pub async fn revoke(
    store: &Store,
    config: &Config,
    id: i64,
    by: &str,
    origin: Origin<'_>,
    reason: Option<&str>,
    now: i64,
) -> Result<Outcome<GrantRow>, RevokeError> {
    let mut tx = store.begin().await?;
    let Some(grant) = Store::revoke_grant(&mut tx, id, by, reason, now).await? else {
        let existing = Store::grant(&mut *tx, id)
            .await?
            .ok_or(RevokeError::NotFound(id))?;
        return Err(RevokeError::AlreadyEnded(Box::new(existing)));
    };
    tracing::Span::current().record("request", grant.request_id);
    let audit = NewAudit {
        request_id: Some(grant.request_id),
        grant_id: Some(grant.id),
        app_slug: Some(&grant.app_slug),
        subject: Some(grant.email.as_str()),
        reason,
        ..NewAudit::new(now, AuditAction::GrantRevoked, by, origin)
    };
    let mut queued = webhooks::record(&mut tx, config, &[audit], now).await?;
    let app_name = config.app_name(&grant.app_slug);
    let event = Event::GrantEnded {
        grant: &grant,
        app_name,
    };
    queued.extend(notify::enqueue(&mut tx, config, event, now).await?);
    tx.commit().await?;
    tracing::info!(via = %origin.via, "grant revoked");
    let change = Change::queued(queued).with_grant(Some(&grant));
    Ok(Outcome::new(grant, change))
}
