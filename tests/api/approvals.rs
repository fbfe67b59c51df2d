//! `/approvals`: what waits for the signed-in approver, decided from there.
use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::requests::{make_request, request_for};

/// The request ids listed as waiting on an `/approvals` page, in order.
fn listed(body: &str) -> Vec<i64> {
    body.split("action=\"/approvals/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next()?.parse().ok())
        .collect()
}

#[tokio::test]
async fn an_approver_sees_exactly_what_they_may_decide_now_oldest_first() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let carols = make_request(&mut carol, "1h").await;
    let mut alice = app.signed_in(&app.email("alice")).await;
    let alices = make_request(&mut alice, "1h").await;
    let mut dave = app.signed_in(&app.email("dave")).await;
    let console = request_for(&mut dave, "console", "INC-8", "1h").await;

    let home = alice.open("/").await;
    assert!(
        home.body.contains("2</strong> waiting for your decision"),
        "{}",
        home.body
    );
    // Every page's header tells an approver how many wait; nobody else sees it.
    let status = alice.open(&format!("/requests/{carols}")).await;
    assert!(
        status.body.contains(">Approvals (2)</a>"),
        "{}",
        status.body
    );
    let theirs = carol.open(&format!("/requests/{carols}")).await;
    assert!(!theirs.body.contains("/approvals"), "not an approver");
    assert!(
        !theirs.body.contains("daypass:approvals"),
        "the marker never shows"
    );
    assert!(
        !carol.open("/").await.body.contains("/approvals"),
        "not an approver"
    );
    let page = alice.open("/approvals").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(listed(&page.body), [carols, console], "never her own");
    let mut bob = app.signed_in(&app.email("bob")).await;
    assert_eq!(
        listed(&bob.open("/approvals").await.body),
        [carols, alices, console]
    );
    // The escalation approver waits for the escalation; a requester has nothing to decide.
    let mut esc = app.signed_in(&app.email("esc")).await;
    assert!(listed(&esc.open("/approvals").await.body).is_empty());
    let page = carol.open("/approvals").await;
    assert!(page.body.contains("Nothing waits for you."));

    // Alice approves the console request (two approvals needed): it leaves her list, and bob
    // sees "1 of 2".
    let res = alice
        .submit(
            "/approvals",
            &format!("/approvals/{console}"),
            &[("decision", "approve"), ("duration", "30m")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(listed(&alice.open("/approvals").await.body), [carols]);
    let page = bob.open("/approvals").await;
    assert!(page.body.contains("1 of 2"), "{}", page.body);
    let mine = alice.open("/approvals").await;
    assert!(mine.body.contains("Recently decided by you"));
    assert!(mine.body.contains(&format!("/requests/{console}")));
}

#[tokio::test]
async fn deciding_from_the_inbox_follows_the_review_links_rules() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let id = make_request(&mut carol, "1h").await;
    let mut bob = app.signed_in(&app.email("bob")).await;
    let path = format!("/approvals/{id}");
    // No CSRF token: refused, nothing decided.
    let res = bob
        .post(&path, &[("decision", "approve"), ("duration", "1h")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // Over the policy's 8h, or nonsense: a clear 400.
    for (duration, says) in [("9h", "longest access"), ("25h", "24"), ("soon", "")] {
        let res = bob
            .submit(
                "/approvals",
                &path,
                &[("decision", "approve"), ("duration", duration)],
            )
            .await;
        assert_eq!(
            res.status,
            StatusCode::BAD_REQUEST,
            "{duration}: {}",
            res.body
        );
        assert!(res.body.contains(says), "{duration}: {}", res.body);
    }
    assert_eq!(app.request_state(id).await, "pending");
    let res = bob
        .submit(
            "/approvals",
            &path,
            &[("decision", "approve"), ("duration", "30m")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(app.request_state(id).await, "approved");
    let auth = app.auth(&carol, "grafana.test", &[]).await;
    assert_eq!(auth.status, StatusCode::OK);
    let channel: String = sqlx::query_scalar(
        "SELECT channel FROM audit_events WHERE action = 'request_approved' AND request_id = $1",
    )
    .bind(id)
    .fetch_one(&app.db().await)
    .await
    .unwrap();
    assert_eq!(channel, "web");
    // The first decision wins: a second click is told who decided.
    let mut alice = app.signed_in(&app.email("alice")).await;
    let csrf = alice.open("/approvals").await.csrf();
    let res = alice
        .post(&path, &[("csrf", &csrf), ("decision", "deny")])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert!(
        res.body.contains("already approved by bob-"),
        "{}",
        res.body
    );
    // Someone who is not an approver of the application cannot decide.
    let mut dave = app.signed_in(&app.email("dave")).await;
    let id2 = make_request(&mut dave, "1h").await;
    let mut outsider = app
        .signed_in(&format!("zed-{}@elsewhere.example", app.tag))
        .await;
    let csrf = outsider.open("/approvals").await.csrf();
    let res = outsider
        .post(
            &format!("/approvals/{id2}"),
            &[("csrf", &csrf), ("decision", "approve"), ("duration", "1h")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    assert_eq!(app.request_state(id2).await, "pending");
}

#[tokio::test]
async fn an_approver_works_through_the_inbox_in_chromium_on_a_phone() {
    use crate::browser::{browser, chromedriver, click, shot, sign_in, text, wait_for_text};
    use std::time::Duration;
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let first = make_request(&mut carol, "1h").await;
    let mut dave = app.signed_in(&app.email("dave")).await;
    let second = make_request(&mut dave, "2h").await;

    let driver = chromedriver().await;
    let c = browser(&driver, 390, true).await;
    c.goto(&format!("{}/login?next=%2Fapprovals", app.url))
        .await
        .unwrap();
    sign_in(&c, &app, &app.email("bob"), None).await;
    wait_for_text(&c, "2 waiting for your decision", Duration::from_secs(10)).await;
    shot(&c, "approvals-inbox").await;
    // The oldest first: carol's. Approve it for the duration shown (her wish, 1h).
    click(
        &c,
        &format!("form[action='/approvals/{first}'] button[value=approve]"),
    )
    .await;
    wait_for_text(&c, "1 waiting for your decision", Duration::from_secs(10)).await;
    let page = text(&c).await;
    assert!(page.contains("Recently decided by you"), "{page}");
    assert!(page.contains(&app.email("dave")), "{page}");
    shot(&c, "approvals-after-one").await;
    // Deny the other with a reason.
    crate::browser::fill(&c, &format!("#reason-{second}"), "Use staging").await;
    click(
        &c,
        &format!("form[action='/approvals/{second}'] button[value=deny]"),
    )
    .await;
    wait_for_text(&c, "Nothing waits for you.", Duration::from_secs(10)).await;
    shot(&c, "approvals-done").await;
    c.close().await.unwrap();
    assert_eq!(app.request_state(first).await, "approved");
    assert_eq!(app.request_state(second).await, "denied");
    let grant: i64 =
        sqlx::query_scalar("SELECT expires_at - approved_at FROM grants WHERE request_id = $1")
            .bind(first)
            .fetch_one(&app.db().await)
            .await
            .unwrap();
    assert_eq!(
        grant, 3_600_000,
        "the duration the page offered first: the wish"
    );
}
