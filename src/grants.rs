//! Ending a grant early. Used by the web, the CLI (another process) and, later, Discord.
use crate::config::Config;
use crate::decisions::Origin;
use crate::notify::{self, Event};
use crate::store::{GrantRow, NewAudit, Store};

#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("There is no grant {0}.")]
    NotFound(i64),
    #[error("Grant {} has already ended ({}).", .0.id, .0.state)]
    AlreadyEnded(Box<GrantRow>),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Revokes grant `id`: state, audit event and the holder's email commit together.
/// A server caller must also update its access cache; other processes are seen through the audit log.
pub async fn revoke(
    store: &Store,
    config: &Config,
    id: i64,
    by: &str,
    origin: Origin<'_>,
    reason: Option<&str>,
    now: i64,
) -> Result<GrantRow, RevokeError> {
    let mut tx = store.begin().await?;
    let Some(grant) = Store::revoke_grant(&mut tx, id, by, reason, now).await? else {
        let existing = Store::grant(&mut *tx, id)
            .await?
            .ok_or(RevokeError::NotFound(id))?;
        return Err(RevokeError::AlreadyEnded(Box::new(existing)));
    };
    Store::append_audit(
        &mut tx,
        &NewAudit {
            at: now,
            action: "grant_revoked",
            actor: by,
            channel: origin.channel,
            client_ip: origin.client_ip,
            discord_user: origin.discord_user,
            request_id: Some(grant.request_id),
            grant_id: Some(grant.id),
            app_slug: Some(&grant.app_slug),
            subject: Some(&grant.email),
            reason,
            ..Default::default()
        },
    )
    .await?;
    let app_name = config.app_name(&grant.app_slug);
    notify::enqueue(
        &mut tx,
        config,
        Event::GrantEnded {
            grant: &grant,
            app_name,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(grant = id, by, channel = origin.channel, "grant revoked");
    Ok(grant)
}
