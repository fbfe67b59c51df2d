use reqwest::StatusCode;

use crate::helpers::{review_path, Browser, TestApp};

/// Submits a request for grafana as the signed-in `browser`; returns its id.
pub async fn make_request(browser: &mut Browser, duration: &str) -> i64 {
    request_for(browser, "grafana", "INC-7 investigate", duration).await
}

/// Submits a request for the application `slug` with `justification` and `duration` as the
/// signed-in `browser`; returns its id.
pub async fn request_for(
    browser: &mut Browser,
    slug: &str,
    justification: &str,
    duration: &str,
) -> i64 {
    let path = format!("/request/{slug}");
    let fields = [("justification", justification), ("duration", duration)];
    file_request(browser, &path, &fields).await
}

/// Loads the request form at `path` (`/request/{slug}`, `/grants/{id}/extend`) and posts it
/// with `fields`; returns the id of the request daypass filed and leads to.
pub async fn file_request(browser: &mut Browser, path: &str, fields: &[(&str, &str)]) -> i64 {
    let res = browser.submit(path, path, fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    res.request_id()
}

/// A request waiting for a decision: the requester signed in through the email code and asked
/// for grafana with `wish`; bob, an approver, is signed in the same way and holds the review link
/// from his mail.
pub struct Pending {
    pub id: i64,
    pub requester: Browser,
    pub bob: Browser,
    pub review: String,
}

/// Files a request as `requester_email` (see `make_request`) and has bob ready to decide it.
pub async fn pending_request(app: &TestApp, requester_email: &str, wish: &str) -> Pending {
    let mut requester = app.browser();
    requester.login(app, requester_email).await;
    let id = make_request(&mut requester, wish).await;
    let review = review_path(
        &app.mail()
            .wait_for(&app.email("bob"), &format!("Access request #{id}:"))
            .await,
    );
    let mut bob = app.browser();
    bob.login(app, &app.email("bob")).await;
    Pending {
        id,
        requester,
        bob,
        review,
    }
}

#[tokio::test]
async fn rd_to_a_foreign_host_is_refused() {
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    b.login(&app, &app.email("carol")).await;
    for rd in [
        "//evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "https%3A%2F%2Fevil.example",
        "https://grafana.test.evil.example/",
        "https://grafana.test@evil.example/",
    ] {
        let path = format!(
            "/request/grafana?rd={}",
            url::form_urlencoded::byte_serialize(rd.as_bytes()).collect::<String>()
        );
        let res = b.open(&path).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{rd}");
        assert!(res.body.contains("will not follow"), "{rd}: {}", res.body);
    }
    let res = b
        .open("/request/grafana?rd=https%3A%2F%2Fgrafana.test%2Fok")
        .await;
    assert_eq!(res.status, StatusCode::OK);
    // And in the form itself.
    let res = b
        .submit(
            "/request/grafana",
            "/request/grafana",
            &[("justification", "x"), ("rd", "https://evil.example/")],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_requests")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing was recorded");
}

#[tokio::test]
async fn a_justification_is_required_and_a_wish_over_the_max_is_refused() {
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    b.login(&app, &app.email("carol")).await;
    let res = b
        .submit(
            "/request/grafana",
            "/request/grafana",
            &[("justification", "   ")],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.body.contains("Please say why"));
    for (wish, msg) in [
        ("9h", "at most 8h"),
        ("25h", "at most 24 hours"),
        ("soon", "not a duration"),
    ] {
        let res = b
            .submit(
                "/request/grafana",
                "/request/grafana",
                &[("justification", "ok"), ("duration", wish)],
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{wish}");
        assert!(res.body.contains(msg), "{wish}: {}", res.body);
    }
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_requests")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn a_double_submit_makes_one_request() {
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    b.login(&app, &app.email("carol")).await;
    // A double click: the same form posted twice.
    let csrf = b.open("/request/grafana").await.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("justification", "INC-9"),
        ("duration", "1h"),
    ];
    let first = b.post("/request/grafana", &form).await;
    let second = b.post("/request/grafana", &form).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(first.location(), second.location());
    let first = first.request_id();
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_requests")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert_eq!(count, 1);
    // Approvers were asked once.
    app.mail()
        .wait_for(&app.email("alice"), "Access request")
        .await;
    assert_eq!(
        app.mail()
            .to(&app.email("alice"))
            .await
            .iter()
            .filter(|m| m.subject.contains("Access request"))
            .count(),
        1
    );
    // The form now leads to the pending request.
    let res = b.open("/request/grafana").await;
    assert_eq!(res.location(), format!("/requests/{first}"));
    let home = b.open("/").await;
    assert!(home.body.contains("Waiting for approval"));
}

#[tokio::test]
async fn unknown_applications_and_others_requests_are_not_found() {
    let app = TestApp::spawn().await;
    let mut carol = app.browser();
    carol.login(&app, &app.email("carol")).await;
    let id = make_request(&mut carol, "1h").await;
    assert_eq!(
        carol.open("/request/nope").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        carol.open("/requests/99999").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        carol.open("/requests/abc").await.status,
        StatusCode::NOT_FOUND
    );
    let mut dave = app.browser();
    dave.login(&app, &app.email("dave")).await;
    assert_eq!(
        dave.open(&format!("/requests/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    // An approver may look.
    let mut alice = app.browser();
    alice.login(&app, &app.email("alice")).await;
    assert_eq!(
        alice.open(&format!("/requests/{id}")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_form_without_its_csrf_token_is_refused() {
    let app = TestApp::spawn().await;
    let mut carol = app.browser();
    carol.login(&app, &app.email("carol")).await;
    let id = make_request(&mut carol, "1h").await;
    let mail = app
        .mail()
        .wait_for(&app.email("alice"), "Access request")
        .await;
    let review = crate::helpers::review_path(&mail);
    let mut alice = app.browser();
    alice.login(&app, &app.email("alice")).await;
    alice.open(&review).await;

    type Case<'a> = (&'a mut Browser, &'a str, Vec<(&'a str, &'a str)>);
    let cases: [Case; 5] = [
        (
            &mut app.browser(),
            "/login",
            vec![("email", "x@example.com")],
        ),
        (
            &mut app.browser(),
            "/login/verify",
            vec![("code", "123456")],
        ),
        (
            &mut carol,
            "/request/grafana",
            vec![("justification", "again")],
        ),
        (
            &mut alice,
            review.as_str(),
            vec![("decision", "approve"), ("duration", "1h")],
        ),
        (&mut app.browser(), "/logout", vec![]),
    ];
    for (browser, path, form) in cases {
        browser.open("/").await; // has a CSRF cookie, but the form lacks the token
        let res = browser.post(path, &form).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}: {}", res.body);
    }
    let res = carol
        .post(
            "/request/grafana",
            &[("csrf", "forged"), ("justification", "x")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "a forged token");
    // A token from another browser does not work either.
    let other_token = app.browser().open("/login").await.csrf();
    let res = carol.post("/logout", &[("csrf", &other_token)]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let state = app.request_state(id).await;
    assert_eq!(state, "pending", "nothing was decided");
}
