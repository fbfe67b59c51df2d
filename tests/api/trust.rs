//! The trust edges: each test performs an attack that once worked, and shows it refused.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use daypass::access::decisions::{DecideError, Verdict};
use daypass::clock::Clock;
use daypass::config::Config;
use daypass::domain::{Email, GrantDuration};
use daypass::server::access_cache::AccessCache;
use daypass::store::{Origin, Via};
use reqwest::StatusCode;

use crate::discord::DiscordTest;
use crate::helpers::{review_path, Browser, TestApp, BASE};
use crate::requests::request_for;

/// BASE with `line` added to its `[server]` table.
fn with_server(line: &str) -> String {
    BASE.replace("[server]\n", &format!("[server]\n{line}\n"))
}

/// Posts `form` (with the page's CSRF token) to `path` as a browser behind the proxy, whose
/// address the proxy forwards in `X-Forwarded-For`.
async fn post_from(
    app: &TestApp,
    browser: &mut Browser,
    page: &str,
    path: &str,
    form: &[(&str, &str)],
    client: &str,
) -> reqwest::Response {
    let csrf = browser.open(page).await.csrf();
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(form);
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}{path}", app.url))
        .header("Cookie", browser.cookie_header())
        .header("X-Forwarded-For", client)
        .form(&fields)
        .send()
        .await
        .unwrap()
}

async fn ask_code(app: &TestApp, email: &str, client: &str) -> StatusCode {
    let mut b = app.browser();
    post_from(
        app,
        &mut b,
        "/login",
        "/login",
        &[("email", email), ("next", "/")],
        client,
    )
    .await
    .status()
}

