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
        "SELECT actor, reason FROM audit_events WHERE action = 'grant_revoked' AND grant_id = ?",
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
        "SELECT COUNT(*) FROM audit_events WHERE action = 'sessions_ended' AND actor = ? AND subject = ?",
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
