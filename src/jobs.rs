//! The server's repeated work: the sweep every `scheduler.sweep_every`, and the audit-log
//! follower that brings changes made by other processes (the CLI) into the access cache.
use std::sync::Arc;
use std::time::Duration;

use tokio_cron_scheduler::{Job, JobScheduler};

use crate::context::Context;
use crate::scheduler::{sweep, SweepReport};

/// The server's sweep: `scheduler::sweep` at the current time, applied.
pub async fn sweep_now(ctx: &Context) -> sqlx::Result<SweepReport> {
    let now = ctx.clock.now_ms();
    let report = ctx.apply(sweep(&ctx.store, &ctx.config, &ctx.secret, now).await?);
    ctx.cache.prune(now);
    ctx.last_sweep_ms
        .store(ctx.clock.now_ms(), std::sync::atomic::Ordering::Relaxed);
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
