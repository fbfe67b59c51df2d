use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{TestApp, BASE};
use crate::requests::make_request;

#[tokio::test]
async fn grants_that_expired_while_daypass_was_down_are_revoked_at_start() {
    let app = TestApp::spawn().await;
    let carol = app.email("carol");
    let mut b = app.browser();
    b.login(&app, &carol).await;
    let id = make_request(&mut b, "1h").await;
    app.approve(id, "alice", "30m").await;
    // A second request, still pending, that will pass its time while daypass is down.
    let mut dave = app.browser();
    dave.login(&app, &app.email("dave")).await;
    let pending = make_request(&mut dave, "1h").await;
    app.mail().wait_for(&carol, "Approved").await;
    let session = b.cookies["daypass_session"].clone();
    let (dir, tag) = app.stop().await;

    // Two hours later, daypass starts again.
    let clock = daypass::clock::Clock::default();
    clock.advance(Duration::from_secs(2 * 3600));
    let app = TestApp::spawn_in(dir, tag, BASE, "", clock).await;
    let db = app.db().await;
    let state: String = sqlx::query_scalar("SELECT state FROM grants")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(
        state, "expired",
        "revoked at start, before any sweep job ran"
    );
    let req_state = app.request_state(pending).await;
    assert_eq!(req_state, "expired");
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_events WHERE actor = 'daypass' ORDER BY id")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(actions, ["grant_expired", "request_expired"]);
    app.mail().wait_for(&carol, "Access ended").await;
    app.mail().wait_for(&app.email("dave"), "Expired").await;
    // The session survived the restart; the grant did not.
    let res = app.auth_with_session(&session, "grafana.test").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}
