use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::requests::make_request;

#[tokio::test]
async fn persistent_deny_and_unmatched_policies() {
    let app = TestApp::spawn_with(
        crate::helpers::BASE,
        "[[applications]]\nslug = \"wiki\"\nhost = \"wiki.test\"\n  [[applications.policies]]\n  name = \"all\"\n  decision = \"allow\"\n  include = { everyone = true }\n",
    )
    .await;
    // Persistent access: no request needed.
    let mut sre = app.browser();
    sre.login(&app, &app.email("sre")).await;
    let res = app.auth(&sre, "grafana.test", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.header("x-daypass-user"),
        Some(app.email("sre").as_str())
    );
    assert!(res.header("x-daypass-grant-expires").is_none());
    let home = sre.open("/").await;
    assert!(home.body.contains("You have access."));

    // A deny policy: 403, and the request page refuses too.
    let mut blocked = app.browser();
    blocked
        .login(&app, &format!("mallory-{}@blocked.example", app.tag))
        .await;
    assert_eq!(
        app.auth(&blocked, "grafana.test", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        blocked.open("/request/grafana").await.status,
        StatusCode::FORBIDDEN
    );
    // Policies are per application: the wiki lets everyone in.
    assert_eq!(
        app.auth(&blocked, "wiki.test", &[]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn no_matching_policy_means_deny() {
    let app = TestApp::spawn().await;
    let mut eve = app.browser();
    eve.login(&app, &format!("eve-{}@elsewhere.example", app.tag))
        .await;
    assert_eq!(
        app.auth(&eve, "grafana.test", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        eve.open("/request/grafana").await.status,
        StatusCode::FORBIDDEN
    );
    assert!(eve.open("/").await.body.contains("No application is open"));
}

#[tokio::test]
async fn bad_input_to_auth_answers_401_or_403_never_500() {
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    // No session.
    assert_eq!(
        app.auth(&b, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Garbage cookies.
    for garbage in [
        "daypass_session=garbage",
        "daypass_session=",
        "daypass_session=%00%ff",
        "daypass_session=a;;;;=",
        &format!("daypass_session={}", "f".repeat(5000)),
    ] {
        let res = b
            .get_with(
                "/auth",
                &[
                    ("X-Forwarded-Host".into(), "grafana.test".into()),
                    ("Cookie".into(), garbage.into()),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{garbage}");
        assert_eq!(res.header("cache-control"), Some("no-store"));
    }
    // No headers, unknown host, odd URLs.
    assert_eq!(b.get_with("/auth", &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.auth(&b, "evil.example", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let odd = b
        .get_with("/auth", &[("X-Original-URL".into(), "not a url".into())])
        .await;
    assert_eq!(odd.status, StatusCode::FORBIDDEN);
    let via_original = b
        .get_with(
            "/auth",
            &[("X-Original-URL".into(), "https://grafana.test/x".into())],
        )
        .await;
    assert_eq!(
        via_original.status,
        StatusCode::FORBIDDEN,
        "by default only X-Forwarded-Host names the target (server.target_header)"
    );
    // ?redirect=1 sends the browser to the request page with the original URL.
    let res = app.auth(&b, "grafana.test", &[]).await;
    assert!(res.header("location").is_none());
    let res = b
        .get_with(
            "/auth?redirect=1",
            &[
                ("X-Forwarded-Host".into(), "grafana.test".into()),
                ("X-Forwarded-Uri".into(), "/d/1?a=b".into()),
                ("X-Forwarded-Proto".into(), "https".into()),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert_eq!(
        res.location(),
        format!(
            "{}/request/grafana?rd=https%3A%2F%2Fgrafana.test%2Fd%2F1%3Fa%3Db",
            app.url
        )
    );
    assert!(res.header("set-cookie").is_none());

    // Client-supplied identity headers are ignored.
    let res = app
        .auth(
            &b,
            "grafana.test",
            &[
                ("X-Daypass-User", "sre@example.com"),
                ("X-Forwarded-Email", "sre@example.com"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    b.login(&app, &app.email("carol")).await;
    let res = app
        .auth(&b, "grafana.test", &[("X-Daypass-User", "sre@example.com")])
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_and_revoke_end_access_on_the_next_request() {
    let app = TestApp::spawn().await;
    let mut carol = app.browser();
    carol.login(&app, &app.email("carol")).await;
    let id = make_request(&mut carol, "1h").await;
    let decided = app.approve(id, "alice", "1h").await;
    assert_eq!(
        app.auth(&carol, "grafana.test", &[]).await.status,
        StatusCode::OK
    );
    let home = carol.open("/").await;
    assert!(home.body.contains("Access until"), "{}", home.body);

    // CLI revoke in another process: the server learns within a second.
    let out = app.cli(&[
        "grants",
        "revoke",
        &decided.grant.unwrap().id.to_string(),
        "--reason",
        "done",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = std::time::Instant::now();
    crate::helpers::eventually(
        std::time::Duration::from_secs(1),
        "the revoke reaches /auth",
        || async { app.auth(&carol, "grafana.test", &[]).await.status == StatusCode::UNAUTHORIZED },
    )
    .await;
    eprintln!("CLI revoke reached /auth after {:?}", started.elapsed());
    app.mail()
        .wait_for(&app.email("carol"), "Access ended")
        .await;

    // Logout ends the session at once.
    let session = carol.cookies.get("daypass_session").cloned().unwrap();
    let res = carol.submit("/", "/logout", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = app.auth_with_session(&session, "grafana.test").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn header_identity_is_trusted_only_from_trusted_proxies() {
    let trusted = TestApp::spawn_with(
        crate::helpers::BASE,
        "[identity]\nmode = \"header\"\nheader = \"X-Forwarded-Email\"\n",
    )
    .await;
    let b = trusted.browser();
    let sre = trusted.email("sre");
    let res = trusted
        .auth(&b, "grafana.test", &[("X-Forwarded-Email", &sre)])
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("x-daypass-user"), Some(sre.as_str()));
    assert_eq!(
        trusted.auth(&b, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );

    let untrusted = TestApp::spawn_with(
        &crate::helpers::BASE.replace(
            "[server]\n",
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
        ),
        "[identity]\nmode = \"header\"\n",
    )
    .await;
    let b = untrusted.browser();
    let res = untrusted
        .auth(
            &b,
            "grafana.test",
            &[("X-Forwarded-Email", &untrusted.email("sre"))],
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "the header from an untrusted peer is ignored"
    );
}

#[tokio::test]
async fn the_holder_or_an_approver_can_end_a_grant_from_the_web_and_nobody_else() {
    let app = TestApp::spawn().await;
    let carol = app.email("carol");
    let mut holder = app.signed_in(&carol).await;
    let id = make_request(&mut holder, "1h").await;
    let alice = daypass::domain::Email::parse(&app.email("alice")).unwrap();
    let approve = || {
        daypass::access::decisions::Verdict::Approve(
            daypass::domain::GrantDuration::parse("1h").unwrap(),
        )
    };
    let g = crate::helpers::decide(&app.ctx, id, &alice, crate::helpers::by_email(), approve())
        .await
        .unwrap()
        .grant
        .unwrap();
    // A stranger cannot even see it.
    let mut dave = app.signed_in(&app.email("dave")).await;
    let res = dave
        .submit("/", &format!("/grants/{}/revoke", g.id), &[])
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.auth(&holder, "grafana.test", &[]).await.status,
        StatusCode::OK
    );
    // "I'm done" from the home page.
    let home = holder.open("/").await;
    assert!(
        home.body.contains("I&#39;m done") || home.body.contains("I'm done"),
        "{}",
        home.body
    );
    let res = holder
        .submit("/", &format!("/grants/{}/revoke", g.id), &[("next", "/")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.auth(&holder, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let res = holder
        .submit("/", &format!("/grants/{}/revoke", g.id), &[])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "already ended");

    // An approver ends the next one from the review page.
    let id = make_request(&mut holder, "1h").await;
    let link = crate::helpers::review_path(
        &app.mail()
            .wait_for(&app.email("bob"), &format!("Access request #{id}:"))
            .await,
    );
    let mut bob = app.signed_in(&app.email("bob")).await;
    bob.submit(&link, &link, &[("decision", "approve"), ("duration", "1h")])
        .await;
    assert_eq!(
        app.auth(&holder, "grafana.test", &[]).await.status,
        StatusCode::OK
    );
    let page = bob.open(&link).await;
    assert!(page.body.contains("Revoke access now"));
    let grant_id: i64 = sqlx::query_scalar("SELECT id FROM grants WHERE request_id = $1")
        .bind(id)
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    let res = bob
        .submit(
            &link,
            &format!("/grants/{grant_id}/revoke"),
            &[("reason", "incident over"), ("next", &link)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.auth(&holder, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let mail = app
        .mail()
        .wait_for_text(&carol, "Access ended", "incident over")
        .await;
    assert!(mail.text.contains(&app.email("bob")), "says who ended it");
}