#[tokio::test]
async fn the_client_cannot_pick_which_application_is_checked() {
    let app = TestApp::spawn().await;
    // sre may always open grafana; the console needs a request with two approvals.
    let sre = app.signed_in(&app.email("sre")).await;
    let res = app
        .auth(
            &sre,
            "grafana.test",
            &[("X-Original-URL", "https://console.test/users")],
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::FORBIDDEN,
        "two headers naming two applications: {}",
        res.body
    );
    let res = sre
        .get_with(
            "/auth",
            &[(
                "X-Forwarded-Host".into(),
                "grafana.test, console.test".into(),
            )],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    // Headers that agree are fine.
    let res = app
        .auth(
            &sre,
            "grafana.test",
            &[("X-Original-URL", "https://GRAFANA.test:443/x")],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);

    // Behind the Kubernetes ingress-nginx controller: X-Original-URL names the target, and the
    // client's own X-Forwarded-Host is passed through.
    let ingress = TestApp::spawn_with(&with_server("target_header = \"X-Original-URL\""), "").await;
    let sre = ingress.signed_in(&ingress.email("sre")).await;
    let ask = |headers: &[(&str, &str)]| {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let sre = &sre;
        async move { sre.get_with("/auth", &headers).await.status }
    };
    assert_eq!(
        ask(&[
            ("X-Original-URL", "https://console.test/users"),
            ("X-Forwarded-Host", "grafana.test"),
        ])
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ask(&[("X-Original-URL", "https://console.test/users")]).await,
        StatusCode::UNAUTHORIZED,
        "the console's own policy: no grant"
    );
    assert_eq!(
        ask(&[("X-Original-URL", "https://grafana.test/d/1")]).await,
        StatusCode::OK
    );
    assert_eq!(
        ask(&[("X-Forwarded-Host", "grafana.test")]).await,
        StatusCode::FORBIDDEN,
        "only the configured header names the target"
    );
}

#[tokio::test]
async fn an_approver_cannot_approve_their_own_request_under_a_sub_address() {
    let app = TestApp::spawn().await;
    let alias = format!("alice-{}+x@example.com", app.tag);
    let mut requester = app.signed_in(&alias).await;
    let id = crate::requests::make_request(&mut requester, "1h").await;
    // Bob is asked; alice, who is the requester, is not.
    app.mail()
        .wait_for(&app.email("bob"), &format!("#{id}:"))
        .await;
    assert!(
        app.mail()
            .to(&app.email("alice"))
            .await
            .iter()
            .all(|m| !m.subject.contains(&format!("#{id}:"))),
        "alice got a review link for her own request"
    );
    // Every channel (review link, Discord button, quorum) decides through this one path.
    let alice = Email::parse(&app.email("alice")).unwrap();
    for verdict in [
        Verdict::Approve(GrantDuration::parse("1h").unwrap()),
        Verdict::Deny(Default::default()),
    ] {
        let res =
            crate::helpers::decide(&app.ctx, id, &alice, crate::helpers::by_email(), verdict).await;
        assert!(
            matches!(res, Err(DecideError::NotAllowed(_))),
            "{:?}",
            res.map(|d| d.request.state)
        );
    }
    assert_eq!(app.request_state(id).await, "pending");
    // Bob still can.
    let decided = app.approve(id, "bob", "1h").await;
    assert!(decided.grant.is_some());
}

#[tokio::test]
async fn a_deny_policy_naming_a_person_holds_for_their_sub_addresses() {
    let app = TestApp::spawn_with(
        BASE,
        "[[applications]]\nslug = \"wiki\"\nhost = \"wiki.test\"\n\
         [[applications.policies]]\nname = \"not mallory\"\ndecision = \"deny\"\n\
         include = { emails = [\"mallory-{tag}@example.com\"] }\n\
         [[applications.policies]]\nname = \"staff\"\ndecision = \"allow\"\n\
         include = { email_domains = [\"example.com\"] }\n",
    )
    .await;
    for who in [
        "mallory-{tag}@example.com",
        "Mallory-{tag}+wiki@example.com",
    ] {
        let who = who.replace("{tag}", &app.tag);
        let b = app.signed_in(&who.to_ascii_lowercase()).await;
        assert_eq!(
            app.auth(&b, "wiki.test", &[]).await.status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
    let carol = app.signed_in(&app.email("carol")).await;
    assert_eq!(
        app.auth(&carol, "wiki.test", &[]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn one_client_behind_the_proxy_cannot_lock_everyone_out_of_sign_in() {
    let app = TestApp::spawn().await;
    // Every browser arrives from the proxy (loopback, trusted by default) with its own address
    // in X-Forwarded-For. The attacker asks codes for random addresses until refused.
    let mut refused = false;
    for i in 0..25 {
        let status = ask_code(
            &app,
            &format!("x{i}-{}@attack.example", app.tag),
            "203.0.113.66",
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    assert!(refused, "the attacker's own address is limited");
    // An approver behind the same proxy signs in as usual.
    assert_eq!(
        ask_code(&app, &app.email("alice"), "198.51.100.7").await,
        StatusCode::SEE_OTHER
    );
    // A client's own X-Forwarded-For prefix is not believed: the proxy's appended address is.
    assert_eq!(
        ask_code(&app, &app.email("bob"), "198.51.100.99, 203.0.113.66").await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // The audit log records the browser's address, not the proxy's.
    let mut carol = app.signed_in(&app.email("carol")).await;
    let res = post_from(
        &app,
        &mut carol,
        "/request/grafana",
        "/request/grafana",
        &[("justification", "INC-1"), ("duration", "1h")],
        "198.51.100.23",
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let ip: Option<String> = sqlx::query_scalar(
        "SELECT client_ip FROM audit_events WHERE action = 'request_created' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.db().await)
    .await
    .unwrap();
    assert_eq!(ip.as_deref(), Some("198.51.100.23"));
}

#[tokio::test]
async fn forwarded_addresses_from_an_untrusted_peer_are_ignored() {
    // daypass trusts only 10.0.0.0/8 here, so the test client (loopback) is a stranger whose
    // X-Forwarded-For is its own invention: rotating it does not escape the limit.
    let app = TestApp::spawn_with(&with_server("trusted_proxies = [\"10.0.0.0/8\"]"), "").await;
    let mut refused = false;
    for i in 0..25 {
        let status = ask_code(
            &app,
            &format!("y{i}-{}@attack.example", app.tag),
            &format!("198.51.100.{i}"),
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
    }
    assert!(refused, "a client cannot name its own address");
}

#[tokio::test]
async fn a_justification_cannot_swallow_the_approvers_review_link() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let id = request_for(&mut carol, "grafana", "INC-9 \u{27e6}review: swallow", "1h").await;
    let mail = app
        .mail()
        .wait_for(&app.email("bob"), &format!("#{id}:"))
        .await;
    assert!(
        mail.text.contains("INC-9 [review: swallow"),
        "{}",
        mail.text
    );
    let link = review_path(&mail);
    assert_eq!(link.len(), "/review/".len() + 64, "{}", mail.text);
    let mut bob = app.signed_in(&app.email("bob")).await;
    let page = bob.open(&link).await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "the link opens the review page"
    );
    assert!(page.body.contains("INC-9 [review: swallow"));
}

#[tokio::test]
async fn a_quorum_counts_only_approvers_still_in_the_config() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let id = request_for(&mut carol, "console", "INC-5 migrate", "1h").await;
    let first = app.approve(id, "alice", "1h").await;
    assert_eq!(first.waiting, Some((1, 2)));
    // Alice leaves the console's approvers; esc takes her place. Restart with that config.
    let (dir, tag) = app.stop().await;
    let base = BASE.replace(
        "temporary = { approvers = [\"alice-{tag}@example.com\", \"bob-{tag}@example.com\"], approvals_needed = 2",
        "temporary = { approvers = [\"esc-{tag}@example.com\", \"bob-{tag}@example.com\"], approvals_needed = 2",
    );
    assert_ne!(base, BASE);
    let app = TestApp::spawn_in(dir, tag, &base, "", Clock::default()).await;
    let second = app.approve(id, "bob", "2h").await;
    assert_eq!(
        second.waiting,
        Some((1, 2)),
        "alice's approval no longer counts"
    );
    assert!(second.grant.is_none());
    assert_eq!(app.request_state(id).await, "pending");
    let third = app.approve(id, "esc", "30m").await;
    let grant = third.grant.expect("two current approvers agreed");
    assert_eq!(grant.expires_at - grant.approved_at, 30 * 60_000);
}

#[tokio::test]
async fn ambiguous_configs_are_refused_naming_both_keys() {
    let policy = |name: &str| {
        format!(
            "  [[applications.policies]]\n  name = \"{name}\"\n  decision = \"allow\"\n  include = {{ everyone = true }}\n  \
             temporary = {{ approvers = [\"alice@example.com\"], max_duration = \"1h\" }}\n"
        )
    };
    let approvers = "[[approvers]]\nemail = \"alice@example.com\"\n";
    let app = |slug: &str, host: &str, policies: &str| {
        format!("[[applications]]\nslug = \"{slug}\"\nhost = \"{host}\"\n{policies}")
    };
    let cases = [
        (
            format!(
                "{approvers}{}",
                app("a", "a.example.com", &(policy("Ops") + &policy("Ops")))
            ),
            "applications[0].policies[1].name",
            "applications[0].policies[0]",
        ),
        (
            format!(
                "{approvers}{}{}",
                app("a", "svc.example.com", &policy("p")),
                app("b", "svc.example.com:8443", &policy("p"))
            ),
            "applications[1].host",
            "applications[0].host",
        ),
        (
            format!(
                "{approvers}{}{}",
                app("a", "svc.example.com:8443", &policy("p")),
                app("b", "SVC.example.com", &policy("p"))
            ),
            "applications[1].host",
            "applications[0].host",
        ),
        (
            format!(
                "{approvers}[[approvers]]\nemail = \"Alice+ops@example.com\"\n{}",
                app("a", "a.example.com", &policy("p"))
            ),
            "approvers[1].email",
            "approvers[0].email",
        ),
    ];
    for (text, key, other) in cases {
        let e = Config::from_toml(&text, []).expect_err(&text);
        assert_eq!(e.key, key, "{e}");
        assert!(e.message.contains(other), "{e}");
    }
    // Two ports of one host are two applications.
    let text = format!(
        "{approvers}{}{}",
        app("a", "svc.example.com:8443", &policy("p")),
        app("b", "svc.example.com:9443", &policy("p"))
    );
    Config::from_toml(&text, []).expect("distinct ports are distinct hosts");

    // check-config says the same and fails.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("daypass.toml");
    std::fs::write(
        &path,
        format!(
            "{approvers}{}",
            app("a", "a.example.com", &(policy("Ops") + &policy("Ops")))
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_daypass"))
        .arg("--config")
        .arg(&path)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("applications[0].policies[1].name")
            && stderr.contains("applications[0].policies[0]"),
        "{stderr}"
    );
}

/// The follower and revokes raced for real, many times. The window it guards is microseconds
/// wide, so this is a soak: the exact interleaving (a live copy read before the revoke, applied
/// after it) is replayed deterministically by `access_cache`'s unit test
/// `a_copy_read_before_a_revoke_cannot_bring_the_grant_back`, which fails on the old cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_is_never_undone_by_the_audit_log_follower() {
    let app = TestApp::spawn().await;
    let ctx = app.ctx.clone();
    for round in 0..4 {
        let mut grants = Vec::new();
        for i in 0..40 {
            let who = app.email(&format!("racer{round}x{i}"));
            let id = DiscordTest::request_as(&app, &who).await;
            grants.push((who, app.approve(id, "bob", "1h").await.grant.unwrap().id));
        }
        // A follower starting from the beginning of the audit log re-reads every grant, while
        // the web revokes this round's grants from the newest down (revoke, then update the
        // cache), so the two meet: somewhere the follower reads a grant just before its revoke
        // commits and writes it back just after. Meanwhile a checker asks for every grant
        // already revoked: none may pass again, not even for a moment.
        let cache = Arc::new(AccessCache::default());
        let revoked = Arc::new(Mutex::new(Vec::<(String, i64)>::new()));
        let done = Arc::new(AtomicBool::new(false));
        let follower = {
            let (ctx, cache) = (ctx.clone(), cache.clone());
            tokio::spawn(async move { cache.refresh_from_audit(&ctx.store, 0).await })
        };
        let checker = {
            let (ctx, cache, revoked, done) =
                (ctx.clone(), cache.clone(), revoked.clone(), done.clone());
            tokio::spawn(async move {
                let mut checks = 0u64;
                while !done.load(Ordering::SeqCst) {
                    let list = revoked.lock().unwrap().clone();
                    for (who, id) in &list {
                        if cache.grant(who, "grafana", ctx.clock.now_ms()).is_some() {
                            return Err(format!("grant {id} passes again after its revoke"));
                        }
                    }
                    checks += 1;
                    tokio::task::yield_now().await;
                }
                Ok(checks)
            })
        };
        for (who, id) in grants.iter().rev() {
            let g = daypass::access::grants::revoke(
                &ctx.store,
                &ctx.config,
                *id,
                who,
                Origin::new(Via::Web),
                None,
                ctx.clock.now_ms(),
            )
            .await
            .unwrap();
            // The follower's cache gets what the server's step gives its own.
            cache.put_grant(g.value());
            ctx.apply(g);
            revoked.lock().unwrap().push((who.clone(), *id));
        }
        follower.await.unwrap().unwrap();
        done.store(true, Ordering::SeqCst);
        let checks = checker.await.unwrap();
        assert!(checks.is_ok(), "round {round}: {checks:?}");
        // And at the end, through /auth on the server's own cache.
        let (who, _) = &grants[0];
        let holder = app.signed_in(who).await;
        assert_eq!(
            app.auth(&holder, "grafana.test", &[]).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

/// Another replica's sign-out racing this one's database look-up: the look-up read the session
/// just before it was deleted, and the follower applied the sign-out before the look-up kept
/// its row. The row must not bring the session back.
#[tokio::test]
async fn a_session_read_before_a_sign_out_elsewhere_is_not_put_back() {
    let app = TestApp::spawn().await;
    let token = daypass::tokens::new_token();
    let hash = daypass::tokens::hash(&token);
    let now = app.ctx.clock.now_ms();
    // Signed in on another replica: in the database, not in this one's memory.
    let mut tx = app.ctx.store.begin().await.unwrap();
    daypass::store::Store::insert_session(&mut tx, &hash, &app.email("sre"), now, now + 3_600_000)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let cache = &app.ctx.cache;
    let seen = cache.last_audit_id();
    let row = app.ctx.store.session(&hash, now).await.unwrap();
    assert!(row.is_some(), "the look-up found the session");
    // Meanwhile the person signs out elsewhere, and this replica follows.
    daypass::identity::login::logout(&app.ctx.store, &token, Origin::new(Via::Web), now)
        .await
        .unwrap()
        .elsewhere();
    cache.refresh_from_audit(&app.ctx.store, now).await.unwrap();
    // The look-up goes on with what it read.
    assert_eq!(
        cache.keep_looked_up(&app.ctx.config, &hash, row, seen),
        None
    );
    assert_eq!(cache.session(&hash, now), None);
    assert_eq!(
        app.auth_with_session(&token, "grafana.test").await.status,
        StatusCode::UNAUTHORIZED
    );
}
