//! `daypass grants list` and `daypass grants revoke`.
use crate::cli::database::open;
use crate::clock::{self, Clock};
use crate::config::Config;
use crate::domain::duration_text;
use crate::store::{GrantState, Origin, Via};

/// Lists grants, newest first; with `active`, only those that let someone through now.
pub async fn list(config: &Config, active: bool) -> anyhow::Result<()> {
    let store = open(config).await?;
    let now = Clock::default().now_ms();
    println!(
        "{:>6}  {:<8}  {:<12}  {:<28}  {:<8}  {:<17}  approved by",
        "id", "state", "app", "holder", "duration", "expires"
    );
    for g in store.list_grants(active, now, 1000).await? {
        let state = if g.state == GrantState::Active && !g.is_live(now) {
            "expiring"
        } else {
            g.state.as_str()
        };
        println!(
            "{:>6}  {:<8}  {:<12}  {:<28}  {:<8}  {:<17}  {}",
            g.id,
            state,
            g.app_slug,
            g.email,
            duration_text(g.expires_at - g.approved_at),
            clock::show(g.expires_at).trim_end_matches(" UTC"),
            g.approved_by
        );
    }
    Ok(())
}

/// Ends grant `id` now, as an administrator on this machine (`admin:$USER`).
pub async fn revoke(config: &Config, id: i64, reason: Option<String>) -> anyhow::Result<()> {
    let store = open(config).await?;
    let reason = reason
        .map(|r| crate::domain::Reason::parse(&r))
        .transpose()
        .map_err(|m| anyhow::anyhow!("--reason: {m}"))?;
    let by = std::env::var("USER")
        .map(|u| format!("admin:{u}"))
        .unwrap_or_else(|_| "admin".into());
    let now = Clock::default().now_ms();
    // The running server learns of it from the audit log, so nothing is applied here.
    let g = crate::access::grants::revoke(
        &store,
        config,
        id,
        &by,
        Origin::new(Via::Cli),
        reason.as_ref().and_then(|r| r.as_option()),
        now,
    )
    .await?
    .elsewhere();
    println!("revoked grant {} ({} at {})", g.id, g.email, g.app_slug);
    Ok(())
}
