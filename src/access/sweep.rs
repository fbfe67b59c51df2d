//! Timed work: expire grants and unanswered requests, remind and escalate, forget stale
//! credentials. The grants' part is `grants::{expire_due, warn_due}`.
use crate::access::change::{Change, Outcome};
use crate::access::grants;
use crate::access::requests::review_links;
use crate::config::Config;
use crate::domain::Email;
use crate::notify::{self, webhooks, Event};
use crate::policy;
use crate::store::{AuditAction, Channel, GrantRow, NewAudit, Origin, RequestRow, Store, Tx, Via};

#[derive(Debug, Default)]
pub struct SweepReport {
    pub grants_expired: Vec<GrantRow>,
    pub requests_expired: Vec<RequestRow>,
    pub grants_warned: usize,
    pub reminders: usize,
    pub escalations: usize,
}

/// The scheduler as the actor of the audit log.
fn by_the_scheduler(now: i64, action: AuditAction) -> NewAudit<'static> {
    NewAudit::new(now, action, "daypass", Origin::new(Via::Scheduler))
}

/// Everything due at `now`, in one transaction. Catches up on whatever expired while daypass was down.
pub async fn sweep(
    store: &Store,
    config: &Config,
    secret: &[u8],
    now: i64,
) -> sqlx::Result<Outcome<SweepReport>> {
    let mut queued: Vec<Channel> = Vec::new();
    let mut tx = store.begin().await?;
    let grants_expired = grants::expire_due(
        &mut tx,
        config,
        |action| by_the_scheduler(now, action),
        now,
        &mut queued,
    )
    .await?;
    let requests_expired = Store::expire_pending_requests(&mut tx, now).await?;
    for r in &requests_expired {
        let expired = NewAudit {
            request_id: Some(r.id),
            app_slug: Some(&r.app_slug),
            subject: Some(r.requester.as_str()),
            justification: Some(&r.justification),
            ..by_the_scheduler(now, AuditAction::RequestExpired)
        };
        queued.extend(webhooks::record(&mut tx, config, &[expired], now).await?);
        Store::use_review_tokens(&mut tx, r.id, now).await?;
        let event = Event::RequestExpired {
            request: r,
            app_name: config.app_name(&r.app_slug),
        };
        queued.extend(notify::enqueue(&mut tx, config, event, now).await?);
    }
    let grants_warned = grants::warn_due(&mut tx, config, now, &mut queued).await?;
    let reminders = remind(&mut tx, config, secret, now, &mut queued).await?;
    let escalations = escalate(&mut tx, config, secret, now, &mut queued).await?;
    Store::delete_stale_credentials(&mut tx, now).await?;
    Store::forget_hits(&mut tx, now - crate::server::rate_limit::LONGEST_WINDOW_MS).await?;
    tx.commit().await?;
    if !grants_expired.is_empty() || !requests_expired.is_empty() {
        tracing::info!(
            grants = grants_expired.len(),
            requests = requests_expired.len(),
            "sweep expired grants and requests"
        );
    }
    let mut change = Change {
        grants: grants_expired.clone(),
        ..Default::default()
    };
    change.merge(Change::queued(queued));
    let report = SweepReport {
        grants_expired,
        requests_expired,
        grants_warned,
        reminders,
        escalations,
    };
    Ok(Outcome::new(report, change))
}

/// Asks the approvers of unanswered requests again, each time waiting twice as long.
async fn remind(
    tx: &mut Tx,
    config: &Config,
    secret: &[u8],
    now: i64,
    queued: &mut Vec<Channel>,
) -> sqlx::Result<usize> {
    let mut sent = 0;
    for r in Store::due_reminders(tx, now).await? {
        let (Some(was), Some(t)) = (
            r.next_reminder_at,
            config
                .temporary(&r.app_slug, &r.policy_name)
                .map(|(_, t)| t),
        ) else {
            continue;
        };
        let first = config.remind_after(t).as_millis() as i64;
        let next = now + first.saturating_mul(1i64 << (r.reminders_sent + 1).min(20));
        if !Store::advance_reminder(tx, r.id, was, Some(next)).await? {
            continue;
        }
        let already: Vec<Email> = Store::approvals(&mut **tx, r.id)
            .await?
            .into_iter()
            .map(|a| a.approver)
            .collect();
        let asked: Vec<&Email> = policy::deciders(t, &r.requester, r.escalated_at.is_some())
            .into_iter()
            .filter(|a| !already.iter().any(|x| x.same_person(a)))
            .collect();
        let links = review_links(tx, config, secret, r.id, &asked, now).await?;
        let event = Event::Reminder {
            request: &r,
            app_name: config.app_name(&r.app_slug),
            links: &links,
        };
        queued.extend(notify::enqueue(tx, config, event, now).await?);
        sent += 1;
    }
    Ok(sent)
}

/// Adds the `escalate_to` approvers to requests unanswered for `escalate_after`.
async fn escalate(
    tx: &mut Tx,
    config: &Config,
    secret: &[u8],
    now: i64,
    queued: &mut Vec<Channel>,
) -> sqlx::Result<usize> {
    let mut escalated = 0;
    for r in Store::unescalated_pending(tx, now).await? {
        let Some(t) = config
            .temporary(&r.app_slug, &r.policy_name)
            .map(|(_, t)| t)
        else {
            continue;
        };
        let Some(after) = t.escalate_after else {
            continue;
        };
        if t.escalate_to.is_empty() || r.created_at + after.as_millis() as i64 > now {
            continue;
        }
        if !Store::mark_escalated(tx, r.id, now).await? {
            continue;
        }
        let escalation = NewAudit {
            request_id: Some(r.id),
            app_slug: Some(&r.app_slug),
            subject: Some(r.requester.as_str()),
            ..by_the_scheduler(now, AuditAction::RequestEscalated)
        };
        queued.extend(webhooks::record(tx, config, &[escalation], now).await?);
        let to: Vec<&Email> = t
            .escalate_to
            .iter()
            .filter(|e| !e.same_person(&r.requester) && !t.approvers.contains(e))
            .collect();
        let links = review_links(tx, config, secret, r.id, &to, now).await?;
        let request = Store::request(&mut **tx, r.id).await?.unwrap_or(r);
        let event = Event::Escalated {
            request: &request,
            app_name: config.app_name(&request.app_slug),
            links: &links,
        };
        queued.extend(notify::enqueue(tx, config, event, now).await?);
        escalated += 1;
    }
    Ok(escalated)
}
