//! Several replicas on one PostgreSQL database behave as one: what is done on one is honoured by
//! `/auth` on the others, scheduled work happens once, login codes and rate limits are shared,
//! and `copy-db` moves a SQLite installation over with its history.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use daypass::clock::Clock;
use reqwest::StatusCode;

use crate::helpers::{
    eventually, new_tag, postgres_database, wait_for_new_code, Browser, TestApp, BASE,
};

/// Two replicas with the same config, secret, clock and database.
async fn replicas(extra: &str) -> (TestApp, TestApp) {
    let tag = new_tag();
    let db = postgres_database(&format!("replicas-{tag}")).await;
    let dir_a = tempfile::tempdir().unwrap();
    let secret = dir_a.path().join("shared-secret");
    std::fs::write(&secret, format!("{tag}-a-secret-every-replica-shares")).unwrap();
    let env = vec![
        ("DAYPASS__DATABASE__URL".to_string(), db),
        (
            "DAYPASS__SERVER__SECRET_FILE".to_string(),
            secret.display().to_string(),
        ),
    ];
    let clock = Clock::default();
    let a = TestApp::spawn_full(dir_a, tag.clone(), BASE, extra, clock.clone(), &env).await;
    let dir_b = tempfile::tempdir().unwrap();
    let b = TestApp::spawn_full(dir_b, tag, BASE, extra, clock, &env).await;
    (a, b)
}

/// `browser`'s cookies, on another replica.
fn on(app: &TestApp, browser: &Browser) -> Browser {
    let mut b = app.browser();
    b.cookies = browser.cookies.clone();
    b
}

