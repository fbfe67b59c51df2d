//! `/healthz` and `/metrics`.
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::config::DiscordMode;
use crate::server::context::Context;

/// The scheduler sweeps every `sweep_every`; it counts as stalled after ten missed sweeps.
fn scheduler_lag_ms(ctx: &Context) -> i64 {
    let last = ctx.last_sweep_ms.load(Ordering::Relaxed);
    if last == 0 {
        return 0;
    }
    (ctx.clock.now_ms() - last).max(0)
}

/// How long ago this replica last read the audit log up to its end (changes made elsewhere).
fn changes_read_ms_ago(ctx: &Context) -> i64 {
    let at = ctx.cache.followed_at.load(Ordering::Relaxed);
    if at == 0 {
        return -1;
    }
    (ctx.clock.now_ms() - at).max(0)
}

pub async fn healthz(State(ctx): State<Arc<Context>>) -> Response {
    let db = ctx.store.ping().await.is_ok();
    let backlog = ctx.store.outbox_backlog().await.unwrap_or(-1);
    let lag = scheduler_lag_ms(&ctx);
    let scheduler_ok = lag <= 10 * ctx.config.sweep_every.as_millis() as i64 + 2_000;
    let ok = db && scheduler_ok;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = serde_json::json!({
        "status": if ok { "ok" } else { "unavailable" },
        "database": if db { "ok" } else { "unreachable" },
        "engine": ctx.store.engine().name(),
        "follows_changes": ctx.following.load(Ordering::Relaxed),
        "changes_read_ms_ago": changes_read_ms_ago(&ctx),
        "scheduler": if scheduler_ok { "ok" } else { "stalled" },
        "scheduler_lag_ms": lag,
        "outbox_backlog": backlog,
    });
    if ctx.config.discord.enabled && ctx.config.discord.mode == DiscordMode::Gateway {
        body["discord_gateway"] = if ctx.gateway_held.load(Ordering::Relaxed) {
            "held"
        } else {
            "standby"
        }
        .into();
    }
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

pub async fn metrics(State(ctx): State<Arc<Context>>) -> Response {
    let now = ctx.clock.now_ms();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP daypass_requests Access requests by state.\n# TYPE daypass_requests gauge"
    );
    for (state, n) in ctx.store.request_counts().await.unwrap_or_default() {
        let _ = writeln!(out, "daypass_requests{{state=\"{state}\"}} {n}");
    }
    let _ = writeln!(out, "# HELP daypass_live_grants Grants that let someone through right now.\n# TYPE daypass_live_grants gauge");
    let _ = writeln!(
        out,
        "daypass_live_grants {}",
        ctx.cache.live_grant_count(now)
    );
    let _ = writeln!(out, "# HELP daypass_decisions_total Approvals and denials, by channel.\n# TYPE daypass_decisions_total counter");
    for (channel, n) in ctx.store.decision_counts().await.unwrap_or_default() {
        let _ = writeln!(out, "daypass_decisions_total{{channel=\"{channel}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP daypass_notifications Notifications by channel and state (sent, failed, pending).\n# TYPE daypass_notifications gauge"
    );
    for (channel, state, n) in ctx.store.outbox_counts().await.unwrap_or_default() {
        let _ = writeln!(
            out,
            "daypass_notifications{{channel=\"{channel}\",state=\"{state}\"}} {n}"
        );
    }
    crate::web::forward_auth::timing::render(&mut out);
    let _ = writeln!(out, "# HELP daypass_scheduler_lag_seconds Time since the last sweep.\n# TYPE daypass_scheduler_lag_seconds gauge");
    let _ = writeln!(
        out,
        "daypass_scheduler_lag_seconds {:.3}",
        scheduler_lag_ms(&ctx) as f64 / 1000.0
    );
    let _ = writeln!(out, "# HELP daypass_change_feed_lag_seconds How late this replica applied the last change made elsewhere (the audit event's time to the follower's).\n# TYPE daypass_change_feed_lag_seconds gauge");
    let _ = writeln!(
        out,
        "daypass_change_feed_lag_seconds {:.3}",
        ctx.cache.follow_lag_ms.load(Ordering::Relaxed) as f64 / 1000.0
    );
    let _ = writeln!(out, "# HELP daypass_change_feed_read_age_seconds Time since this replica last read every change made elsewhere.\n# TYPE daypass_change_feed_read_age_seconds gauge");
    let _ = writeln!(
        out,
        "daypass_change_feed_read_age_seconds {:.3}",
        changes_read_ms_ago(&ctx).max(0) as f64 / 1000.0
    );
    let _ = writeln!(out, "# HELP daypass_change_feed_following 1 when this replica hears of changes as they happen.\n# TYPE daypass_change_feed_following gauge");
    let _ = writeln!(
        out,
        "daypass_change_feed_following {}",
        u8::from(ctx.following.load(Ordering::Relaxed))
    );
    (
        [
            (header::CONTENT_TYPE, "text/plain; version=0.0.4"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out,
    )
        .into_response()
}
