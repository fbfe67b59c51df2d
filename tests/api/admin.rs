//! `/admin`: live access, sessions and the audit log, for the `[[admins]]` only.
use reqwest::StatusCode;

use crate::helpers::{TestApp, BASE};
use crate::requests::make_request;

async fn spawn() -> TestApp {
    TestApp::spawn_with(BASE, "[[admins]]\nemail = \"root-{tag}@example.com\"\n").await
}

#[tokio::test]
async fn only_admins_see_admin_pages_strangers_get_404() {
    let app = spawn().await;
    for path in ["/admin", "/admin/audit", "/admin/requests"] {
        assert_eq!(
            app.browser().open(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        let mut carol = app.signed_in(&app.email("carol")).await;
        assert_eq!(
            carol.open(path).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        let mut root = app.signed_in(&app.email("root")).await;
        assert_eq!(root.open(path).await.status, StatusCode::OK, "{path}");
    }
    let mut carol = app.signed_in(&app.email("carol")).await;
    let csrf = carol.open("/").await.csrf();
    let res = carol
        .post(
            "/admin/sessions/end",
            &[("csrf", &csrf), ("email", &app.email("bob"))],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_admin_revokes_with_a_reason_and_signs_people_out_everywhere() {
    let app = spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let second_session = app.signed_in(&app.email("carol")).await;
    let id = make_request(&mut carol, "1h").await;
    let grant = app.approve(id, "bob", "1h").await.grant.unwrap();
    assert_eq!(
        app.auth(&carol, "grafana.test", &[]).await.status,
        StatusCode::OK
    );

    let mut root = app.signed_in(&app.email("root")).await;
    let page = root.open("/admin").await;
    assert!(page.body.contains(&app.email("carol")), "{}", page.body);
    let path = format!("/admin/grants/{}/revoke", grant.id);
    let res = root.submit("/admin", &path, &[("reason", " ")]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "a reason is required");
    let res = root
        .submit("/admin", &path, &[("reason", "Incident over")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        app.auth(&carol, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED,
        "the very next /auth"
    );
    let db = app.db().await;
    let (actor, reason): (String, String) = sqlx::query_as(
        "SELECT actor, reason FROM audit_events WHERE action = 'grant_revoked' AND grant_id = $1",
    )
    .bind(grant.id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        (actor.as_str(), reason.as_str()),
        (app.email("root").as_str(), "Incident over")
    );

    // Sign carol out everywhere: both her sessions stop working at once.
    let res = root
        .submit(
            "/admin",
            "/admin/sessions/end",
            &[("email", &app.email("carol"))],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    for b in [&carol, &second_session] {
        let session = &b.cookies["daypass_session"];
        let res = app.auth_with_session(session, "grafana.test").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let ended: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'sessions_ended' AND actor = $1 AND subject = $2",
    )
    .bind(app.email("root"))
    .bind(app.email("carol"))
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(ended, 1);
}

#[tokio::test]
async fn the_audit_log_is_searched_paged_and_exported() {
    let app = spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let first = make_request(&mut carol, "1h").await;
    app.approve(first, "bob", "1h").await;
    let mut dave = app.signed_in(&app.email("dave")).await;
    make_request(&mut dave, "1h").await;
    let mut root = app.signed_in(&app.email("root")).await;

    let page = root
        .open(&format!(
            "/admin/audit?person={}&action=request_approved",
            app.email("carol")
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&format!(
            "request_approved</strong> by {}",
            app.email("bob")
        )),
        "{}",
        page.body
    );
    assert!(!page.body.contains(&app.email("dave")), "only carol's");
    let bad = root.open("/admin/audit?since=yesterday").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = root.open("/admin/audit?action=nonsense").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let csv = root.open("/admin/audit?app=grafana&format=csv").await;
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(lines[0].starts_with("id,at,action,actor,channel,request_id"));
    assert_eq!(
        lines.len(),
        1 + 3,
        "two requests made and one approved: {}",
        csv.body
    );
    let jsonl = root.open("/admin/audit?app=grafana&format=jsonl").await;
    let events: Vec<serde_json::Value> = jsonl
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 3);
    // The same fields as `daypass audit --json`.
    let cli = app.cli(&["audit", "--json"]);
    let first_cli: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&cli.stdout).lines().next().unwrap()).unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&events[0]), keys(&first_cli));
}

#[tokio::test]
async fn requests_are_filtered_by_state_application_and_person() {
    let app = spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let approved = make_request(&mut carol, "1h").await;
    app.approve(approved, "bob", "1h").await;
    let mut dave = app.signed_in(&app.email("dave")).await;
    let pending = make_request(&mut dave, "1h").await;
    let mut root = app.signed_in(&app.email("root")).await;
    let link = |id: i64| format!("href=\"/requests/{id}\"");
    let all = root.open("/admin/requests").await.body;
    assert!(all.contains(&link(approved)) && all.contains(&link(pending)));
    let only = root
        .open("/admin/requests?state=pending&app=grafana")
        .await
        .body;
    assert!(only.contains(&link(pending)) && !only.contains(&link(approved)));
    let carols = root
        .open(&format!("/admin/requests?person={}", app.email("carol")))
        .await
        .body;
    assert!(carols.contains(&link(approved)) && !carols.contains(&link(pending)));
    assert_eq!(
        root.open("/admin/requests?state=maybe").await.status,
        StatusCode::BAD_REQUEST
    );
    // An admin may open any request's page.
    assert_eq!(
        root.open(&format!("/requests/{pending}")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_admin_revokes_a_live_grant_and_exports_the_audit_as_csv_in_chromium() {
    use crate::browser::{browser, chromedriver, click, fill, shot, sign_in, text, wait_for_text};
    use std::time::Duration;
    let app = spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let id = make_request(&mut carol, "1h").await;
    let grant = app.approve(id, "bob", "1h").await.grant.unwrap();

    let driver = chromedriver().await;
    let c = browser(&driver, 1000, true).await;
    c.goto(&format!("{}/login?next=%2Fadmin", app.url))
        .await
        .unwrap();
    sign_in(&c, &app, &app.email("root"), None).await;
    wait_for_text(&c, "Live access", Duration::from_secs(10)).await;
    assert!(text(&c).await.contains(&app.email("carol")));
    shot(&c, "admin-live-access").await;
    fill(&c, &format!("#reason-{}", grant.id), "Incident over").await;
    click(
        &c,
        &format!("form[action='/admin/grants/{}/revoke'] button", grant.id),
    )
    .await;
    wait_for_text(
        &c,
        "Nobody holds temporary access now.",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        app.auth(&carol, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    c.goto(&format!("{}/admin/audit?action=grant_revoked", app.url))
        .await
        .unwrap();
    wait_for_text(&c, "grant_revoked by", Duration::from_secs(10)).await;
    shot(&c, "admin-audit").await;
    // The export link, fetched by the page itself (a download has no page to look at).
    let csv = c
        .execute_async(
            "const done = arguments[0]; \
             fetch(document.querySelector('a[href*=\"format=csv\"]').href).then(r => r.text()).then(done);",
            vec![],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap_or("").to_string();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,at,action,actor"), "{csv}");
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].contains(",grant_revoked,") && lines[1].contains("Incident over"),
        "{csv}"
    );
    c.close().await.unwrap();
}
