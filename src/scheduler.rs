//! Timed work: expire grants and unanswered requests, tell people, forget stale credentials.
use std::sync::Arc;
use std::time::Duration;

use tokio_cron_scheduler::{Job, JobScheduler};

use crate::config::Config;
use crate::context::Context;
use crate::notify::{self, Event};
use crate::store::{GrantRow, NewAudit, RequestRow, Store};

#[derive(Debug, Default)]
pub struct SweepReport {
    pub grants_expired: Vec<GrantRow>,
    pub requests_expired: Vec<RequestRow>,
}

fn app_name<'c>(config: &'c Config, slug: &'c str) -> &'c str {
    config
        .application(slug)
        .map(|a| a.name.as_str())
        .unwrap_or(slug)
}

/// Everything due at `now`, in one transaction. Catches up on whatever expired while daypass was down.
pub async fn sweep(store: &Store, config: &Config, now: i64) -> sqlx::Result<SweepReport> {
    let mut tx = store.begin().await?;
    let grants_expired = Store::expire_due_grants(&mut tx, now).await?;
    for g in &grants_expired {
        Store::append_audit(
            &mut tx,
            &NewAudit {
                at: now,
                action: "grant_expired",
                actor: "daypass",
                channel: "scheduler",
                request_id: Some(g.request_id),
                grant_id: Some(g.id),
                app_slug: Some(&g.app_slug),
                subject: Some(&g.email),
                duration_ms: Some(g.expires_at - g.approved_at),
                ..Default::default()
            },
        )
        .await?;
        let event = Event::GrantEnded {
            grant: g,
            app_name: app_name(config, &g.app_slug),
        };
        notify::enqueue(&mut tx, config, event, now).await?;
    }
    let requests_expired = Store::expire_pending_requests(&mut tx, now).await?;
    for r in &requests_expired {
        Store::append_audit(
            &mut tx,
            &NewAudit {
                at: now,
                action: "request_expired",
                actor: "daypass",
                channel: "scheduler",
                request_id: Some(r.id),
                app_slug: Some(&r.app_slug),
                subject: Some(&r.requester),
                justification: Some(&r.justification),
                ..Default::default()
            },
        )
        .await?;
        Store::use_review_tokens(&mut tx, r.id, now).await?;
        let event = Event::RequestExpired {
            request: r,
            app_name: app_name(config, &r.app_slug),
        };
        notify::enqueue(&mut tx, config, event, now).await?;
    }
    Store::delete_stale_credentials(&mut tx, now).await?;
    tx.commit().await?;
    if !grants_expired.is_empty() || !requests_expired.is_empty() {
        tracing::info!(
            grants = grants_expired.len(),
            requests = requests_expired.len(),
            "sweep expired grants and requests"
        );
    }
    Ok(SweepReport {
        grants_expired,
        requests_expired,
    })
}

/// The server's sweep: the above, plus the access cache and the outbox.
pub async fn sweep_now(ctx: &Context) -> sqlx::Result<SweepReport> {
    let now = ctx.clock.now_ms();
    let report = sweep(&ctx.store, &ctx.config, now).await?;
    for g in &report.grants_expired {
        ctx.cache.put_grant(g);
    }
    if !report.grants_expired.is_empty() || !report.requests_expired.is_empty() {
        ctx.wake_outbox();
    }
    ctx.cache.prune(now);
    Ok(report)
}

/// Starts the repeated sweep job.
pub async fn start(ctx: Arc<Context>) -> anyhow::Result<JobScheduler> {
    let scheduler = JobScheduler::new().await?;
    let every = ctx.config.sweep_every;
    let job = Job::new_repeated_async(every, move |_id, _lock| {
        let ctx = ctx.clone();
        Box::pin(async move {
            if let Err(e) = sweep_now(&ctx).await {
                tracing::error!(error = %e, "sweep failed; it will run again");
            }
        })
    })?;
    scheduler.add(job).await?;
    scheduler.start().await?;
    Ok(scheduler)
}

/// Picks up grant changes other processes wrote (the CLI's revoke), several times a second.
pub async fn follow_audit_log(ctx: Arc<Context>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = ctx.cache.refresh_from_audit(&ctx.store).await {
                    tracing::warn!(error = %e, "cannot read the audit log for cache updates");
                }
            }
            _ = stop.changed() => return,
        }
    }
}
