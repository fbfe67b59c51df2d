use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{review_path, TestApp};

#[tokio::test]
async fn a_contractor_asks_an_approver_approves_access_works_then_ends_on_time() {
    let app = TestApp::spawn().await;
    let carol = app.email("carol");
    let alice = app.email("alice");
    let mut requester = app.browser();

    // Before anything, the proxy is told no.
    let res = app.auth(&requester, "grafana.test", &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);

    // Sign in by the emailed code, then ask for access with a reason.
    requester.login(&app, &carol).await;
    let form = requester
        .open("/request/grafana?rd=https://grafana.test/d/abc")
        .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains("Ticket and reason"),
        "the policy's prompt is shown"
    );
    let res = requester
        .submit(
            "/request/grafana?rd=https://grafana.test/d/abc",
            "/request/grafana",
            &[
                ("justification", "INC-42: dashboards are down"),
                ("duration", "2h"),
                ("rd", "https://grafana.test/d/abc"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let status_url = res.location().to_string();
    assert!(status_url.starts_with("/requests/"));
    let page = requester.open(&status_url).await;
    assert!(page.body.contains("Waiting for an approver"));

    // The approver's email has the facts and a review link on public_url.
    let mail = app.mail().wait_for(&alice, "Access request").await;
    assert!(mail.text.contains(&carol));
    assert!(mail.text.contains("Grafana"));
    assert!(mail.text.contains("INC-42: dashboards are down"));
    assert!(mail.text.contains("2h"));
    assert!(mail.text.contains(&format!("{}/review/", app.url)));
    assert!(mail.html.contains("INC-42"), "an HTML part too");

    // The link needs a sign-in as alice: it leads through the login, prefilled.
    let review = review_path(&mail);
    let mut approver = app.browser();
    let res = approver.open(&review).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        res.location().starts_with("/login?next=%2Freview%2F"),
        "{}",
        res.location()
    );
    let login_page = approver.open(res.location()).await;
    assert!(
        login_page.body.contains(&format!("value=\"{alice}\"")),
        "the approver's address is prefilled"
    );
    approver.login(&app, &alice).await;

    // GET shows the request and decides nothing.
    let page = approver.open(&review).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("INC-42"));
    assert_eq!(
        app.auth(&requester, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Approve for a chosen 90 minutes.
    let res = approver
        .submit(
            &review,
            &review,
            &[("decision", "approve"), ("duration", "1h30m")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = approver.open(&review).await;
    assert!(page.body.contains("Approved by"), "{}", page.body);

    // Now the proxy lets carol through, naming her and the grant's end.
    let res = app.auth(&requester, "grafana.test", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("x-daypass-user"), Some(carol.as_str()));
    let expires = res
        .header("x-daypass-grant-expires")
        .expect("expiry header");
    let expires = chrono::DateTime::parse_from_rfc3339(expires).expect("RFC 3339");
    let length = expires.timestamp() - chrono::Utc::now().timestamp();
    assert!(
        (5390..=5400).contains(&length),
        "grant lasts 90 minutes, got {length}s"
    );
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert!(res.header("set-cookie").is_none());

    // The requester hears of it, and the status page continues to the application.
    let approved = app.mail().wait_for(&carol, "Approved").await;
    assert!(approved.text.contains(&alice));
    let page = requester.open(&status_url).await;
    assert!(
        page.body.contains("https://grafana.test/d/abc"),
        "continues to rd"
    );

    // Time passes: access ends at expires_at even before the scheduler runs.
    app.ctx.clock.advance(Duration::from_secs(90 * 60 + 1));
    assert_eq!(
        app.auth(&requester, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );

    // The scheduler revokes it and tells the requester.
    let report = app.sweep().await;
    assert_eq!(report.grants_expired.len(), 1);
    let ended = app.mail().wait_for(&carol, "Access ended").await;
    assert!(ended.text.contains("time is up"));
    assert_eq!(
        app.auth(&requester, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Every step is in the audit log.
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_events ORDER BY id")
        .fetch_all(&app.db().await)
        .await
        .unwrap();
    assert_eq!(
        actions,
        ["request_created", "request_approved", "grant_expired"]
    );
}

#[tokio::test]
async fn the_scheduler_expires_grants_on_its_own() {
    let app = TestApp::spawn_with(
        &crate::helpers::BASE.replace("sweep_every = \"1h\"", "sweep_every = \"1s\""),
        "",
    )
    .await;
    let carol = app.email("carol");
    let mut requester = app.browser();
    requester.login(&app, &carol).await;
    let id = crate::requests::make_request(&mut requester, "1h").await;
    let decided = app.approve(id, "bob", "1m").await;
    let grant_id = decided.grant.unwrap().id;
    app.ctx.clock.advance(Duration::from_secs(61));
    let db = app.db().await;
    crate::helpers::eventually(
        Duration::from_secs(5),
        "the scheduler expires the grant",
        || {
            let db = db.clone();
            async move {
                sqlx::query_scalar::<_, String>("SELECT state FROM grants WHERE id = $1")
                    .bind(grant_id)
                    .fetch_one(&db)
                    .await
                    .unwrap()
                    == "expired"
            }
        },
    )
    .await;
    app.mail().wait_for(&carol, "Access ended").await;
}
