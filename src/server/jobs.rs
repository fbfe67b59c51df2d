//! The server's repeated work: the sweep every `scheduler.sweep_every`, and the audit-log
//! follower that brings changes made by other processes (the CLI) into the access cache.
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use tokio_cron_scheduler::{Job, JobScheduler};

use crate::access::sweep::{sweep, SweepReport};
use crate::server::context::Context;
use crate::store::Engine;

/// The server's sweep: `sweep::sweep` at the current time, applied.
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

/// Picks up changes other processes wrote (the CLI's revoke, another replica's sign-out or
/// decision): on SQLite by reading the audit log several times a second; on PostgreSQL as soon
/// as the change feed announces an event, and every second in case an announcement was lost.
pub async fn follow_audit_log(ctx: Arc<Context>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let wake = Arc::new(Notify::new());
    let every = match ctx.store.engine() {
        Engine::Sqlite => {
            ctx.following.store(true, Ordering::Relaxed);
            Duration::from_millis(200)
        }
        Engine::Postgres => {
            tokio::spawn(listen(ctx.clone(), wake.clone(), stop.clone()));
            Duration::from_secs(1)
        }
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = wake.notified() => {}
            _ = stop.changed() => return,
        }
        let now = ctx.clock.now_ms();
        if let Err(e) = ctx.cache.refresh_from_audit(&ctx.store, now).await {
            tracing::warn!(error = %e, "cannot read the audit log for cache updates");
        }
    }
}

/// Holds the change feed open, waking the follower at each announcement; connects again
/// (and catches up) when the connection drops.
async fn listen(
    ctx: Arc<Context>,
    wake: Arc<Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match ctx.store.change_feed().await {
            Ok(Some(mut feed)) => {
                ctx.following.store(true, Ordering::Relaxed);
                wake.notify_one();
                loop {
                    tokio::select! {
                        next = feed.next() => match next {
                            Ok(()) => wake.notify_one(),
                            Err(e) => {
                                tracing::warn!(error = %e, "the change feed was cut; connecting again");
                                break;
                            }
                        },
                        _ = stop.changed() => return,
                    }
                }
            }
            Ok(None) => return,
            Err(e) => tracing::warn!(error = %e, "cannot listen to the change feed; trying again"),
        }
        ctx.following.store(false, Ordering::Relaxed);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}
