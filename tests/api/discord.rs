//! Approving and denying from Discord, with interactions signed exactly as Discord signs them.
use std::time::Duration;

use daypass::access::requests::NewAccessRequest;
use daypass::domain::{Email, GrantDuration, Justification};
use daypass::policy::{evaluate, Access};
use ed25519_dalek::{Signer, SigningKey};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::fake_discord::{custom_ids, message_json, status_of, FakeDiscord};
use crate::helpers::{TestApp, BASE};

const CHANNEL: &str = "555000000000000001";
const SEED: [u8; 32] = [7; 32];

pub struct DiscordTest {
    pub app: TestApp,
    pub fake: FakeDiscord,
    key: SigningKey,
    client: reqwest::Client,
}

impl DiscordTest {
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    pub async fn start_with(extra: &str) -> Self {
        Self::start_with_env(extra, &[]).await
    }

    pub async fn start_with_env(extra: &str, env: &[(&str, &str)]) -> Self {
        let fake = FakeDiscord::start().await;
        let key = SigningKey::from_bytes(&SEED);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("discord-token"), "test-bot-token").unwrap();
        let discord = format!(
            "[discord]\nenabled = true\npublic_key = \"{}\"\nchannel_id = \"{CHANNEL}\"\napi_base = \"{}\"\ntoken_env = \"DAYPASS_TEST_UNSET_TOKEN\"\ntoken_file = \"{{dir}}/discord-token\"\n{extra}",
            hex::encode(key.verifying_key().to_bytes()),
            fake.url
        );
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let app = TestApp::spawn_full(
            dir,
            crate::helpers::new_tag(),
            BASE,
            &discord,
            daypass::clock::Clock::default(),
            &env,
        )
        .await;
        Self {
            app,
            fake,
            key,
            client: reqwest::Client::new(),
        }
    }

    /// daypass again on the same folder with another config, keeping the fake Discord.
    pub async fn restart(
        dir: tempfile::TempDir,
        tag: String,
        base: &str,
        fake: FakeDiscord,
    ) -> Self {
        let key = SigningKey::from_bytes(&SEED);
        let discord = format!(
            "[discord]\nenabled = true\npublic_key = \"{}\"\nchannel_id = \"{CHANNEL}\"\napi_base = \"{}\"\ntoken_env = \"DAYPASS_TEST_UNSET_TOKEN\"\ntoken_file = \"{{dir}}/discord-token\"\n",
            hex::encode(key.verifying_key().to_bytes()),
            fake.url
        );
        let app =
            TestApp::spawn_in(dir, tag, base, &discord, daypass::clock::Clock::default()).await;
        Self {
            app,
            fake,
            key,
            client: reqwest::Client::new(),
        }
    }

    /// (signature, timestamp) for `body`, signed now as Discord signs.
    pub fn sign(&self, body: &str) -> (String, String) {
        let ts = self.now().to_string();
        let signature = self.key.sign(&[ts.as_bytes(), body.as_bytes()].concat());
        (hex::encode(signature.to_bytes()), ts)
    }

    /// A request by `requester` for grafana, made through the library (no login round trip).
    pub async fn request(&self, requester: &str, wish: Option<&str>) -> i64 {
        Self::request_in(&self.app, requester, wish).await
    }

    pub async fn request_as(app: &TestApp, requester: &str) -> i64 {
        Self::request_in(app, requester, None).await
    }

    pub async fn request_in(app: &TestApp, requester: &str, wish: Option<&str>) -> i64 {
        let ctx = &app.ctx;
        let grafana = ctx.config.application("grafana").unwrap();
        let who = Email::parse(requester).unwrap();
        let Access::OnRequest(policy, temporary) =
            evaluate(grafana, daypass::policy::Who::new(&who, &[]))
        else {
            panic!("grafana is on request")
        };
        let justification =
            Justification::parse("INC-77 **urgent** @everyone <script>x</script>", true).unwrap();
        crate::helpers::create_request(
            ctx,
            NewAccessRequest {
                requester: &who,
                app: grafana,
                policy_name: &policy.name,
                temporary,
                justification: &justification,
                wished: wish.map(|w| GrantDuration::parse(w).unwrap()),
                redirect_to: None,
                client_ip: None,
                extends: None,
            },
        )
        .await
        .unwrap()
    }

    /// Waits for the request's message to be posted; returns its body and id.
    pub async fn posted(&self, request_id: i64) -> (Value, String) {
        let title = format!(" request #{request_id}:");
        let call = self
            .fake
            .wait_for("the request's message", |c| {
                c.method == "POST"
                    && c.path.ends_with("/messages")
                    && c.body["embeds"][0]["title"]
                        .as_str()
                        .is_some_and(|t| t.contains(&title))
            })
            .await;
        let db = self.app.db().await;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let id = loop {
            let id: Option<String> = sqlx::query_scalar(
                "SELECT message_id FROM chat_messages WHERE channel = 'discord' AND request_id = $1",
            )
            .bind(request_id)
            .fetch_optional(&db)
            .await
            .unwrap();
            if let Some(id) = id {
                break id;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the message id was never stored"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        (call.body, id)
    }

    /// Posts `body` to the interactions endpoint signed with `timestamp`.
    pub async fn send_signed(&self, body: &str, timestamp: i64) -> (StatusCode, Value) {
        let ts = timestamp.to_string();
        let signature = self.key.sign(&[ts.as_bytes(), body.as_bytes()].concat());
        self.send_raw(body, Some(&hex::encode(signature.to_bytes())), Some(&ts))
            .await
    }

    pub async fn send_raw(
        &self,
        body: &str,
        signature: Option<&str>,
        timestamp: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .post(format!("{}/discord/interactions", self.app.url))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(s) = signature {
            req = req.header("X-Signature-Ed25519", s);
        }
        if let Some(t) = timestamp {
            req = req.header("X-Signature-Timestamp", t);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub fn now(&self) -> i64 {
        self.app.ctx.clock.now_ms() / 1000
    }

    /// Signs and sends an interaction now.
    pub async fn send(&self, payload: &Value) -> (StatusCode, Value) {
        self.send_signed(&payload.to_string(), self.now()).await
    }

    pub async fn grant_of(&self, request_id: i64) -> Option<(i64, i64, String)> {
        sqlx::query_as("SELECT approved_at, expires_at, state FROM grants WHERE request_id = $1")
            .bind(request_id)
            .fetch_optional(&self.app.db().await)
            .await
            .unwrap()
    }
}

fn user(id: &str, name: &str) -> Value {
    json!({ "avatar": null, "avatar_decoration_data": null, "discriminator": "0", "global_name": name,
            "id": id, "public_flags": 0, "username": name.to_lowercase() })
}

fn interaction_id() -> String {
    format!("13{:016}", rand::random::<u64>() % 10_000_000_000_000_000)
}

/// A complete interaction as Discord sends it: `kind` 3 (component) or 5 (modal submit).
pub fn interaction(kind: u8, data: Value, clicker: &str, message_id: &str) -> Value {
    json!({
        "app_permissions": "562949953421311",
        "application_id": "1100000000000000000",
        "attachment_size_limit": 10485760,
        "authorizing_integration_owners": { "0": "1000000000000000001" },
        "channel_id": CHANNEL,
        "context": 0,
        "data": data,
        "entitlements": [],
        "guild_id": "1000000000000000001",
        "guild_locale": "en-US",
        "id": interaction_id(),
        "locale": "en-GB",
        "member": {
            "avatar": null, "banner": null, "communication_disabled_until": null, "deaf": false, "flags": 0,
            "joined_at": "2025-01-01T00:00:00.000000+00:00", "mute": false, "nick": null, "pending": false,
            "permissions": "562949953421311", "premium_since": null, "roles": [],
            "user": user(clicker, &format!("user{clicker}"))
        },
        "message": message_json(message_id, CHANNEL),
        "token": format!("aW50ZXJhY3Rpb246{}", interaction_id()),
        "type": kind,
        "version": 1
    })
}

pub fn click(custom_id: &str, clicker: &str, message_id: &str) -> Value {
    interaction(
        3,
        json!({ "component_type": 2, "custom_id": custom_id }),
        clicker,
        message_id,
    )
}

pub fn select(custom_id: &str, value: &str, clicker: &str, message_id: &str) -> Value {
    interaction(
        3,
        json!({ "component_type": 3, "custom_id": custom_id, "values": [value] }),
        clicker,
        message_id,
    )
}

pub fn modal_submit(custom_id: &str, reason: &str, clicker: &str, message_id: &str) -> Value {
    let data = json!({ "custom_id": custom_id, "components": [
        { "type": 1, "components": [ { "type": 4, "custom_id": "reason", "value": reason } ] } ] });
    interaction(5, data, clicker, message_id)
}

const ALICE: &str = "1001";
const BOB: &str = "1002";

#[tokio::test]
async fn a_request_posts_one_message_with_a_duration_menu_and_both_buttons() {
    let t = DiscordTest::start().await;
    let id = t.request(&t.app.email("carol"), Some("4h")).await;
    let (body, _) = t.posted(id).await;
    let embed = &body["embeds"][0];
    assert!(embed["title"].as_str().unwrap().contains("Grafana"));
    let text = embed.to_string();
    assert!(
        text.contains(&format!("carol-{}\\\\@example.com", t.app.tag))
            || text.contains(&t.app.email("carol")),
        "{text}"
    );
    let description = embed["description"].as_str().unwrap();
    assert!(
        description.contains("INC-77 \\*\\*urgent\\*\\* \\@everyone \\<script\\>"),
        "markdown and mentions escaped: {description}"
    );
    assert!(status_of(&body).contains("Waiting for an approver"));
    assert!(text.contains("Requested") && text.contains("Request expires") && text.contains("<t:"));
    assert_eq!(
        body["allowed_mentions"]["parse"],
        json!([]),
        "the message never pings anyone"
    );
    let menu = &body["components"][0]["components"][0];
    assert_eq!(menu["type"], 3);
    let options: Vec<&str> = menu["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        options,
        ["5m", "15m", "30m", "1h", "2h", "4h", "8h"],
        "only durations up to the policy's 8h"
    );
    let ids = custom_ids(&body);
    assert_eq!(
        ids,
        [
            format!("daypass:duration:{id}"),
            format!("daypass:approve:{id}:240"),
            format!("daypass:deny:{id}")
        ]
    );
    // One message only.
    t.app.drain().await;
    assert_eq!(
        t.fake.calls().iter().filter(|c| c.method == "POST").count(),
        1
    );
}

#[tokio::test]
async fn choosing_a_duration_and_approving_creates_that_grant_and_auth_lets_the_requester_in() {
    let t = DiscordTest::start().await;
    let carol = t.app.email("carol");
    let id = t.request(&carol, None).await;
    let (_, message) = t.posted(id).await;

    let (status, res) = t
        .send(&select(
            &format!("daypass:duration:{id}"),
            "240",
            ALICE,
            &message,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(res["type"], 7, "the message is updated in place: {res}");
    let approve = custom_ids(&res["data"])
        .into_iter()
        .find(|c| c.contains(":approve:"))
        .unwrap();
    assert_eq!(approve, format!("daypass:approve:{id}:240"));
    assert!(
        t.grant_of(id).await.is_none(),
        "choosing a duration decides nothing"
    );

    let (status, res) = t.send(&click(&approve, ALICE, &message)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(res["type"], 7);
    assert!(
        status_of(&res["data"]).starts_with(&format!("Approved by alice-{}", t.app.tag)),
        "{res}"
    );
    assert!(status_of(&res["data"]).contains("for 4h — expires"));
    assert_eq!(custom_ids(&res["data"]).len(), 1, "only Revoke is left");
    let (approved_at, expires_at, state) = t.grant_of(id).await.unwrap();
    assert_eq!(
        (expires_at - approved_at, state.as_str()),
        (4 * 3_600_000, "active")
    );

    let browser = t.app.signed_in(&carol).await;
    let auth = t.app.auth(&browser, "grafana.test", &[]).await;
    assert_eq!(auth.status, StatusCode::OK);
    assert_eq!(auth.header("x-daypass-user"), Some(carol.as_str()));

    let (channel, who): (String, String) = sqlx::query_as(
        "SELECT channel, discord_user FROM audit_events WHERE action = 'request_approved'",
    )
    .fetch_one(&t.app.db().await)
    .await
    .unwrap();
    assert_eq!((channel.as_str(), who.as_str()), ("discord", ALICE));
    t.app.mail().wait_for(&carol, "Approved").await;
}

#[tokio::test]
async fn deny_asks_for_a_reason_in_a_modal_then_denies() {
    let t = DiscordTest::start().await;
    let carol = t.app.email("carol");
    let id = t.request(&carol, Some("1h")).await;
    let (_, message) = t.posted(id).await;
    let (_, res) = t
        .send(&click(&format!("daypass:deny:{id}"), BOB, &message))
        .await;
    assert_eq!(res["type"], 9, "a modal: {res}");
    assert_eq!(
        res["data"]["custom_id"],
        format!("daypass:deny-reason:{id}")
    );
    let state = t.app.request_state(id).await;
    assert_eq!(state, "pending", "opening the modal decides nothing");

    let (_, res) = t
        .send(&modal_submit(
            &format!("daypass:deny-reason:{id}"),
            "Use the staging stack",
            BOB,
            &message,
        ))
        .await;
    assert_eq!(res["type"], 7);
    assert_eq!(
        status_of(&res["data"]),
        format!(
            "Denied by bob-{}\\@example.com: Use the staging stack",
            t.app.tag
        )
    );
    assert!(custom_ids(&res["data"]).is_empty(), "no buttons left");
    let mail = t.app.mail().wait_for(&carol, "Denied").await;
    assert!(mail.text.contains("Use the staging stack"));
}

#[tokio::test]
async fn clicks_by_strangers_and_by_the_requester_change_nothing() {
    let t = DiscordTest::start().await;
    // Alice asks; she is an approver too, but not of her own request.
    let id = t.request(&t.app.email("alice"), Some("1h")).await;
    let (_, message) = t.posted(id).await;
    let approve = format!("daypass:approve:{id}:60");
    for (who, words) in [
        ("4242", "not a daypass approver"),
        (ALICE, "your own request"),
    ] {
        let (status, res) = t.send(&click(&approve, who, &message)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(res["type"], 4, "{res}");
        assert_eq!(res["data"]["flags"], 64, "only the clicker sees it");
        assert!(
            res["data"]["content"].as_str().unwrap().contains(words),
            "{res}"
        );
    }
    assert!(t.grant_of(id).await.is_none());
    let events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action <> 'request_created'")
            .fetch_one(&t.app.db().await)
            .await
            .unwrap();
    assert_eq!(events, 0);
}

#[tokio::test]
async fn bad_signatures_stale_timestamps_and_altered_bodies_get_401_and_ping_gets_pong() {
    let t = DiscordTest::start().await;
    let ping = json!({ "type": 1, "id": interaction_id(), "application_id": "1100000000000000000", "token": "x", "version": 1 }).to_string();
    let (status, res) = t.send_signed(&ping, t.now()).await;
    assert_eq!((status, res), (StatusCode::OK, json!({ "type": 1 })));

    let ts = t.now().to_string();
    let good = hex::encode(
        t.key
            .sign(&[ts.as_bytes(), ping.as_bytes()].concat())
            .to_bytes(),
    );
    // Discord checks the endpoint with a bad signature on purpose.
    let bad = hex::encode(t.key.sign(b"something else").to_bytes());
    assert_eq!(
        t.send_raw(&ping, Some(&bad), Some(&ts)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.send_raw(&ping, Some("zz"), Some(&ts)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.send_raw(&ping, None, Some(&ts)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.send_raw(&ping, Some(&good), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let altered = ping.replace("\"x\"", "\"y\"");
    assert_eq!(
        t.send_raw(&altered, Some(&good), Some(&ts)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let old = t.now() - 301;
    assert_eq!(t.send_signed(&ping, old).await.0, StatusCode::UNAUTHORIZED);
    // A well-signed body that is not an interaction is a 400, not a 500.
    assert_eq!(
        t.send_signed("not json", t.now()).await.0,
        StatusCode::BAD_REQUEST
    );
    // Another key's signature is refused.
    let other = SigningKey::from_bytes(&[9; 32]);
    let forged = hex::encode(
        other
            .sign(&[ts.as_bytes(), ping.as_bytes()].concat())
            .to_bytes(),
    );
    assert_eq!(
        t.send_raw(&ping, Some(&forged), Some(&ts)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_replayed_click_makes_one_decision_and_one_audit_event() {
    let t = DiscordTest::start().await;
    let id = t.request(&t.app.email("carol"), Some("1h")).await;
    let (_, message) = t.posted(id).await;
    let payload = click(&format!("daypass:approve:{id}:60"), BOB, &message).to_string();
    let ts = t.now();
    let first = t.send_signed(&payload, ts).await;
    let second = t.send_signed(&payload, ts).await;
    assert_eq!(first.0, StatusCode::OK);
    assert_eq!(second.0, StatusCode::OK);
    assert_eq!(second.1["type"], 7, "the replay sees the current state");
    let db = t.app.db().await;
    let grants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grants")
        .fetch_one(&db)
        .await
        .unwrap();
    let events: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_events ORDER BY id")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(grants, 1);
    assert_eq!(events, ["request_created", "request_approved"]);
}

#[tokio::test]
async fn decisions_elsewhere_expiry_and_revoke_edit_the_message_and_remove_stale_buttons() {
    let t = DiscordTest::start().await;
    let carol = t.app.email("carol");
    let id = t.request(&carol, Some("1h")).await;
    let (_, message) = t.posted(id).await;
    let edit_path = format!("/api/v10/channels/{CHANNEL}/messages/{message}");

    // Approved through the email link: the Discord message follows.
    crate::helpers::decide(
        &t.app.ctx,
        id,
        &Email::parse(&t.app.email("alice")).unwrap(),
        crate::helpers::by_email(),
        daypass::access::decisions::Verdict::Approve(GrantDuration::parse("1h").unwrap()),
    )
    .await
    .unwrap();
    let edit = t
        .fake
        .wait_for("approved edit", |c| {
            c.path == edit_path && status_of(&c.body).starts_with("Approved by")
        })
        .await;
    assert_eq!(custom_ids(&edit.body).len(), 1, "Revoke only");
    assert!(custom_ids(&edit.body)[0].starts_with("daypass:revoke:"));

    // The grant runs out: "Expired", no buttons.
    t.app.ctx.clock.advance(Duration::from_secs(3601));
    t.app.sweep().await;
    let edit = t
        .fake
        .wait_for("expired edit", |c| {
            c.path == edit_path && status_of(&c.body).starts_with("Expired")
        })
        .await;
    assert_eq!(edit.body["components"], json!([]));

    // A second request, revoked from Discord.
    let id2 = t.request(&carol, Some("1h")).await;
    let (_, message2) = t.posted(id2).await;
    let (_, res) = t
        .send(&click(&format!("daypass:approve:{id2}:60"), BOB, &message2))
        .await;
    let revoke = custom_ids(&res["data"]).pop().unwrap();
    let browser = t.app.signed_in(&carol).await;
    assert_eq!(
        t.app.auth(&browser, "grafana.test", &[]).await.status,
        StatusCode::OK
    );
    let (_, res) = t.send(&click(&revoke, ALICE, &message2)).await;
    assert!(
        status_of(&res["data"]).starts_with(&format!("Revoked by alice-{}", t.app.tag)),
        "{res}"
    );
    assert!(custom_ids(&res["data"]).is_empty());
    assert_eq!(
        t.app.auth(&browser, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED,
        "the next request is refused"
    );

    // Expired unanswered.
    let id3 = t.request(&t.app.email("dave"), None).await;
    let (_, message3) = t.posted(id3).await;
    t.app.ctx.clock.advance(Duration::from_secs(3601));
    t.app.sweep().await;
    let path3 = format!("/api/v10/channels/{CHANNEL}/messages/{message3}");
    let edit = t
        .fake
        .wait_for("expired unanswered", |c| {
            c.path == path3 && status_of(&c.body) == "Expired unanswered"
        })
        .await;
    assert_eq!(edit.body["components"], json!([]));
}

#[tokio::test]
async fn a_discord_outage_delays_the_message_and_never_loses_it() {
    let t = DiscordTest::start().await;
    t.fake.fail_next([
        (500, json!({ "message": "Internal Server Error", "code": 0 })),
        (429, json!({ "message": "You are being rate limited.", "retry_after": 0.2, "global": false })),
    ]);
    let id = t.request(&t.app.email("carol"), None).await;
    // Each failure schedules a retry with backoff; move the clock past it instead of waiting.
    for _ in 0..2 {
        let before = t.fake.calls().len();
        crate::helpers::eventually(Duration::from_secs(10), "a delivery attempt", || async {
            t.fake.calls().len() > before
        })
        .await;
        t.app.ctx.clock.advance(Duration::from_secs(61));
        crate::helpers::wake_outbox(&t.app.ctx);
    }
    t.posted(id).await;
    let statuses: Vec<u16> = t.fake.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [500, 429, 200]);
    let (attempts, state): (i64, String) =
        sqlx::query_as("SELECT attempts, state FROM outbox WHERE channel = 'discord'")
            .fetch_one(&t.app.db().await)
            .await
            .unwrap();
    assert_eq!((attempts, state.as_str()), (3, "sent"));
}

#[tokio::test]
async fn the_endpoint_answers_within_three_seconds_while_smtp_hangs() {
    // An SMTP server that accepts connections and never says a word.
    let tarpit = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tarpit.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = tarpit.accept().await {
            held.push(s);
        }
    });
    let t = DiscordTest::start_with_env("", &[("DAYPASS__EMAIL__PORT", &port.to_string())]).await;
    let id = t.request(&t.app.email("carol"), None).await;
    let (_, message) = t.posted(id).await;
    let started = std::time::Instant::now();
    let (status, res) = t
        .send(&click(&format!("daypass:approve:{id}:60"), BOB, &message))
        .await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(res["type"], 7);
    assert!(took < Duration::from_secs(3), "answered in {took:?}");
    assert!(t.grant_of(id).await.is_some());
}

#[tokio::test]
async fn the_gateway_and_the_endpoint_share_one_handler() {
    let t = DiscordTest::start().await;
    let id = t.request(&t.app.email("carol"), Some("1h")).await;
    let (_, message) = t.posted(id).await;
    // What the gateway delivers is serenity's own Interaction; it must parse the complete payload.
    let payload = click(&format!("daypass:approve:{id}:15"), ALICE, &message);
    let from_gateway: serenity::all::Interaction =
        serde_json::from_value(payload).expect("a complete payload");
    let parsed = daypass::chat::discord::gateway::from_gateway(&from_gateway).expect("converted");
    let response = daypass::chat::discord::interactions::handle(&t.app.ctx, &parsed).await;
    let response = serde_json::to_value(&response).unwrap();
    assert_eq!(response["type"], 7);
    let (approved_at, expires_at, _) = t.grant_of(id).await.unwrap();
    assert_eq!(expires_at - approved_at, 15 * 60_000);
}
