//! Grants the clock ends: expired at their end (audited and told in batches, since thousands
//! may end in the same second), and their holders warned shortly before.
use crate::config::Config;
use crate::notify::{self, webhooks, Event};
use crate::store::{AuditAction, Channel, GrantRow, NewAudit, Store, Tx};

/// Ends every grant due at `now`, inside `tx`: state, audit events, the holders' mail.
pub(crate) async fn expire_due(
    tx: &mut Tx,
    config: &Config,
    by_the_scheduler: impl Fn(AuditAction) -> NewAudit<'static>,
    now: i64,
    queued: &mut Vec<Channel>,
) -> sqlx::Result<Vec<GrantRow>> {
    let expired = Store::expire_due_grants(tx, now).await?;
    let audits: Vec<NewAudit<'_>> = expired
        .iter()
        .map(|g| NewAudit {
            request_id: Some(g.request_id),
            grant_id: Some(g.id),
            app_slug: Some(&g.app_slug),
            subject: Some(g.email.as_str()),
            duration_ms: Some(g.expires_at - g.extended_at.unwrap_or(g.approved_at)),
            ..by_the_scheduler(AuditAction::GrantExpired)
        })
        .collect();
    queued.extend(webhooks::record(tx, config, &audits, now).await?);
    let events: Vec<Event<'_>> = expired
        .iter()
        .map(|g| Event::GrantEnded {
            grant: g,
            app_name: config.app_name(&g.app_slug),
        })
        .collect();
    queued.extend(notify::enqueue_all(tx, config, &events, now).await?);
    Ok(expired)
}

/// Tells holders whose grant ends within `scheduler.warn_before`, once per grant (and once
/// more after each extension). A grant that was never longer than `warn_before` gets no
/// warning: its holder learnt the end with the approval, minutes ago.
pub(crate) async fn warn_due(
    tx: &mut Tx,
    config: &Config,
    now: i64,
    queued: &mut Vec<Channel>,
) -> sqlx::Result<usize> {
    let before = config.warn_before.as_millis() as i64;
    let due = Store::warn_due_grants(tx, now, before).await?;
    let mut warned = 0;
    for g in due.iter().filter(|g| worth_a_warning(g, before)) {
        let event = Event::GrantWarning {
            grant: g,
            app_name: config.app_name(&g.app_slug),
        };
        queued.extend(notify::enqueue(tx, config, event, now).await?);
        warned += 1;
    }
    Ok(warned)
}

/// Was the grant, as last approved (or extended), longer than the warning period?
fn worth_a_warning(g: &GrantRow, warn_before_ms: i64) -> bool {
    g.expires_at - g.extended_at.unwrap_or(g.approved_at) > warn_before_ms
}
