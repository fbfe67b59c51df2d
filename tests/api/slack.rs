//! Approving and denying from Slack, with interactions signed exactly as Slack signs them,
//! against a local stand-in for Slack's Web API.
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::fake_slack::{action_ids, shows, status_of, FakeSlack, APP_TOKEN, TOKEN};
use crate::helpers::{TestApp, BASE};
use crate::requests::{make_request, request_for};

const CHANNEL: &str = "C0DAYPASS";
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const ALICE: &str = "UALICE";
const BOB: &str = "UBOB";

struct SlackTest {
    app: TestApp,
    fake: FakeSlack,
    client: reqwest::Client,
    clicks: std::sync::atomic::AtomicU64,
}

impl SlackTest {
    async fn start() -> Self {
        Self::start_with(FakeSlack::start().await, "").await
    }

    /// With more `[slack]` keys (`extra`) and a stand-in Slack that is already running.
    async fn start_with(fake: FakeSlack, extra: &str) -> Self {
        Self::start_full(fake, BASE, extra, "").await
    }

    /// As `start_with`, from `base` and with `after` appended after the `[slack]` table.
    async fn start_full(fake: FakeSlack, base: &str, extra: &str, after: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("slack-token"), TOKEN).unwrap();
        std::fs::write(dir.path().join("slack-secret"), SECRET).unwrap();
        std::fs::write(dir.path().join("slack-app-token"), APP_TOKEN).unwrap();
        let base = base
            .replace(
                "discord_id = \"1001\"",
                &format!("discord_id = \"1001\"\nslack_id = \"{ALICE}\""),
            )
            .replace(
                "discord_id = \"1002\"",
                &format!("discord_id = \"1002\"\nslack_id = \"{BOB}\""),
            );
        let slack = format!(
            "[slack]\nenabled = true\nchannel_id = \"{CHANNEL}\"\napi_base = \"{}/api\"\n\
             bot_token_env = \"DAYPASS_TEST_UNSET\"\nbot_token_file = \"{{dir}}/slack-token\"\n\
             signing_secret_env = \"DAYPASS_TEST_UNSET\"\nsigning_secret_file = \"{{dir}}/slack-secret\"\n{extra}\n{after}",
            fake.url
        );
        let app = TestApp::spawn_full(
            dir,
            crate::helpers::new_tag(),
            &base,
            &slack,
            daypass::clock::Clock::default(),
            &[],
        )
        .await;
        Self {
            app,
            fake,
            client: reqwest::Client::new(),
            clicks: Default::default(),
        }
    }

    /// Files a grafana request as `who` through the web; returns its id.
    async fn request(&self, who: &str) -> i64 {
        let mut b = self.app.signed_in(&self.app.email(who)).await;
        make_request(&mut b, "1h").await
    }

    /// Waits for the request's message to be posted; returns its blocks and `ts`.
    async fn posted(&self, id: i64) -> (Value, String) {
        let call = self
            .fake
            .wait_for("the request's message", |c| {
                c.method == "chat.postMessage" && shows(&c.body, id)
            })
            .await;
        assert_eq!(call.body["channel"], CHANNEL);
        let db = self.app.db().await;
        let ts = self.slack_ts(&db, id).await;
        (call.body, ts)
    }

    /// The message's `ts` once stored (just after the post returns), waiting at most 10 s.
    async fn slack_ts(&self, db: &sqlx::AnyPool, id: i64) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let ts: Option<String> = sqlx::query_scalar(
                "SELECT message_id FROM chat_messages WHERE channel = 'slack' AND request_id = $1",
            )
            .bind(id)
            .fetch_optional(db)
            .await
            .unwrap();
            if let Some(ts) = ts {
                return ts;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the message's ts was never stored"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the message to be updated so that its status satisfies `pred`.
    async fn updated(&self, ts: &str, what: &str, pred: impl Fn(&str) -> bool) -> Value {
        self.fake
            .wait_for(what, |c| {
                c.method == "chat.update" && c.body["ts"] == ts && pred(&status_of(&c.body))
            })
            .await
            .body
    }

    /// Sends `payload` as Slack would: form-encoded, signed with the signing secret at `at`.
    async fn send_at(&self, payload: &Value, at: i64, secret: &str) -> reqwest::Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        let ts = at.to_string();
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("v0:{ts}:{body}").as_bytes());
        let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
        self.client
            .post(format!("{}/slack/interactions", self.app.url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Slack-Request-Timestamp", ts)
            .header("X-Slack-Signature", signature)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn send(&self, payload: &Value) -> reqwest::Response {
        let now = self.app.ctx.clock.now_ms() / 1000;
        self.send_at(payload, now, SECRET).await
    }

    /// A click on one of the message's controls by Slack user `user`.
    fn click(&self, user: &str, action: Value) -> Value {
        let n = self
            .clicks
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        json!({
            "type": "block_actions",
            "user": { "id": user, "username": user.to_lowercase(), "team_id": "T0001" },
            "api_app_id": "A0001",
            "trigger_id": format!("trigger-{n}-{}", self.app.tag),
            "response_url": format!("{}/respond/{n}", self.fake.url),
            "container": { "type": "message", "channel_id": CHANNEL },
            "channel": { "id": CHANNEL },
            "actions": [action],
        })
    }

    fn approve(&self, user: &str, id: i64, minutes: i64) -> Value {
        self.click(
            user,
            json!({ "type": "button", "action_id": "approve", "value": format!("{id}:{minutes}") }),
        )
    }

    /// The notes only the clicker sees, in order.
    fn ephemerals(&self) -> Vec<String> {
        self.fake
            .calls()
            .into_iter()
            .filter(|c| c.method == "response_url" && c.body["response_type"] == "ephemeral")
            .map(|c| c.body["text"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

#[tokio::test]
async fn a_slack_approval_for_the_chosen_duration_opens_access_and_updates_the_message() {
    let t = SlackTest::start().await;
    let id = t.request("carol").await;
    let (message, ts) = t.posted(id).await;
    assert_eq!(action_ids(&message), ["duration", "approve", "deny"]);
    let options: Vec<&str> = message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .and_then(|b| b["elements"][0]["options"].as_array())
        .unwrap()
        .iter()
        .map(|o| o["text"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        options,
        ["5m", "15m", "30m", "1h", "2h", "4h", "8h"],
        "only durations up to the policy's 8h"
    );
    assert!(status_of(&message).starts_with("Waiting for an approver"));

    // Picking 30m in the menu changes the Approve button (on the clicked message).
    let pick = t.click(
        BOB,
        json!({ "type": "static_select", "action_id": "duration",
                "selected_option": { "value": format!("{id}:30") } }),
    );
    assert_eq!(t.send(&pick).await.status(), StatusCode::OK);
    let shown = t
        .fake
        .wait_for("the picked duration", |c| {
            c.method == "response_url" && c.body["replace_original"] == true
        })
        .await;
    assert!(shown.body.to_string().contains("Approve for 30m"));

    assert_eq!(
        t.send(&t.approve(BOB, id, 30)).await.status(),
        StatusCode::OK
    );
    assert_eq!(t.app.request_state(id).await, "approved");
    let carol = t.app.signed_in(&t.app.email("carol")).await;
    let auth = t.app.auth(&carol, "grafana.test", &[]).await;
    assert_eq!(auth.status, StatusCode::OK);
    let updated = t
        .updated(&ts, "approved", |s| s.starts_with("Approved by bob-"))
        .await;
    assert!(
        status_of(&updated).contains("for 30m"),
        "{}",
        status_of(&updated)
    );
    assert_eq!(
        action_ids(&updated),
        ["revoke"],
        "Approve and Deny are gone"
    );
    let audit: String = sqlx::query_scalar(
        "SELECT channel FROM audit_events WHERE action = 'request_approved' AND request_id = $1",
    )
    .bind(id)
    .fetch_one(&t.app.db().await)
    .await
    .unwrap();
    assert_eq!(audit, "slack");

    // Revoke from the message: the next /auth is refused.
    let grant: i64 = sqlx::query_scalar("SELECT id FROM grants WHERE request_id = $1")
        .bind(id)
        .fetch_one(&t.app.db().await)
        .await
        .unwrap();
    let revoke = t.click(
        BOB,
        json!({ "type": "button", "action_id": "revoke", "value": grant.to_string() }),
    );
    assert_eq!(t.send(&revoke).await.status(), StatusCode::OK);
    assert_eq!(
        t.app.auth(&carol, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let revoked = t
        .updated(&ts, "revoked", |s| s.starts_with("Revoked by bob-"))
        .await;
    assert!(action_ids(&revoked).is_empty());
}

#[tokio::test]
async fn deny_asks_for_a_reason_in_a_modal_and_the_requester_reads_it() {
    let t = SlackTest::start().await;
    let id = t.request("carol").await;
    let (_, ts) = t.posted(id).await;
    let deny = t.click(
        ALICE,
        json!({ "type": "button", "action_id": "deny", "value": id.to_string() }),
    );
    assert_eq!(t.send(&deny).await.status(), StatusCode::OK);
    let modal = t
        .fake
        .wait_for("the deny modal", |c| c.method == "views.open")
        .await;
    assert_eq!(
        modal.body["view"]["callback_id"],
        format!("daypass:deny:{id}")
    );
    assert_eq!(
        t.app.request_state(id).await,
        "pending",
        "asking decides nothing"
    );
    let submit = json!({
        "type": "view_submission",
        "user": { "id": ALICE },
        "trigger_id": format!("submit-{}", t.app.tag),
        "view": { "callback_id": format!("daypass:deny:{id}"),
                  "state": { "values": { "reason": { "reason": { "type": "plain_text_input", "value": "Use the read replica" } } } } },
    });
    let res = t.send(&submit).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.text().await.unwrap(),
        "",
        "an empty answer closes the modal"
    );
    assert_eq!(t.app.request_state(id).await, "denied");
    t.updated(&ts, "denied", |s| {
        s.starts_with("Denied by alice-") && s.ends_with(": Use the read replica")
    })
    .await;
    t.app
        .mail()
        .wait_for_text(&t.app.email("carol"), "Denied", "Use the read replica")
        .await;
}

#[tokio::test]
async fn strangers_and_the_requester_are_told_why_and_nothing_changes() {
    let t = SlackTest::start().await;
    // Alice asks for herself: she is an approver, but not of her own request.
    let id = t.request("alice").await;
    t.posted(id).await;
    assert_eq!(
        t.send(&t.approve("USTRANGER", id, 60)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        t.send(&t.approve(ALICE, id, 60)).await.status(),
        StatusCode::OK
    );
    crate::helpers::eventually(Duration::from_secs(10), "two notes to the clickers", || {
        let n = t.ephemerals().len();
        async move { n >= 2 }
    })
    .await;
    let notes = t.ephemerals();
    assert_eq!(notes.len(), 2, "{notes:?}");
    // Sent beside the answers, so in either order.
    assert!(
        notes.iter().any(|n| n.contains("not a daypass approver")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("your own request")),
        "{notes:?}"
    );
    assert_eq!(t.app.request_state(id).await, "pending");
}

#[tokio::test]
async fn bad_stale_and_replayed_interactions_are_refused() {
    let t = SlackTest::start().await;
    let id = t.request("carol").await;
    t.posted(id).await;
    let approve = t.approve(BOB, id, 60);
    let now = t.app.ctx.clock.now_ms() / 1000;
    let wrong = t.send_at(&approve, now, "not the secret").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let stale = t.send_at(&approve, now - 6 * 60, SECRET).await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    let unsigned = t
        .client
        .post(format!("{}/slack/interactions", t.app.url))
        .body("payload=%7B%7D")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(t.app.request_state(id).await, "pending");

    // The same signed click twice, and a replay of the first approval after a deny: one decision.
    assert_eq!(t.send(&approve).await.status(), StatusCode::OK);
    assert_eq!(t.send(&approve).await.status(), StatusCode::OK);
    let grants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grants WHERE request_id = $1")
        .bind(id)
        .fetch_one(&t.app.db().await)
        .await
        .unwrap();
    assert_eq!(grants, 1);
    // Notes go out beside the answer: wait for the message's update, which comes later.
    let (_, ts) = t.posted(id).await;
    t.updated(&ts, "approved", |s| s.starts_with("Approved by bob-"))
        .await;
    assert!(
        t.ephemerals().is_empty(),
        "a replay shows the state and says nothing"
    );
}

#[tokio::test]
async fn a_slack_outage_delays_the_message_which_is_posted_once_honouring_retry_after() {
    let t = SlackTest::start().await;
    t.fake.fail_next([(500, "internal_error", None)]);
    let id = t.request("carol").await;
    let db = t.app.db().await;
    crate::helpers::wait_for_count(
        &db,
        "SELECT attempts FROM outbox WHERE channel = 'slack'",
        1,
    )
    .await;
    t.fake.fail_next([(429, "ratelimited", Some(30))]);
    t.app.ctx.clock.advance(Duration::from_secs(3));
    crate::helpers::wake_outbox(&t.app.ctx);
    crate::helpers::wait_for_count(
        &db,
        "SELECT attempts FROM outbox WHERE channel = 'slack'",
        2,
    )
    .await;
    let (next, now): (i64, i64) = (
        sqlx::query_scalar("SELECT next_attempt_at FROM outbox WHERE channel = 'slack'")
            .fetch_one(&db)
            .await
            .unwrap(),
        t.app.ctx.clock.now_ms(),
    );
    assert!(
        next - now >= 29_000,
        "retried before Slack's Retry-After ({} ms)",
        next - now
    );
    t.app.ctx.clock.advance(Duration::from_secs(31));
    crate::helpers::wake_outbox(&t.app.ctx);
    t.posted(id).await;
    let posts = t
        .fake
        .calls()
        .iter()
        .filter(|c| c.method == "chat.postMessage" && c.ok)
        .count();
    assert_eq!(posts, 1, "posted once");

    // A refused token is not retried, and is on the record.
    t.fake.fail_next([(200, "invalid_auth", None)]);
    let id2 = t.request("dave").await;
    crate::helpers::wait_for_count(
        &db,
        "SELECT COUNT(*) FROM outbox WHERE channel = 'slack' AND state = 'failed'",
        1,
    )
    .await;
    let failed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'notification_failed' AND request_id = $1",
    )
    .bind(id2)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(failed, 1);
}

#[tokio::test]
async fn a_decision_by_email_updates_the_slack_message() {
    let t = SlackTest::start().await;
    let id = t.request("carol").await;
    let (_, ts) = t.posted(id).await;
    t.app.approve(id, "alice", "2h").await;
    let updated = t
        .updated(&ts, "approved by email", |s| {
            s.starts_with("Approved by alice-")
        })
        .await;
    assert!(status_of(&updated).contains("for 2h"));
    assert_eq!(action_ids(&updated), ["revoke"]);
}

/// A local WebSocket server speaking Socket Mode: says hello on each connection, sends the
/// envelopes it is given, and records what daypass sends back.
struct SocketServer {
    url: String,
    envelopes: tokio::sync::mpsc::UnboundedSender<Value>,
    received: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl SocketServer {
    async fn start() -> Self {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/link/?ticket=t", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
        let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (got, count) = (received.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    continue;
                };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let hello = json!({ "type": "hello", "num_connections": 1,
                    "connection_info": { "app_id": "A0001" } });
                if ws.send(Message::Text(hello.to_string())).await.is_err() {
                    continue;
                }
                let mut rx = rx.lock().await;
                loop {
                    tokio::select! {
                        Some(envelope) = rx.recv() => {
                            let _ = ws.send(Message::Text(envelope.to_string())).await;
                        }
                        frame = ws.next() => match frame {
                            Some(Ok(Message::Text(t))) => {
                                got.lock().unwrap().push(serde_json::from_str(&t).unwrap_or(Value::Null));
                            }
                            Some(Ok(_)) => {}
                            _ => break,
                        }
                    }
                }
            }
        });
        Self {
            url,
            envelopes: tx,
            received,
            connections,
        }
    }

    fn send(&self, envelope: Value) {
        self.envelopes.send(envelope).unwrap();
    }

    /// Waits (at most 10 s) for daypass's acknowledgement of `envelope_id`.
    async fn ack_of(&self, envelope_id: &str) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(ack) = self
                .received
                .lock()
                .unwrap()
                .iter()
                .find(|m| m["envelope_id"] == envelope_id)
            {
                return ack.clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no acknowledgement of {envelope_id}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn wait_for_connections(&self, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.connections.load(std::sync::atomic::Ordering::SeqCst) < n {
            assert!(
                std::time::Instant::now() < deadline,
                "daypass did not open connection {n}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn socket_mode_takes_clicks_over_a_websocket_with_no_public_url() {
    let fake = FakeSlack::start().await;
    let socket = SocketServer::start().await;
    fake.set_socket_url(&socket.url);
    let t = SlackTest::start_with(
        fake,
        "mode = \"socket\"\napp_token_env = \"DAYPASS_TEST_UNSET\"\napp_token_file = \"{dir}/slack-app-token\"\n",
    )
    .await;
    socket.wait_for_connections(1).await;
    let id = t.request("carol").await;
    let (_, ts) = t.posted(id).await;
    // Nothing is taken over HTTP in Socket Mode, even signed.
    assert_eq!(
        t.send(&t.approve(BOB, id, 60)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(t.app.request_state(id).await, "pending");

    socket.send(json!({ "envelope_id": "env-1", "type": "interactive",
        "accepts_response_payload": true, "payload": t.approve(BOB, id, 15) }));
    assert_eq!(
        socket.ack_of("env-1").await,
        json!({ "envelope_id": "env-1" })
    );
    assert_eq!(t.app.request_state(id).await, "approved");
    t.updated(&ts, "approved over the socket", |s| s.contains("for 15m"))
        .await;

    // Slack asks for a fresh connection: daypass opens one and keeps taking clicks.
    socket.send(json!({ "type": "disconnect", "reason": "refresh_requested" }));
    socket.wait_for_connections(2).await;
    let id2 = t.request("dave").await;
    t.posted(id2).await;
    let deny = json!({
        "type": "view_submission", "user": { "id": ALICE }, "trigger_id": "socket-submit",
        "view": { "callback_id": format!("daypass:deny:{id2}"),
                  "state": { "values": { "reason": { "reason": { "value": "not today" } } } } },
    });
    socket.send(json!({ "envelope_id": "env-2", "type": "interactive",
        "accepts_response_payload": true, "payload": deny }));
    assert_eq!(
        socket.ack_of("env-2").await,
        json!({ "envelope_id": "env-2" })
    );
    assert_eq!(t.app.request_state(id2).await, "denied");
}

#[tokio::test]
async fn each_application_shows_its_requests_in_its_own_channel_or_none() {
    let base = BASE.replace(
        "host = \"console.test\"\n",
        "host = \"console.test\"\nnotify = { slack = \"C0CONSOLE\" }\n",
    );
    assert_ne!(base, BASE);
    let wiki =
        "[[applications]]\nslug = \"wiki\"\nhost = \"wiki.test\"\nnotify = { slack = false }\n\
        [[applications.policies]]\nname = \"staff\"\ndecision = \"allow\"\n\
        include = { email_domains = [\"example.com\"] }\n\
        temporary = { approvers = [\"alice-{tag}@example.com\"], max_duration = \"1h\" }\n";
    let t = SlackTest::start_full(FakeSlack::start().await, &base, "", wiki).await;
    let grafana = t.request("carol").await;
    let mut dave = t.app.signed_in(&t.app.email("dave")).await;
    let console = request_for(&mut dave, "console", "INC-3", "1h").await;
    let mut erin = t.app.signed_in(&t.app.email("erin")).await;
    let quiet = request_for(&mut erin, "wiki", "INC-4", "1h").await;
    let (message, _) = t.posted(grafana).await;
    assert!(shows(&message, grafana));
    let in_console = t
        .fake
        .wait_for("the console's message", |c| {
            c.method == "chat.postMessage" && shows(&c.body, console)
        })
        .await;
    assert_eq!(in_console.body["channel"], "C0CONSOLE");
    let grafana_post = t
        .fake
        .calls()
        .into_iter()
        .find(|c| c.method == "chat.postMessage" && shows(&c.body, grafana))
        .unwrap();
    assert_eq!(grafana_post.body["channel"], CHANNEL);
    // The wiki's approvers are asked by email only.
    t.app
        .mail()
        .wait_for(&t.app.email("alice"), &format!("#{quiet}:"))
        .await;
    let db = t.app.db().await;
    let slack_rows: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE channel = 'slack' AND request_id = $1",
    )
    .bind(quiet)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(slack_rows, 0);

    // Later changes edit the message where it is.
    let approved = t.app.approve(console, "alice", "1h").await;
    assert!(
        approved.waiting.is_some(),
        "the console needs two approvals"
    );
    let update = t
        .fake
        .wait_for("the console's update", |c| {
            c.method == "chat.update" && shows(&c.body, console)
        })
        .await;
    assert_eq!(update.body["channel"], "C0CONSOLE");
    assert!(
        status_of(&update.body).starts_with("1 of 2 approvals: alice-"),
        "{}",
        status_of(&update.body)
    );
    assert_eq!(
        action_ids(&update.body),
        ["duration", "approve", "deny"],
        "still open for the second approval"
    );
}

#[tokio::test]
async fn direct_messages_reach_each_approver_and_follow_the_request() {
    let base = BASE.replace(
        "host = \"grafana.test\"\n",
        "host = \"grafana.test\"\nnotify = { slack = \"approvers\" }\n",
    );
    assert_ne!(base, BASE);
    let t = SlackTest::start_full(FakeSlack::start().await, &base, "", "").await;
    let id = t.request("carol").await;
    let posted = |user: &'static str| {
        t.fake.wait_for("a direct message", move |c| {
            c.method == "chat.postMessage" && c.body["channel"] == user
        })
    };
    assert!(shows(&posted(ALICE).await.body, id));
    assert!(shows(&posted(BOB).await.body, id));
    let posts = t
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "chat.postMessage" && c.ok)
        .count();
    assert_eq!(posts, 2, "one message per approver, none in the channel");

    assert_eq!(
        t.send(&t.approve(BOB, id, 60)).await.status(),
        StatusCode::OK
    );
    for dm in ["DALICE", "DBOB"] {
        t.fake
            .wait_for("the approval in each direct message", |c| {
                c.method == "chat.update"
                    && c.body["channel"] == dm
                    && status_of(&c.body).starts_with("Approved by bob-")
            })
            .await;
    }
}