#[tokio::test]
async fn a_sign_in_and_an_approval_on_one_replica_open_auth_on_the_other_at_once() {
    let (a, b) = replicas("").await;
    let mut carol = a.browser();
    carol.login(&a, &a.email("carol")).await;
    // B never saw this sign-in: it finds the session in the database.
    let carol_on_b = on(&b, &carol);
    assert_eq!(
        b.auth(&carol_on_b, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED,
        "signed in, no grant yet"
    );
    let home = on(&b, &carol).open("/").await;
    assert!(home.body.contains(&a.email("carol")), "{}", home.body);

    let id = crate::requests::make_request(&mut carol, "1h").await;
    a.approve(id, "bob", "1h").await;
    // At once, with no wait for B to hear of it.
    let res = b.auth(&carol_on_b, "grafana.test", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.header("x-daypass-user"),
        Some(a.email("carol").as_str())
    );
}

#[tokio::test]
async fn a_revoke_or_a_sign_out_on_one_replica_is_refused_on_the_other_within_a_second() {
    let (a, b) = replicas("").await;
    let mut carol = a.browser();
    carol.login(&a, &a.email("carol")).await;
    let id = crate::requests::make_request(&mut carol, "1h").await;
    let grant = a.approve(id, "bob", "1h").await.grant.unwrap();
    assert_eq!(
        a.auth(&carol, "grafana.test", &[]).await.status,
        StatusCode::OK
    );
    // The holder ends it early on B.
    let mut carol_on_b = on(&b, &carol);
    let res = carol_on_b
        .submit("/", &format!("/grants/{}/revoke", grant.id), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let started = Instant::now();
    eventually(Duration::from_secs(1), "A refuses the revoked grant", || {
        let (a, carol) = (&a, &carol);
        async move { a.auth(carol, "grafana.test", &[]).await.status == StatusCode::UNAUTHORIZED }
    })
    .await;
    eprintln!("revoke on B refused on A after {:?}", started.elapsed());

    // A sign-out on B ends the session on A too (sre has persistent access to grafana).
    let mut sre = b.browser();
    sre.login(&b, &b.email("sre")).await;
    let sre_on_a = on(&a, &sre);
    assert_eq!(
        a.auth(&sre_on_a, "grafana.test", &[]).await.status,
        StatusCode::OK
    );
    let res = sre.submit("/", "/logout", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let started = Instant::now();
    eventually(Duration::from_secs(1), "A forgets the signed-out session", || {
        let (a, sre_on_a) = (&a, &sre_on_a);
        async move {
            a.auth(sre_on_a, "grafana.test", &[]).await.status == StatusCode::UNAUTHORIZED
        }
    })
    .await;
    eprintln!("sign-out on B refused on A after {:?}", started.elapsed());
}

#[tokio::test]
async fn a_login_code_from_one_replica_works_on_another_and_limits_hold_across_replicas() {
    let (a, b) = replicas("").await;
    let dave = a.email("dave");
    let mut on_a = a.browser();
    let res = on_a
        .submit("/login", "/login", &[("email", &dave), ("next", "/")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let code = wait_for_new_code(&a, &dave, 0).await;
    let mut on_b = on(&b, &on_a);
    let res = on_b
        .submit(
            "/login/verify",
            "/login/verify",
            &[("code", &code), ("next", "/")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(on_b.cookies.contains_key("daypass_session"));

    // Five codes an address per 15 minutes, whichever replica is asked: the 6th is refused.
    let erin = a.email("erin");
    let mut statuses = Vec::new();
    for i in 0..6 {
        let app = if i % 2 == 0 { &a } else { &b };
        let mut browser = app.browser();
        let res = browser
            .submit("/login", "/login", &[("email", &erin)])
            .await;
        statuses.push(res.status);
    }
    assert_eq!(&statuses[..5], &[StatusCode::SEE_OTHER; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

#[tokio::test]
async fn expiries_and_their_mails_happen_once_however_many_replicas_sweep() {
    let (a, b) = replicas("").await;
    let mut grants = Vec::new();
    let mut holders = Vec::new();
    for i in 0..6 {
        let who = a.email(&format!("holder{i}"));
        let mut browser = a.signed_in(&who).await;
        let id = crate::requests::make_request(&mut browser, "1h").await;
        grants.push(a.approve(id, "bob", "5m").await.grant.unwrap().id);
        holders.push(who);
    }
    a.ctx.clock.advance(Duration::from_secs(6 * 60));
    // Both sweep at once, twice.
    let (ra, rb) = tokio::join!(a.sweep(), b.sweep());
    let (ra2, rb2) = tokio::join!(a.sweep(), b.sweep());
    let expired = ra.grants_expired.len()
        + rb.grants_expired.len()
        + ra2.grants_expired.len()
        + rb2.grants_expired.len();
    assert_eq!(expired, grants.len(), "each grant expired by one sweep");
    let db = a.db().await;
    let events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'grant_expired'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(events, grants.len() as i64);
    // Both replicas' outbox workers race for the mails: each holder hears once.
    for who in &holders {
        a.mail().wait_for(who, "Access ended").await;
    }
    eventually(Duration::from_secs(10), "every mail sent", || {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
                .fetch_one(&db)
                .await
                .unwrap()
                == 0
        }
    })
    .await;
    for who in &holders {
        let mails = a.mail().to(who).await;
        let mut seen: HashMap<String, usize> = HashMap::new();
        for m in &mails {
            *seen.entry(m.subject.clone()).or_default() += 1;
        }
        assert!(
            seen.values().all(|n| *n == 1),
            "a mail to {who} went out twice: {seen:?}"
        );
        assert_eq!(
            mails
                .iter()
                .filter(|m| m.subject.contains("Access ended"))
                .count(),
            1
        );
    }
}

#[tokio::test]
async fn healthz_names_the_engine_and_says_the_replica_follows_changes() {
    let (a, _b) = replicas("").await;
    let b = a.browser();
    eventually(
        Duration::from_secs(5),
        "the change feed is connected",
        || {
            let b = &b;
            async move {
                let body: serde_json::Value =
                    serde_json::from_str(&b.get_with("/healthz", &[]).await.body).unwrap();
                body["engine"] == "postgres" && body["follows_changes"] == true
            }
        },
    )
    .await;
    let metrics = b.get_with("/metrics", &[]).await.body;
    assert!(metrics.contains("daypass_change_feed_lag_seconds "));
    assert!(metrics.contains("daypass_change_feed_following 1"));
}

#[tokio::test]
async fn copy_db_moves_a_sqlite_installation_to_postgresql_with_its_history() {
    // Made on SQLite: a live grant, an ended one, sessions and their audit trail.
    let dir = tempfile::tempdir().unwrap();
    let tag = new_tag();
    let sqlite = format!("sqlite://{}", dir.path().join("daypass.db").display());
    let secret = dir.path().join("shared-secret");
    std::fs::write(&secret, format!("{tag}-a-secret-both-installations-use")).unwrap();
    let mut env = vec![
        ("DAYPASS__DATABASE__URL".to_string(), sqlite.clone()),
        (
            "DAYPASS__SERVER__SECRET_FILE".to_string(),
            secret.display().to_string(),
        ),
    ];
    let old = TestApp::spawn_full(dir, tag.clone(), BASE, "", Clock::default(), &env).await;
    let mut carol = old.browser();
    carol.login(&old, &old.email("carol")).await;
    let id = crate::requests::make_request(&mut carol, "1h").await;
    let live = old.approve(id, "bob", "2h").await.grant.unwrap();
    let mut dave = old.signed_in(&old.email("dave")).await;
    let id = crate::requests::make_request(&mut dave, "1h").await;
    let ended = old.approve(id, "alice", "1h").await.grant.unwrap();
    let res = dave
        .submit("/", &format!("/grants/{}/revoke", ended.id), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let before = old.db().await;
    let audit_before: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, action FROM audit_events ORDER BY id")
            .fetch_all(&before)
            .await
            .unwrap();
    let grants_before: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, state FROM grants ORDER BY id")
            .fetch_all(&before)
            .await
            .unwrap();
    before.close().await;
    let (dir, tag) = old.stop().await;

    let postgres = postgres_database(&format!("copy-{tag}")).await;
    let copy = |from: &str, to: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_daypass"))
            .args(["copy-db", "--from", from, "--to", to])
            .output()
            .unwrap()
    };
    let out = copy(&sqlite, &postgres);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("audit_events:"));

    // A second copy into the now full database is refused, and changes nothing.
    let again = copy(&sqlite, &postgres);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("not empty"), "{err}");

    // A PostgreSQL replica serves it: every grant and audit event, and the same sessions.
    env[0].1 = postgres;
    let new = TestApp::spawn_full(dir, tag, BASE, "", Clock::default(), &env).await;
    let after = new.db().await;
    let audit_after: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, action FROM audit_events ORDER BY id")
            .fetch_all(&after)
            .await
            .unwrap();
    let grants_after: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, state FROM grants ORDER BY id")
            .fetch_all(&after)
            .await
            .unwrap();
    assert_eq!(audit_after, audit_before);
    assert_eq!(grants_after, grants_before);
    assert!(grants_after.contains(&(live.id, "active".to_string())));
    let carol = on(&new, &carol);
    let res = new.auth(&carol, "grafana.test", &[]).await;
    assert_eq!(res.status, StatusCode::OK, "the live grant still opens");
    let dave = on(&new, &dave);
    assert_eq!(
        new.auth(&dave, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED,
        "the ended one stays ended"
    );
    // New rows go on from the copied ids.
    let mut erin = new.signed_in(&new.email("erin")).await;
    let id = crate::requests::make_request(&mut erin, "1h").await;
    let grant = new.approve(id, "bob", "1h").await.grant.unwrap();
    assert!(grant.id > grants_before.last().unwrap().0);
    let last: i64 = sqlx::query_scalar("SELECT MAX(id) FROM audit_events")
        .fetch_one(&after)
        .await
        .unwrap();
    assert!(last > audit_before.last().unwrap().0);
}
