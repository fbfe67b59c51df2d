use reqwest::StatusCode;

use crate::helpers::{review_path, TestApp};
use crate::requests::{make_request, pending_request, Pending};

#[tokio::test]
async fn deny_with_a_reason_tells_the_requester() {
    let app = TestApp::spawn().await;
    let carol = app.email("carol");
    let Pending {
        id,
        mut requester,
        mut bob,
        review,
    } = pending_request(&app, &carol, "1h").await;
    let res = bob
        .submit(
            &review,
            &review,
            &[
                ("decision", "deny"),
                ("reason", "Use the read-only replica <b>please</b>"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let mail = app.mail().wait_for(&carol, "Denied").await;
    assert!(mail
        .text
        .contains("Use the read-only replica <b>please</b>"));
    assert!(mail.html.contains("&lt;b&gt;please"), "escaped in HTML");
    let page = requester.open(&format!("/requests/{id}")).await;
    assert!(page.body.contains("Denied by"));
    assert!(
        page.body.contains("&lt;b&gt;please&lt;/b&gt;"),
        "escaped on the page"
    );
    assert_eq!(
        app.auth(&requester, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let grants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grants")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert_eq!(grants, 0);
}

#[tokio::test]
async fn the_first_decision_wins_and_later_links_say_who_decided() {
    let app = TestApp::spawn().await;
    let Pending {
        requester,
        mut bob,
        review: bob_link,
        ..
    } = pending_request(&app, &app.email("carol"), "1h").await;
    let alice_link = review_path(
        &app.mail()
            .wait_for(&app.email("alice"), "Access request")
            .await,
    );
    let mut alice = app.browser();
    alice.login(&app, &app.email("alice")).await;
    let alice_csrf = alice.open(&alice_link).await.csrf();

    let res = bob
        .submit(
            &bob_link,
            &bob_link,
            &[("decision", "approve"), ("duration", "1h")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    // Alice had the form open; her deny comes second.
    let res = alice
        .post(
            &alice_link,
            &[
                ("csrf", &alice_csrf),
                ("decision", "deny"),
                ("reason", "no"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains(&app.email("bob")), "{}", res.body);
    // Bob's own link used again: refused too.
    let res = bob
        .submit(
            &bob_link,
            &bob_link,
            &[("decision", "approve"), ("duration", "8h")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let db = app.db().await;
    let grants: Vec<(i64, i64)> = sqlx::query_as("SELECT approved_at, expires_at FROM grants")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(
        grants[0].1 - grants[0].0,
        3_600_000,
        "the first decision's duration stands"
    );
    assert_eq!(
        app.auth(&requester, "grafana.test", &[]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_approver_never_approves_their_own_request() {
    let app = TestApp::spawn().await;
    let alice = app.email("alice");
    let mut b = app.browser();
    b.login(&app, &alice).await;
    let id = make_request(&mut b, "1h").await;
    // Only bob is asked.
    app.mail()
        .wait_for(&app.email("bob"), "Access request")
        .await;
    assert!(app
        .mail()
        .to(&alice)
        .await
        .iter()
        .all(|m| !m.subject.contains("Access request")));
    let tokens: Vec<String> =
        sqlx::query_scalar("SELECT approver FROM review_tokens WHERE request_id = $1")
            .bind(id)
            .fetch_all(&app.db().await)
            .await
            .unwrap();
    assert_eq!(tokens, [app.email("bob")]);
    // Even through the decision code itself, and with bob's link.
    let err = crate::helpers::decide(
        &app.ctx,
        id,
        &daypass::domain::Email::parse(&alice).unwrap(),
        crate::helpers::by_email(),
        daypass::access::decisions::Verdict::Approve(
            daypass::domain::GrantDuration::parse("1h").unwrap(),
        ),
    )
    .await
    .expect_err("refused");
    assert!(err.to_string().contains("your own request"));
    let bob_link = review_path(
        &app.mail()
            .wait_for(&app.email("bob"), "Access request")
            .await,
    );
    assert_eq!(
        b.open(&bob_link).await.status,
        StatusCode::FORBIDDEN,
        "alice cannot use bob's link"
    );
    // And the database refuses a grant approved by its holder.
    let db = app.db().await;
    let res = sqlx::query("INSERT INTO grants (request_id, app_slug, email, approved_by, approved_at, expires_at, max_ms) VALUES ($1, 'grafana', $2, $3, 0, 60000, 60000)")
        .bind(id)
        .bind(&alice)
        .bind(&alice)
        .execute(&db)
        .await;
    assert!(res.is_err());
    assert_eq!(
        app.auth(&b, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn durations_over_the_policy_max_or_a_day_are_refused_by_the_page_and_the_database() {
    let app = TestApp::spawn().await;
    let Pending {
        id,
        mut bob,
        review: link,
        ..
    } = pending_request(&app, &app.email("carol"), "").await;
    for (duration, msg) in [
        ("8h1m", "longest access"),
        ("25h", "at most 24 hours"),
        ("0", "at least 1 minute"),
        ("1441", "at most 24 hours"),
        ("-5", "not a duration"),
        ("", "required"),
    ] {
        let res = bob
            .submit(
                &link,
                &link,
                &[("decision", "approve"), ("duration", duration)],
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{duration}");
        assert!(res.body.contains(msg), "{duration}: {}", res.body);
    }
    let db = app.db().await;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grants")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(count, 0);
    // The schema refuses what the handler refused, whoever writes.
    let insert = |approved_at: i64, expires_at: i64, max_ms: i64| {
        sqlx::query("INSERT INTO grants (request_id, app_slug, email, approved_by, approved_at, expires_at, max_ms) VALUES ($1, 'grafana', 'c@example.com', 'b@example.com', $2, $3, $4)")
            .bind(id)
            .bind(approved_at)
            .bind(expires_at)
            .bind(max_ms)
    };
    assert!(
        insert(0, 86_400_001, 86_400_000)
            .execute(&db)
            .await
            .is_err(),
        "over 24h"
    );
    assert!(
        insert(0, 8 * 3_600_000 + 1, 8 * 3_600_000)
            .execute(&db)
            .await
            .is_err(),
        "over the policy max"
    );
    assert!(
        insert(0, 90_000_000, 90_000_000)
            .execute(&db)
            .await
            .is_err(),
        "a max over 24h"
    );
    assert!(
        insert(10, 10, 60_000).execute(&db).await.is_err(),
        "empty grant"
    );
    // The largest allowed one is fine.
    let res = bob
        .submit(
            &link,
            &link,
            &[("decision", "approve"), ("duration", "480")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_review_link_after_expiry_is_refused() {
    let app = TestApp::spawn().await;
    let carol = app.email("carol");
    let Pending {
        id,
        requester,
        mut bob,
        review: link,
    } = pending_request(&app, &carol, "1h").await;
    let csrf = bob.open(&link).await.csrf();
    app.ctx.clock.advance(std::time::Duration::from_secs(3601));
    // Before the sweep: the request is past its time, so the decision is refused.
    let res = bob
        .post(
            &link,
            &[("csrf", &csrf), ("decision", "approve"), ("duration", "1h")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    let report = app.sweep().await;
    assert_eq!(
        report
            .requests_expired
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        [id]
    );
    app.mail().wait_for(&carol, "Expired").await;
    let res = bob
        .post(
            &link,
            &[("csrf", &csrf), ("decision", "approve"), ("duration", "1h")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(bob.open(&link).await.body.contains("expired"));
    assert_eq!(
        app.auth(&requester, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn concurrent_decisions_make_exactly_one() {
    let app = TestApp::spawn().await;
    let mut requester = app.browser();
    requester.login(&app, &app.email("carol")).await;
    let id = make_request(&mut requester, "1h").await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let ctx = app.ctx.clone();
        let who =
            daypass::domain::Email::parse(&app.email(if i % 2 == 0 { "alice" } else { "bob" }))
                .unwrap();
        tasks.push(tokio::spawn(async move {
            let verdict = if i % 3 == 0 {
                daypass::access::decisions::Verdict::Deny(daypass::domain::Reason::default())
            } else {
                daypass::access::decisions::Verdict::Approve(
                    daypass::domain::GrantDuration::parse("1h").unwrap(),
                )
            };
            crate::helpers::decide(&ctx, id, &who, crate::helpers::by_email(), verdict).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(daypass::access::decisions::DecideError::AlreadyDecided(_)) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(ok, 1);
    let db = app.db().await;
    let grants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grants")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(grants <= 1);
    let decided: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action IN ('request_approved', 'request_denied')",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(decided, 1);
    let refused: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'decision_refused'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(refused, 29, "every attempt is audited");
}
