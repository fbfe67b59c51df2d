//! 10,000 grants that expire in the same second: how long until every one is revoked, audited
//! and its notifications (email and Discord) queued? Goal: within 2 seconds of that second.
//! Run: `cargo bench --bench expiry_sweep`.
use std::time::Instant;

use daypass::config::Config;
use daypass::store::Store;

#[path = "support/bench_app.rs"]
mod bench_app;

const GRANTS: i64 = 10_000;

fn main() -> anyhow::Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(()); // built by `cargo test --benches`, run only by `cargo bench`
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let text = format!(
        r#"
[database]
url = "sqlite://{dir}/daypass.db"
[email]
transport = "file"
dir = "{dir}/mail"
[discord]
enabled = true
public_key = "{key}"
channel_id = "555000000000000001"
"#,
        dir = dir.path().display(),
        key = "ab".repeat(32)
    ) + bench_app::APPROVERS_AND_APPS;
    let config = Config::from_toml(&text, []).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = Store::open(&config.database.url).await?;
    store.migrate().await?;
    // Every grant ends at the same millisecond-aligned second.
    let second = (chrono::Utc::now().timestamp() + 3600) * 1000;
    let seeded = Instant::now();
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO access_requests (app_slug, policy_name, requester, justification, max_ms, state, created_at, \
         expires_at, decided_at, decided_by, decided_via) \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         SELECT 'bench', 'everyone on request', 'user' || i || '@example.com', 'why ' || i, 86400000, 'approved', \
                ?2 - 3600000, ?2, ?2 - 3500000, 'alice@example.com', 'email' FROM n",
    )
    .bind(GRANTS)
    .bind(second)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO grants (request_id, app_slug, email, approved_by, approved_at, expires_at, max_ms) \
         SELECT id, app_slug, requester, 'alice@example.com', ?1 - 3500000 + (id % 1000), ?1 + (id % 1000), 86400000 \
         FROM access_requests",
    )
    .bind(second)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    println!(
        "seeded {GRANTS} grants ending within the same second in {:.2} s",
        seeded.elapsed().as_secs_f64()
    );

    // The scheduler's sweep at the end of that second.
    let started = Instant::now();
    // A server would apply the change to its cache; the figure is the database work.
    let report = daypass::access::sweep::sweep(&store, &config, b"bench secret", second + 999)
        .await?
        .elsewhere();
    let took = started.elapsed();

    let count = |sql: &'static str| {
        let store = store.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(store.reader())
                .await
        }
    };
    let expired = count("SELECT COUNT(*) FROM grants WHERE state = 'expired'").await?;
    let audited = count("SELECT COUNT(*) FROM audit_events WHERE action = 'grant_expired'").await?;
    let emails =
        count("SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND kind = 'access_ended'")
            .await?;
    let discord = count("SELECT COUNT(*) FROM outbox WHERE channel = 'discord'").await?;
    anyhow::ensure!(
        report.grants_expired.len() as i64 == GRANTS && expired == GRANTS,
        "not every grant expired"
    );
    anyhow::ensure!(
        audited == GRANTS && emails == GRANTS && discord == GRANTS,
        "audit or outbox incomplete"
    );
    println!(
        "sweep: {expired} grants revoked, {audited} audit events, {emails} emails and {discord} Discord updates queued \
         in {:.0} ms (goal: within 2 s of that second)",
        took.as_secs_f64() * 1e3
    );
    Ok(())
}
