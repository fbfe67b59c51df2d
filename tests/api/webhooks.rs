//! Events out: signed webhooks through the outbox, to a local receiver.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::helpers::{TestApp, BASE};
use crate::requests::make_request;

const SECRET: &str = "whsec-test";

#[derive(Clone, Default)]
struct Receiver {
    /// Every delivery attempt: (signature header, body).
    seen: Arc<Mutex<Vec<(String, String)>>>,
    /// How many attempts to refuse with 503 first.
    refuse: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start(refuse: usize) -> (Self, String) {
        let r = Receiver::default();
        *r.refuse.lock().unwrap() = refuse;
        let state = r.clone();
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    let sig = headers
                        .get("x-daypass-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    state.seen.lock().unwrap().push((sig, body));
                    let mut refuse = state.refuse.lock().unwrap();
                    if *refuse > 0 {
                        *refuse -= 1;
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, url)
    }

    fn seen(&self) -> Vec<(String, Value)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(s, b)| (s.clone(), serde_json::from_str(b).unwrap()))
            .collect()
    }
}

/// Checks `X-Daypass-Signature` as a receiver would (see the README).
fn verified(signature: &str, body: &str) -> bool {
    let Some((t, v1)) = signature
        .strip_prefix("t=")
        .and_then(|s| s.split_once(",v1="))
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    hex::decode(v1).is_ok_and(|sig| mac.verify_slice(&sig).is_ok())
}

async fn spawn(url: &str, events: &str) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hook-secret"), SECRET).unwrap();
    let hook = format!(
        "[[webhooks]]\nurl = \"{url}\"\nsecret_env = \"DAYPASS_TEST_UNSET\"\nsecret_file = \"{{dir}}/hook-secret\"\n{events}"
    );
    TestApp::spawn_in(
        dir,
        crate::helpers::new_tag(),
        BASE,
        &hook,
        Default::default(),
    )
    .await
}

#[tokio::test]
async fn every_state_change_is_posted_signed_and_a_receiver_that_is_down_gets_it_once_later() {
    let (receiver, url) = Receiver::start(2).await;
    let app = spawn(&url, "").await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let id = make_request(&mut carol, "1h").await;
    let db = app.db().await;
    // Refused twice (503): retried with backoff, the clock moved on instead of waiting.
    for attempts in [1, 2] {
        crate::helpers::wait_for_count(
            &db,
            "SELECT MAX(attempts) FROM outbox WHERE channel = 'webhook'",
            attempts,
        )
        .await;
        app.ctx.clock.advance(Duration::from_secs(60));
        crate::helpers::wake_outbox(&app.ctx);
    }
    crate::helpers::wait_for_count(
        &db,
        "SELECT COUNT(*) FROM outbox WHERE channel = 'webhook' AND state = 'sent'",
        1,
    )
    .await;
    let seen = receiver.seen();
    assert_eq!(seen.len(), 3, "two refusals, then one delivery");
    let raw = receiver.seen.lock().unwrap().clone();
    for (sig, body) in &raw {
        assert!(verified(sig, body), "{sig} {body}");
    }
    let ids: Vec<&Value> = seen.iter().map(|(_, b)| &b["id"]).collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one event id on every try"
    );
    let event = &seen[2].1;
    assert_eq!(event["type"], "request.created");
    assert_eq!(event["request_id"], id);
    assert_eq!(event["application"], "grafana");
    assert_eq!(event["subject"], app.email("carol"));
    assert_eq!(event["justification"], "INC-7 investigate");
    // A tampered body does not verify.
    assert!(!verified(&raw[2].0, &raw[2].1.replace("INC-7", "INC-8")));

    app.approve(id, "bob", "30m").await;
    crate::helpers::eventually(
        Duration::from_secs(10),
        "request.approved delivered",
        || {
            let seen = receiver.seen();
            async move { seen.iter().any(|(_, b)| b["type"] == "request.approved") }
        },
    )
    .await;
    let approved = receiver
        .seen()
        .into_iter()
        .find(|(_, b)| b["type"] == "request.approved")
        .unwrap()
        .1;
    assert_eq!(approved["actor"], app.email("bob"));
    assert_eq!(approved["duration_ms"], 30 * 60_000);
    assert!(approved["grant_id"].is_i64());
}

#[tokio::test]
async fn a_webhook_gets_only_the_events_it_asked_for() {
    let (receiver, url) = Receiver::start(0).await;
    let app = spawn(&url, "events = [\"request.denied\"]\n").await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let first = make_request(&mut carol, "1h").await;
    let mut dave = app.signed_in(&app.email("dave")).await;
    let second = make_request(&mut dave, "1h").await;
    app.approve(first, "bob", "1h").await;
    let mut bob = app.signed_in(&app.email("bob")).await;
    let review = crate::helpers::review_path(
        &app.mail()
            .wait_for(&app.email("bob"), &format!("#{second}:"))
            .await,
    );
    let res = bob
        .submit(&review, &review, &[("decision", "deny"), ("reason", "no")])
        .await;
    assert_eq!(res.status, reqwest::StatusCode::SEE_OTHER, "{}", res.body);
    crate::helpers::eventually(Duration::from_secs(10), "request.denied delivered", || {
        let n = receiver.seen().len();
        async move { n >= 1 }
    })
    .await;
    let types: Vec<Value> = receiver
        .seen()
        .into_iter()
        .map(|(_, b)| b["type"].clone())
        .collect();
    assert_eq!(types, ["request.denied"]);
}
