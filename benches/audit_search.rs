//! The admin's audit search on a million events: how long does one filtered page take?
//! Run: `cargo bench --bench audit_search`.
use std::time::Instant;

use daypass::store::{AuditAction, AuditFilter, Store};

const EVENTS: i64 = 1_000_000;

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
    let store = Store::open(&format!("sqlite://{}/daypass.db", dir.path().display())).await?;
    store.migrate().await?;
    let seeded = Instant::now();
    // A year of events: 2,000 people, 20 applications, the usual mix of actions.
    let mut tx = store.begin().await?;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO audit_events (at, action, actor, channel, request_id, app_slug, subject) \
         SELECT 1735689600000 + i * 31536, \
                CASE i % 5 WHEN 0 THEN 'request_created' WHEN 1 THEN 'request_approved' \
                  WHEN 2 THEN 'grant_expired' WHEN 3 THEN 'request_denied' ELSE 'grant_revoked' END, \
                CASE i % 5 WHEN 0 THEN 'user' || (i % 2000) || '@example.com' \
                  ELSE 'approver' || (i % 40) || '@example.com' END, \
                'web', i, 'app' || (i % 20), 'user' || (i % 2000) || '@example.com' FROM n",
    )
    .bind(EVENTS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    println!(
        "seeded {EVENTS} audit events in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    let cases = [
        (
            "person + action (a requester's approvals)",
            AuditFilter {
                person: Some("user6@example.com".into()),
                action: Some(AuditAction::RequestApproved),
                ..Default::default()
            },
        ),
        (
            "application",
            AuditFilter {
                app: Some("app3".into()),
                ..Default::default()
            },
        ),
        (
            "a week",
            AuditFilter {
                since: Some(1_735_689_600_000 + 200 * 86_400_000),
                until: Some(1_735_689_600_000 + 207 * 86_400_000),
                ..Default::default()
            },
        ),
        (
            "action alone (revocations)",
            AuditFilter {
                action: Some(AuditAction::GrantRevoked),
                ..Default::default()
            },
        ),
    ];
    for (name, filter) in cases {
        // Warm once, then the median of 20 pages of 50.
        let _ = store.search_audit(&filter, None, 50).await?;
        let mut times = Vec::new();
        let mut n = 0;
        for _ in 0..20 {
            let t = Instant::now();
            n = store.search_audit(&filter, None, 50).await?.len();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "filtered page ({name}): {n} events, median {:.2} ms, worst {:.2} ms",
            times[10], times[19]
        );
    }
    Ok(())
}
