//! Two `daypass serve` processes on one PostgreSQL database behind real nginx, under load, and
//! one of them killed with SIGKILL: nothing acknowledged is lost, no mail goes out twice, the
//! survivor goes on expiring grants, and few (if any) `/auth` answers through nginx fail.
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::daypass_process::DaypassProcess;
use crate::helpers::{eventually, new_tag, postgres_database, Browser, BASE};
use crate::procs::{free_port, Proc};

/// Signs `email` in by writing a session straight into the shared database; the cookie value.
async fn session_for(store: &daypass::store::Store, email: &str) -> String {
    let token = daypass::tokens::new_token();
    let now = daypass::clock::Clock::default().now_ms();
    let mut tx = store.begin().await.unwrap();
    daypass::store::Store::insert_session(
        &mut tx,
        &daypass::tokens::hash(&token),
        email,
        now,
        now + 3_600_000,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    token
}

fn browser(url: &str, session: &str) -> Browser {
    let mut b = Browser::new(url);
    b.cookies.insert("daypass_session".into(), session.into());
    b
}

/// `GET /auth` for grafana straight to one replica.
async fn auth(url: &str, session: &str) -> StatusCode {
    browser(url, session)
        .get_with(
            "/auth",
            &[("X-Forwarded-Host".into(), "grafana.test".into())],
        )
        .await
        .status
}

/// Files a request for grafana as the browser's person; its id.
async fn request(b: &mut Browser) -> Option<i64> {
    let res = b
        .submit(
            "/request/grafana",
            "/request/grafana",
            &[("justification", "INC-9 on call"), ("duration", "1h")],
        )
        .await;
    (res.status == StatusCode::SEE_OTHER).then(|| res.request_id())
}

/// The approver approves `id` from their inbox; true when daypass said it was done.
async fn approve(bob: &mut Browser, id: i64) -> bool {
    let res = bob
        .submit(
            "/approvals",
            &format!("/approvals/{id}"),
            &[("decision", "approve"), ("duration", "1h")],
        )
        .await;
    res.status == StatusCode::SEE_OTHER
}

/// The shipped nginx config with the shipped replicas upstream in place of its one daypass.
async fn start_nginx(dir: &Path, replicas: [u16; 2], app: u16) -> (Proc, u16) {
    let port = free_port();
    let root = env!("CARGO_MANIFEST_DIR");
    let shipped = std::fs::read_to_string(format!("{root}/config/proxies/nginx.conf")).unwrap();
    let upstream = std::fs::read_to_string(format!("{root}/config/proxies/nginx-replicas.conf"))
        .unwrap()
        .replace("10.0.0.11:8080", &format!("127.0.0.1:{}", replicas[0]))
        .replace("10.0.0.12:8080", &format!("127.0.0.1:{}", replicas[1]));
    let start = shipped.find("upstream daypass {").unwrap();
    let end = start + shipped[start..].find("}\n").unwrap() + 2;
    let servers = format!("{}{upstream}{}", &shipped[..start], &shipped[end..])
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
        .replace("127.0.0.1:3000", &format!("127.0.0.1:{app}"))
        .replace("grafana.example.com", "grafana.test");
    (crate::procs::start_nginx(dir, &servers, port).await, port)
}

/// The application behind nginx: 200 "app" to whatever daypass lets through.
async fn application() -> u16 {
    let app = axum::Router::new().fallback(axum::routing::get(|| async { "app" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// Two replicas of one config on the database `db`, sharing `dir`'s secret.
async fn two_replicas(dir: &Path, db: &str, tag: &str, extra: &str) -> [DaypassProcess; 2] {
    let config = dir.join("daypass.toml");
    let base = BASE.replace("sweep_every = \"1h\"", "sweep_every = \"1s\"");
    std::fs::write(&config, format!("{base}\n{extra}").replace("{tag}", tag)).unwrap();
    std::fs::write(
        dir.join("shared-secret"),
        format!("{tag}-the-secret-every-replica-holds"),
    )
    .unwrap();
    let env = vec![
        ("DAYPASS__DATABASE__URL".to_string(), db.to_string()),
        (
            "DAYPASS__SERVER__SECRET_FILE".to_string(),
            dir.join("shared-secret").display().to_string(),
        ),
        (
            "DAYPASS__EMAIL__PORT".to_string(),
            crate::maildev::shared().smtp_port.to_string(),
        ),
    ];
    let (a, b) = tokio::join!(
        DaypassProcess::start(&config, &env),
        DaypassProcess::start(&config, &env)
    );
    [a, b]
}

#[tokio::test]
async fn two_replicas_behind_nginx_survive_a_sigkill_under_load() {
    let tag = new_tag();
    let email = |who: &str| format!("{who}-{tag}@example.com");
    let db = postgres_database(&format!("ha-{tag}")).await;
    let dir = tempfile::tempdir().unwrap();
    let [mut a, b] = two_replicas(dir.path(), &db, &tag, "").await;
    let (a_url, b_url) = (a.url(), b.url());
    let app = application().await;
    let (_nginx, nginx_port) = start_nginx(dir.path(), [a.port, b.port], app).await;
    let store = daypass::store::Store::open(&db).await.unwrap();

    // An approval on A opens /auth on B at once.
    let carol = session_for(&store, &email("carol")).await;
    let bob = session_for(&store, &email("bob")).await;
    let mut bob_on_a = browser(&a_url, &bob);
    let id = request(&mut browser(&a_url, &carol)).await.expect("filed");
    assert_eq!(auth(&b_url, &carol).await, StatusCode::UNAUTHORIZED);
    assert!(approve(&mut bob_on_a, id).await);
    assert_eq!(auth(&b_url, &carol).await, StatusCode::OK);

    // A revoke on B is refused on A within a second.
    let dave = session_for(&store, &email("dave")).await;
    let id = request(&mut browser(&b_url, &dave)).await.expect("filed");
    assert!(approve(&mut browser(&b_url, &bob), id).await);
    assert_eq!(auth(&a_url, &dave).await, StatusCode::OK);
    let grant: i64 = sqlx::query_scalar("SELECT id FROM grants WHERE request_id = $1")
        .bind(id)
        .fetch_one(store.reader())
        .await
        .unwrap();
    let res = browser(&b_url, &dave)
        .submit("/", &format!("/grants/{grant}/revoke"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let revoked = Instant::now();
    eventually(
        Duration::from_secs(1),
        "A refuses the grant revoked on B",
        || {
            let (a_url, dave) = (&a_url, &dave);
            async move { auth(a_url, dave).await == StatusCode::UNAUTHORIZED }
        },
    )
    .await;
    eprintln!("revoke on B refused on A after {:?}", revoked.elapsed());

    // Erin's grant will expire after A is gone.
    let erin = session_for(&store, &email("erin")).await;
    let id = request(&mut browser(&a_url, &erin)).await.expect("filed");
    assert!(approve(&mut bob_on_a, id).await);
    let erin_grant: i64 = sqlx::query_scalar("SELECT id FROM grants WHERE request_id = $1")
        .bind(id)
        .fetch_one(store.reader())
        .await
        .unwrap();

    // Load through nginx: carol opens grafana over and over.
    let stop = Arc::new(AtomicBool::new(false));
    let (answers, failures) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (stop, answers, failures) = (stop.clone(), answers.clone(), failures.clone());
        let carol = carol.clone();
        load.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            while !stop.load(Ordering::Relaxed) {
                let res = client
                    .get(format!("http://127.0.0.1:{nginx_port}/dashboards"))
                    .header("Host", "grafana.test")
                    .header("Cookie", format!("daypass_session={carol}"))
                    .send()
                    .await;
                answers.fetch_add(1, Ordering::Relaxed);
                if !res.is_ok_and(|r| r.status() == StatusCode::OK) {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    // Meanwhile people file requests and bob approves them, on A until it dies, then on B.
    let acked_requests = Arc::new(Mutex::new(Vec::new()));
    let acked_approvals = Arc::new(Mutex::new(Vec::new()));
    let mut people = Vec::new();
    for i in 0..40 {
        people.push(session_for(&store, &email(&format!("w{i}"))).await);
    }
    let writer = {
        let (stop, acked_requests, acked_approvals) = (
            stop.clone(),
            acked_requests.clone(),
            acked_approvals.clone(),
        );
        let (a_url, b_url, bob) = (a_url.clone(), b_url.clone(), bob.clone());
        tokio::spawn(async move {
            for (i, person) in people.iter().enumerate() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let url = if i % 2 == 0 { &a_url } else { &b_url };
                // A connection cut by the kill panics the test browser: run each step on its
                // own task, and count it only when daypass answered that it was done.
                let (u, p) = (url.clone(), person.clone());
                let Ok(Some(id)) =
                    tokio::spawn(async move { request(&mut browser(&u, &p)).await }).await
                else {
                    continue;
                };
                acked_requests.lock().unwrap().push(id);
                let (u, b) = (url.clone(), bob.clone());
                if let Ok(true) =
                    tokio::spawn(async move { approve(&mut browser(&u, &b), id).await }).await
                {
                    acked_approvals.lock().unwrap().push(id);
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.kill();
    let killed_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    writer.await.unwrap();
    let (answers, failures) = (
        answers.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed),
    );
    let share = failures as f64 / answers.max(1) as f64;
    eprintln!(
        "through nginx: {answers} /auth answers, {failures} failed ({:.3}%), replica A killed {:?} before the end",
        share * 100.0,
        killed_at.elapsed()
    );
    assert!(answers > 100, "the load ran");
    assert!(share < 0.02, "{failures} of {answers} failed");

    // Nothing acknowledged is lost.
    let requests = acked_requests.lock().unwrap().clone();
    let approvals = acked_approvals.lock().unwrap().clone();
    assert!(!requests.is_empty());
    for id in &requests {
        let events: Vec<String> =
            sqlx::query_scalar("SELECT action FROM audit_events WHERE request_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(store.reader())
                .await
                .unwrap();
        assert!(
            events.contains(&"request_created".to_string()),
            "{id}: {events:?}"
        );
        if approvals.contains(id) {
            assert!(
                events.contains(&"request_approved".to_string()),
                "{id}: {events:?}"
            );
            let state: String =
                sqlx::query_scalar("SELECT state FROM access_requests WHERE id = $1")
                    .bind(id)
                    .fetch_one(store.reader())
                    .await
                    .unwrap();
            assert_eq!(state, "approved");
        }
    }

    // B alone expires erin's grant when its time comes (moved close here, as if approved long ago).
    let now = daypass::clock::Clock::default().now_ms();
    sqlx::query("UPDATE grants SET expires_at = $1 WHERE id = $2")
        .bind(now + 1_000)
        .bind(erin_grant)
        .execute(store.reader())
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "B expires erin's grant", || {
        let store = &store;
        async move {
            sqlx::query_scalar::<_, String>("SELECT state FROM grants WHERE id = $1")
                .bind(erin_grant)
                .fetch_one(store.reader())
                .await
                .unwrap()
                == "expired"
        }
    })
    .await;
    crate::maildev::shared()
        .wait_for(&email("erin"), "Access ended")
        .await;
    eventually(Duration::from_secs(2), "B refuses erin", || {
        let (b_url, erin) = (&b_url, &erin);
        async move { auth(b_url, erin).await == StatusCode::UNAUTHORIZED }
    })
    .await;

    // Every mail went out once: B sends what A left queued, nothing twice.
    eventually(Duration::from_secs(90), "the outbox is empty", || {
        let store = &store;
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND state = 'pending'",
            )
            .fetch_one(store.reader())
            .await
            .unwrap()
                == 0
        }
    })
    .await;
    let mails: Vec<_> = crate::maildev::shared()
        .all()
        .await
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t.address.contains(&tag)))
        .collect();
    let mut copies: HashMap<String, usize> = HashMap::new();
    for m in &mails {
        let id = m.headers["message-id"].as_str().unwrap_or("-").to_string();
        *copies.entry(id).or_default() += 1;
    }
    let again: Vec<_> = copies.iter().filter(|(_, n)| **n > 1).collect();
    eprintln!(
        "{} mails, {} messages; delivered again: {again:?}",
        mails.len(),
        copies.len()
    );
    // The one message A's mail worker may have had on the wire when it died (SMTP had taken
    // it, A had not yet written that down) goes out again from B, with its Message-ID: nothing
    // else is ever sent twice.
    assert!(
        again.len() <= 1 && again.iter().all(|(_, n)| **n == 2),
        "mails went out twice: {again:?}"
    );
    let sent: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND state = 'sent'",
    )
    .fetch_one(store.reader())
    .await
    .unwrap();
    assert_eq!(copies.len() as i64, sent);
    store.close().await;
}

#[tokio::test]
async fn one_replica_holds_the_discord_gateway_and_another_takes_over_when_it_dies() {
    let tag = new_tag();
    let db = postgres_database(&format!("gateway-{tag}")).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("discord-token"), "t").unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let extra = format!(
        "[discord]\nenabled = true\nmode = \"gateway\"\npublic_key = \"{}\"\nchannel_id = \"555000000000000001\"\n\
         api_base = \"http://127.0.0.1:9\"\ntoken_env = \"DAYPASS_TEST_UNSET\"\ntoken_file = \"{}\"\n",
        hex::encode(key.verifying_key().to_bytes()),
        dir.path().join("discord-token").display()
    );
    let mut replicas = two_replicas(dir.path(), &db, &tag, &extra).await;
    async fn gateway(url: &str) -> String {
        let res = Browser::new(url).get_with("/healthz", &[]).await;
        let body: serde_json::Value = serde_json::from_str(&res.body).unwrap();
        body["discord_gateway"].as_str().unwrap_or("-").to_string()
    }
    let urls = [replicas[0].url(), replicas[1].url()];
    let holder = Arc::new(Mutex::new(None));
    eventually(
        Duration::from_secs(10),
        "one replica holds the gateway",
        || {
            let (urls, holder) = (&urls, holder.clone());
            async move {
                let states = [gateway(&urls[0]).await, gateway(&urls[1]).await];
                assert!(
                    !(states[0] == "held" && states[1] == "held"),
                    "both replicas hold the gateway"
                );
                let held = states.iter().position(|s| s == "held");
                *holder.lock().unwrap() = held;
                held.is_some() && states.iter().all(|s| s == "held" || s == "standby")
            }
        },
    )
    .await;
    let holder = holder.lock().unwrap().expect("a holder");
    let other = 1 - holder;
    // It keeps it: a few seconds later the other is still on standby.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(gateway(&urls[other]).await, "standby");
    replicas[holder].kill();
    let killed = Instant::now();
    eventually(
        Duration::from_secs(10),
        "the other replica takes the gateway over",
        || {
            let url = &urls[other];
            async move { gateway(url).await == "held" }
        },
    )
    .await;
    eprintln!(
        "the gateway moved to the other replica {:?} after the kill",
        killed.elapsed()
    );
}
