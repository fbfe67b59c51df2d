//! Hostile input, outages and races: nothing lost, no one let in.
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::discord::{click, DiscordTest};
use crate::helpers::{review_path, TestApp, BASE};
use crate::requests::{file_request, make_request};
use crate::smtp_fakes::{rejecting_smtp, SmtpSwitch};

/// Everything the database holds: the SQLite files as they are on disk, or on PostgreSQL every
/// row of every table as text (a token kept raw in a BYTEA column shows as its own hex there).
async fn db_bytes(app: &TestApp) -> Vec<u8> {
    let mut all = Vec::new();
    if crate::helpers::on_postgres() {
        let db = app.db().await;
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
                .fetch_all(&db)
                .await
                .unwrap();
        for t in tables {
            let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT CAST(x AS TEXT) FROM \"{t}\" x"
            )))
            .fetch_all(&db)
            .await
            .unwrap();
            for r in rows {
                all.extend(r.into_bytes());
            }
        }
        return all;
    }
    for name in ["daypass.db", "daypass.db-wal"] {
        all.extend(std::fs::read(app.dir.path().join(name)).unwrap_or_default());
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn tokens_are_long_random_and_never_stored_as_they_are() {
    let app = TestApp::spawn().await;
    let mut carol = app.browser();
    carol.login(&app, &app.email("carol")).await;
    let session = carol.cookies["daypass_session"].clone();
    let id = make_request(&mut carol, "1h").await;
    let link = review_path(
        &app.mail()
            .wait_for(&app.email("bob"), &format!("#{id}:"))
            .await,
    );
    let token = link.trim_start_matches("/review/").to_string();
    for t in [&session, &token] {
        assert_eq!(t.len(), 64, "256 bits, hex");
        assert!(t.chars().all(|c| c.is_ascii_hexdigit()));
    }
    let mut other = app.browser();
    other
        .submit("/login", "/login", &[("email", &app.email("dave"))])
        .await;
    let challenge = other.cookies["daypass_login"].clone();
    let bytes = db_bytes(&app).await;
    let least = if crate::helpers::on_postgres() {
        1_000
    } else {
        10_000
    };
    assert!(bytes.len() > least, "read the database");
    for secret in [&session, &token, &challenge] {
        assert!(!contains(&bytes, secret), "a raw token is in the database");
    }
}

#[tokio::test]
async fn sending_codes_and_filing_requests_are_rate_limited_with_retry_after() {
    let app = TestApp::spawn().await;
    let carol = app.email("carol");
    let mut b = app.browser();
    for _ in 0..5 {
        assert_eq!(
            b.submit("/login", "/login", &[("email", &carol)])
                .await
                .status,
            StatusCode::SEE_OTHER
        );
    }
    let res = b.submit("/login", "/login", &[("email", &carol)]).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait));
    assert!(res.body.contains("Too many attempts"));
    // Per IP: many addresses from one place.
    let mut refused = false;
    for i in 0..20 {
        let res = b
            .submit(
                "/login",
                "/login",
                &[("email", &format!("x{i}-{}@example.com", app.tag))],
            )
            .await;
        refused |= res.status == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(refused, "20 codes an IP per 15 minutes");
    // Requests.
    let mut dave = app.signed_in(&app.email("dave")).await;
    let csrf = dave.open("/request/grafana").await.csrf();
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(
            dave.post(
                "/request/grafana",
                &[("csrf", &csrf), ("justification", "again")],
            )
            .await
            .status,
        );
    }
    assert_eq!(
        statuses[..10]
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        10
    );
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn cross_site_posts_are_refused_even_with_a_good_token() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let csrf = carol.open("/request/grafana").await.csrf();
    for (name, value) in [
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Site", "same-site"),
    ] {
        let cookie = carol.cookie_header();
        let res = reqwest::Client::new()
            .post(format!("{}/request/grafana", app.url))
            .header("Cookie", cookie)
            .header(name, value)
            .form(&[("csrf", csrf.as_str()), ("justification", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{name}: {value}");
    }
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_requests")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert_eq!(count, 0);
    // The same form from daypass's own origin works.
    let res = carol
        .post(
            "/request/grafana",
            &[("csrf", &csrf), ("justification", "ok")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_link_scanner_fetching_every_link_decides_nothing() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let id = make_request(&mut carol, "1h").await;
    let link = review_path(
        &app.mail()
            .wait_for(&app.email("bob"), &format!("#{id}:"))
            .await,
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .unwrap();
    for _ in 0..3 {
        client
            .get(format!("{}{link}", app.url))
            .send()
            .await
            .unwrap();
        client
            .head(format!("{}{link}", app.url))
            .send()
            .await
            .unwrap();
    }
    // Even the approver's own browser opening it.
    let mut bob = app.signed_in(&app.email("bob")).await;
    let page = bob.open(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let state = app.request_state(id).await;
    assert_eq!(state, "pending");
}

#[tokio::test]
async fn links_in_emails_use_public_url_never_the_requests_host() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let csrf = carol.open("/request/grafana").await.csrf();
    let cookie = carol.cookie_header();
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/request/grafana", app.url))
        .header("Host", "evil.example")
        .header("X-Forwarded-Host", "evil.example")
        .header("Cookie", cookie)
        .form(&[("csrf", csrf.as_str()), ("justification", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mail = app
        .mail()
        .wait_for(&app.email("alice"), "Access request")
        .await;
    assert!(mail.text.contains(&format!("{}/review/", app.url)));
    assert!(!mail.text.contains("evil.example") && !mail.html.contains("evil.example"));
}

#[tokio::test]
async fn oversized_bodies_and_overlong_fields_get_clear_refusals() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let csrf = carol.open("/request/grafana").await.csrf();
    let huge = "x".repeat(10 * 1024 * 1024);
    let res = carol
        .post(
            "/request/grafana",
            &[("csrf", &csrf), ("justification", &huge)],
        )
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    let long = "y".repeat(2001);
    let res = carol
        .post(
            "/request/grafana",
            &[("csrf", &csrf), ("justification", &long)],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.body.contains("limited to 2000 characters"));
    let id = make_request(&mut carol, "1h").await;
    let link = review_path(
        &app.mail()
            .wait_for(&app.email("bob"), &format!("#{id}:"))
            .await,
    );
    let mut bob = app.signed_in(&app.email("bob")).await;
    let res = bob
        .submit(
            &link,
            &link,
            &[("decision", "deny"), ("reason", &"z".repeat(1001))],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.body.contains("limited to 1000 characters"));
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_requests")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert_eq!(count, 1, "nothing half-written");
}

#[tokio::test]
async fn html_script_and_odd_unicode_are_shown_as_text_in_pages_emails_and_discord() {
    let t = DiscordTest::start().await;
    let app = &t.app;
    let nasty = "<script>alert(1)</script> <img src=x onerror=alert(2)> \u{202e}evil\u{202c} 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \"q\" & 'a' **b** @here";
    let mut carol = app.signed_in(&app.email("carol")).await;
    let id = file_request(&mut carol, "/request/grafana", &[("justification", nasty)]).await;
    let status_page = carol.open(&format!("/requests/{id}")).await;
    let mail = app
        .mail()
        .wait_for(&app.email("bob"), &format!("#{id}:"))
        .await;
    let mut bob = app.signed_in(&app.email("bob")).await;
    let review = bob.open(&review_path(&mail)).await;
    for (what, html) in [
        ("status page", &status_page.body),
        ("review page", &review.body),
        ("email", &mail.html),
    ] {
        assert!(!html.contains("<script>alert"), "{what} runs the script");
        assert!(!html.contains("<img src=x"), "{what} shows the image");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{what} shows the text"
        );
        assert!(html.contains("𝔘𝔫𝔦𝔠𝔬𝔡𝔢"), "{what} keeps the Unicode");
    }
    assert!(
        mail.text.contains("<script>alert(1)</script>"),
        "the plain-text part is plain text"
    );
    let (body, _) = t.posted(id).await;
    let description = body["embeds"][0]["description"].as_str().unwrap();
    assert!(
        description.contains("\\<script\\>")
            && description.contains("\\*\\*b\\*\\*")
            && description.contains("\\@here"),
        "{description}"
    );
}

#[tokio::test]
async fn fifty_racing_approvals_and_denials_by_email_and_discord_make_one_decision() {
    let t = DiscordTest::start().await;
    let app = &t.app;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let id = make_request(&mut carol, "1h").await;
    let (_, message) = t.posted(id).await;
    let mut links = Vec::new();
    for who in ["alice", "bob"] {
        let link = review_path(
            &app.mail()
                .wait_for(&app.email(who), &format!("#{id}:"))
                .await,
        );
        let mut b = app.signed_in(&app.email(who)).await;
        let csrf = b.open(&link).await.csrf();
        links.push((b, link, csrf));
    }
    let mut tasks = Vec::new();
    for i in 0..50 {
        if i % 2 == 0 {
            let (b, link, csrf) = &links[(i / 2) % 2];
            let cookie = b.cookie_header();
            let (url, csrf) = (format!("{}{link}", app.url), csrf.clone());
            let decision = if i % 4 == 0 { "approve" } else { "deny" };
            tasks.push(tokio::spawn(async move {
                let res = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap()
                    .post(url)
                    .header("Cookie", cookie)
                    .form(&[
                        ("csrf", csrf.as_str()),
                        ("decision", decision),
                        ("duration", "1h"),
                    ])
                    .send()
                    .await
                    .unwrap();
                res.status().as_u16()
            }));
        } else {
            let who = if i % 3 == 0 { "1001" } else { "1002" };
            let payload = if i % 4 == 1 {
                click(&format!("daypass:approve:{id}:60"), who, &message)
            } else {
                crate::discord::modal_submit(
                    &format!("daypass:deny-reason:{id}"),
                    "no",
                    who,
                    &message,
                )
            };
            let body = payload.to_string();
            let sig = t.sign(&body);
            let url = format!("{}/discord/interactions", app.url);
            tasks.push(tokio::spawn(async move {
                let res = reqwest::Client::new()
                    .post(url)
                    .header("content-type", "application/json")
                    .header("X-Signature-Ed25519", sig.0)
                    .header("X-Signature-Timestamp", sig.1)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                res.status().as_u16()
            }));
        }
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert!(
        statuses.iter().all(|s| [200, 303, 409].contains(s)),
        "no errors surfaced: {statuses:?}"
    );
    let db = app.db().await;
    let decided: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action IN ('request_approved', 'request_denied')",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    let refused: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'decision_refused'")
            .fetch_one(&db)
            .await
            .unwrap();
    let grants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grants")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(decided, 1, "exactly one decision");
    assert_eq!(decided + refused, 50, "one audit event per attempt");
    assert!(grants <= 1);
}

#[tokio::test]
async fn mail_queued_while_smtp_is_down_is_delivered_once_when_it_returns() {
    let switch = SmtpSwitch::start_down(crate::maildev::shared().smtp_port).await;
    let env = [("DAYPASS__EMAIL__PORT".to_string(), switch.port.to_string())];
    let app = TestApp::spawn_env(&env).await;
    let mut ids = Vec::new();
    for who in ["carol", "dave", "erin"] {
        let mut b = app.signed_in(&app.email(who)).await;
        ids.push(make_request(&mut b, "1h").await);
    }
    let db = app.db().await;
    crate::helpers::wait_for_count(&db, "SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND attempts > 0 AND state = 'pending'", 6).await;
    switch.set_up(true);
    app.ctx.clock.advance(Duration::from_secs(30));
    crate::helpers::wake_outbox(&app.ctx);
    for id in &ids {
        for who in ["alice", "bob"] {
            app.mail()
                .wait_for(&app.email(who), &format!("#{id}:"))
                .await;
        }
    }
    // A retry or a restart sends nothing twice.
    app.ctx.clock.advance(Duration::from_secs(600));
    app.drain().await;
    for who in ["alice", "bob"] {
        let mails = app.mail().to(&app.email(who)).await;
        for id in &ids {
            assert_eq!(
                mails
                    .iter()
                    .filter(|m| m.subject.contains(&format!("#{id}:")))
                    .count(),
                1
            );
        }
    }
    let (dir, tag) = app.stop().await;
    let app = TestApp::spawn_full(dir, tag, BASE, "", daypass::clock::Clock::default(), &env).await;
    app.drain().await;
    let mails = app.mail().to(&app.email("alice")).await;
    assert_eq!(mails.len(), 3, "nothing sent again after the restart");
}

#[tokio::test]
async fn a_permanent_smtp_rejection_is_not_retried_and_is_on_the_record() {
    let port = rejecting_smtp().await;
    let env = [("DAYPASS__EMAIL__PORT".to_string(), port.to_string())];
    let app = TestApp::spawn_env(&env).await;
    let mut b = app.signed_in(&app.email("carol")).await;
    make_request(&mut b, "1h").await;
    let db = app.db().await;
    crate::helpers::wait_for_count(
        &db,
        "SELECT COUNT(*) FROM outbox WHERE state = 'failed' AND attempts = 1",
        2,
    )
    .await;
    // An hour on, nothing is due. (No sweep: the notices it would queue go to the same
    // rejecting server, and their attempts would count here.)
    app.ctx.clock.advance(Duration::from_secs(3600));
    app.drain_outbox().await;
    let attempts: i64 = sqlx::query_scalar("SELECT CAST(SUM(attempts) AS BIGINT) FROM outbox")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(attempts, 2, "never tried again");
    let out = app.cli(&["audit"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("notification_failed") && text.contains("550"),
        "{text}"
    );
    let metrics = app.browser().open("/metrics").await.body;
    assert!(
        metrics.contains("daypass_notifications{channel=\"email\",state=\"failed\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn discord_rate_limits_are_waited_out_and_refused_tokens_not_retried() {
    let t = DiscordTest::start().await;
    t.fake.fail_next([(
        429,
        json!({ "message": "You are being rate limited.", "retry_after": 5.0, "global": false }),
    )]);
    let id = t.request(&t.app.email("carol"), None).await;
    let db = t.app.db().await;
    crate::helpers::wait_for_count(
        &db,
        "SELECT attempts FROM outbox WHERE channel = 'discord'",
        1,
    )
    .await;
    let (next, now): (i64, i64) = (
        sqlx::query_scalar("SELECT next_attempt_at FROM outbox WHERE channel = 'discord'")
            .fetch_one(&db)
            .await
            .unwrap(),
        t.app.ctx.clock.now_ms(),
    );
    assert!(
        (4_000..10_000).contains(&(next - now)),
        "retried after Discord's retry_after of 5 s (counted from the failed try), not a blanket minute ({} ms)",
        next - now
    );
    t.app.ctx.clock.advance(Duration::from_secs(6));
    crate::helpers::wake_outbox(&t.app.ctx);
    t.posted(id).await;

    t.fake
        .fail_next([(401, json!({ "message": "401: Unauthorized", "code": 0 }))]);
    let id2 = t.request(&t.app.email("dave"), None).await;
    crate::helpers::wait_for_count(
        &db,
        "SELECT COUNT(*) FROM outbox WHERE channel = 'discord' AND state = 'failed'",
        1,
    )
    .await;
    let state: String = sqlx::query_scalar(
        "SELECT state FROM outbox WHERE channel = 'discord' AND request_id = $1",
    )
    .bind(id2)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(state, "failed", "the 401 is given up, not retried");
}

#[tokio::test]
async fn an_approver_removed_from_the_config_can_no_longer_decide_after_a_restart() {
    let t = DiscordTest::start().await;
    let id = t.request(&t.app.email("carol"), None).await;
    let (_, message) = t.posted(id).await;
    let link = review_path(
        &t.app
            .mail()
            .wait_for(&t.app.email("bob"), &format!("#{id}:"))
            .await,
    );
    let DiscordTest { app, fake, .. } = t;
    let (dir, tag) = app.stop().await;
    // Bob leaves: out of [[approvers]] and the policy.
    let base = BASE
        .replace("[[approvers]]\nemail = \"bob-{tag}@example.com\"\ndiscord_id = \"1002\"\n", "")
        .replace(
            "approvers = [\"alice-{tag}@example.com\", \"bob-{tag}@example.com\"], approvals_needed = 2",
            "approvers = [\"alice-{tag}@example.com\", \"esc-{tag}@example.com\"], approvals_needed = 2",
        )
        .replace(", \"bob-{tag}@example.com\"]", "]");
    assert!(!base.contains("bob-{tag}"), "bob is gone from the config");
    let t = DiscordTest::restart(dir, tag, &base, fake).await;
    let mut bob = t.app.signed_in(&t.app.email("bob")).await;
    let res = bob
        .submit(&link, &link, &[("decision", "approve"), ("duration", "1h")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let (_, res) = t
        .send(&click(
            &format!("daypass:approve:{id}:60"),
            "1002",
            &message,
        ))
        .await;
    assert_eq!(res["data"]["flags"], 64, "{res}");
    assert!(t.grant_of(id).await.is_none());
}
