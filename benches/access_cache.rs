//! The in-memory lookup behind every `/auth`: hash the session token, find the session and the
//! grant under the cache's read lock. Run on one thread, then on every core at once, so the
//! cost of readers on different cores sharing the lock shows. Run: `cargo bench --bench access_cache`.
use std::hint::black_box;
use std::time::Instant;

use daypass::domain::Email;
use daypass::server::access_cache::AccessCache;
use daypass::store::GrantRow;

const LOOKUPS: u32 = 2_000_000;

fn main() -> anyhow::Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(()); // built by `cargo test --benches`, run only by `cargo bench`
    }
    let cache = AccessCache::default();
    let token = daypass::tokens::new_token();
    let email = "bench@example.com";
    cache.put_session(
        &daypass::tokens::hash(&token),
        Email::parse(email).map_err(anyhow::Error::msg)?,
        Vec::new(),
        i64::MAX,
    );
    cache.put_grant(&GrantRow {
        id: 1,
        request_id: 1,
        app_slug: "bench".into(),
        email: Email::parse(email).map_err(anyhow::Error::msg)?,
        approved_by: "alice@example.com".into(),
        approved_at: 0,
        expires_at: i64::MAX,
        state: daypass::store::GrantState::Active,
        ended_at: None,
        ended_by: None,
        end_reason: None,
        extended_at: None,
        warned_at: None,
    });
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!("session + grant lookup, {LOOKUPS} per thread");
    for threads in [1, cores] {
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for _ in 0..LOOKUPS {
                        let hash = daypass::tokens::hash(black_box(&token));
                        let found = cache.with_session(&hash, 1, |who, maps| {
                            maps.grant(who.email.as_str(), "bench", 1).is_some()
                        });
                        assert_eq!(found, Some(true));
                    }
                });
            }
        });
        let per = started.elapsed().as_nanos() as f64 / f64::from(LOOKUPS);
        println!("  {threads} thread(s) at once: {per:.0} ns per lookup");
    }
    Ok(())
}
