//! What a first walk through the demo noticed: short durations to wish for, one time format,
//! the code page's address, the favicon, the request page after access ended, and no "ending
//! soon" mail for a grant that was short from the start.
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::requests::make_request;

#[tokio::test]
async fn the_request_form_offers_a_few_minutes_when_the_policy_allows_them() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let page = carol.open("/request/grafana").await;
    let offered: Vec<&str> = page
        .body
        .split("<option value=\"")
        .skip(1)
        .filter_map(|o| o.split('"').next())
        .collect();
    assert_eq!(
        offered,
        ["", "5m", "15m", "30m", "1h", "2h", "4h", "8h"],
        "never more than the policy's 8h"
    );
    assert!(
        page.body.contains("from a few minutes up to 8h"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_status_page_shows_every_time_in_one_format() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let approved = make_request(&mut carol, "1h").await;
    app.approve(approved, "bob", "1h").await;
    let mut dave = app.signed_in(&app.email("dave")).await;
    let pending = make_request(&mut dave, "1h").await;
    for (browser, id) in [(&mut carol, approved), (&mut dave, pending)] {
        let body = browser.open(&format!("/requests/{id}")).await.body;
        let shown = body.matches(" UTC").count();
        let marked = body.matches("<time datetime=\"").count();
        assert!(shown >= 2, "{body}");
        assert_eq!(
            shown, marked,
            "every time is a <time> the script shows in the viewer's zone: {body}"
        );
    }
}

#[tokio::test]
async fn the_code_page_names_the_address_the_code_went_to() {
    let app = TestApp::spawn().await;
    let carol = app.email("carol");
    let mut b = app.browser();
    let res = b
        .submit("/login", "/login", &[("email", &carol), ("next", "/")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = b.open(res.location()).await;
    assert!(
        page.body
            .contains(&format!("emailed to <strong>{carol}</strong>")),
        "{}",
        page.body
    );
    let wrong = b
        .submit(
            "/login/verify",
            "/login/verify",
            &[("code", "000000"), ("next", "/")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.body.contains(&carol), "{}", wrong.body);
}

#[tokio::test]
async fn the_favicon_is_a_small_icon_with_its_content_type() {
    let app = TestApp::spawn().await;
    let res = app.browser().open("/favicon.ico").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("content-type"), Some("image/svg+xml"));
    assert!(res.body.starts_with("<svg") && res.body.len() < 1024);
    let page = app.browser().open("/login").await;
    assert!(page
        .body
        .contains("<link rel=\"icon\" href=\"/favicon.ico\""));
}

#[tokio::test]
async fn after_expiry_the_request_page_says_that_access_ended() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let form = carol.open("/request/grafana").await.body;
    assert!(!form.contains("access ended"), "nothing ended yet: {form}");
    let id = make_request(&mut carol, "30m").await;
    app.approve(id, "bob", "30m").await;
    app.ctx.clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(app.sweep().await.grants_expired.len(), 1);
    // Sent back by the proxy, the person lands on the request page again.
    let page = carol
        .open("/request/grafana?rd=http%3A%2F%2Fgrafana.test%2F")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Your access ended at <time"),
        "{}",
        page.body
    );
    assert!(page.body.contains("its time was up"), "{}", page.body);
    assert!(
        page.body.contains("name=\"justification\""),
        "and can ask again"
    );
}

#[tokio::test]
async fn a_grant_shorter_than_warn_before_gets_no_ending_soon_mail() {
    // warn_before is 10 minutes.
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let short = make_request(&mut carol, "5m").await;
    app.approve(short, "bob", "5m").await;
    let mut dave = app.signed_in(&app.email("dave")).await;
    let long = make_request(&mut dave, "15m").await;
    app.approve(long, "bob", "15m").await;
    assert_eq!(app.sweep().await.grants_warned, 0);
    app.ctx.clock.advance(Duration::from_secs(6 * 60));
    // Both end within 10 minutes now; only the 15-minute grant was longer than that.
    assert_eq!(app.sweep().await.grants_warned, 1);
    assert_eq!(app.sweep().await.grants_warned, 0, "and only once");
    let warnings: Vec<String> =
        sqlx::query_scalar("SELECT recipient FROM outbox WHERE kind = 'grant_warning'")
            .fetch_all(&app.db().await)
            .await
            .unwrap();
    assert_eq!(warnings, [app.email("dave")]);
}

#[tokio::test]
async fn a_holder_sent_back_by_the_application_is_told_the_cookie_does_not_reach_it() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let id = make_request(&mut carol, "1h").await;
    app.approve(id, "bob", "1h").await;
    // Opened on its own, the page just says so.
    let page = carol.open("/request/grafana").await.body;
    assert!(page.contains("You have access until"), "{page}");
    assert!(!page.contains("keeps sending you back"), "{page}");
    // Sent here by the proxy (with rd) although access is live: the app saw no sign-in.
    let page = carol
        .open("/request/grafana?rd=http%3A%2F%2Fgrafana.test%2F")
        .await
        .body;
    assert!(page.contains("keeps sending you back here"), "{page}");
    assert!(page.contains("does not cover grafana.test"), "{page}");
    assert!(page.contains("server.cookie_domain"), "{page}");
}
