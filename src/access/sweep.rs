//! Timed work: expire grants and unanswered requests, tell people, forget stale credentials.
use crate::access::change::{Change, Outcome};
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
    let grants_expired = Store::expire_due_grants(&mut tx, now).await?;
    // Thousands may end in the same second: audit and notify them in batches.
    let audits: Vec<NewAudit<'_>> = grants_expired
        .iter()
        .map(|g| NewAudit {
            request_id: Some(g.request_id),
            grant_id: Some(g.id),
            app_slug: Some(&g.app_slug),
            subject: Some(g.email.as_str()),
            duration_ms: Some(g.expires_at - g.extended_at.unwrap_or(g.approved_at)),
            ..by_the_scheduler(now, AuditAction::GrantExpired)
        })
        .collect();
    queued.extend(webhooks::record(&mut tx, config, &audits, now).await?);
    let events: Vec<Event<'_>> = grants_expired
        .iter()
        .map(|g| Event::GrantEnded {
            grant: g,
            app_name: config.app_name(&g.app_slug),
        })
        .collect();
    queued.extend(notify::enqueue_all(&mut tx, config, &events, now).await?);
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
    let grants_warned = warn(&mut tx, config, now, &mut queued).await?;
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

/// Tells holders whose grant ends within `scheduler.warn_before`, once per grant (and once
/// more after each extension). A grant that was never longer than `warn_before` gets no
/// warning: its holder learnt the end with the approval, minutes ago.
async fn warn(
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
