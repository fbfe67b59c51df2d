//! SIGKILL in the middle of requests and approvals: whatever daypass acknowledged is in the
//! database afterwards, the database is intact, and every queued email goes out once.
use std::collections::HashSet;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};

use crate::fake_discord::FakeDiscord;
use crate::procs::{free_port, Proc};
use crate::smtp_fakes::SmtpSwitch;

const SEED: [u8; 32] = [7; 32];

async fn start(config: &std::path::Path, smtp_port: u16) -> Proc {
    Proc::spawn(
        "daypass",
        Command::new(env!("CARGO_BIN_EXE_daypass"))
            .args(["--config", config.to_str().unwrap(), "serve"])
            .env("DAYPASS__EMAIL__PORT", smtp_port.to_string())
            .env("DAYPASS_LOG_LEVEL", "warn")
            .envs(crate::helpers::secret_env(config.parent().unwrap()))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
}

async fn wait_ready(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{url}/healthz")).await.is_err() {
        assert!(Instant::now() < deadline, "daypass did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the database must hold for everything acknowledged; the list of what is missing.
pub async fn durability_violations(
    db: &sqlx::AnyPool,
    requests: &[i64],
    approvals: &[i64],
) -> Vec<String> {
    let mut missing = Vec::new();
    for id in requests {
        let found: Option<String> =
            sqlx::query_scalar("SELECT state FROM access_requests WHERE id = $1")
                .bind(id)
                .fetch_optional(db)
                .await
                .unwrap();
        if found.is_none() {
            missing.push(format!("acknowledged request {id} is missing"));
        }
    }
    for id in approvals {
        let grant: Option<i64> = sqlx::query_scalar("SELECT id FROM grants WHERE request_id = $1")
            .bind(id)
            .fetch_optional(db)
            .await
            .unwrap();
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM access_requests WHERE id = $1")
                .bind(id)
                .fetch_optional(db)
                .await
                .unwrap();
        if grant.is_none() || state.as_deref() != Some("approved") {
            missing.push(format!("acknowledged approval of request {id} is missing"));
        }
    }
    missing
}

fn discord_click(request: i64) -> String {
    crate::discord::click(
        &format!("daypass:approve:{request}:60"),
        "1001",
        "1200000000000000001",
    )
    .to_string()
}

#[tokio::test]
async fn a_sigkill_mid_stream_loses_nothing_acknowledged_and_sends_every_queued_mail_once() {
    let dir = tempfile::tempdir().unwrap();
    let tag = crate::helpers::new_tag();
    let fake = FakeDiscord::start().await;
    let smtp = SmtpSwitch::start_down(crate::maildev::shared().smtp_port).await;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let key = SigningKey::from_bytes(&SEED);
    std::fs::write(dir.path().join("discord-token"), "t").unwrap();
    let extra = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"{url}\"\n[database]\nurl = \"{db}\"\n\
         [identity]\nmode = \"header\"\n\
         [discord]\nenabled = true\npublic_key = \"{k}\"\nchannel_id = \"555000000000000001\"\napi_base = \"{api}\"\ntoken_env = \"DAYPASS_TEST_UNSET\"\ntoken_file = \"{d}/discord-token\"\n",
        d = dir.path().display(),
        db = crate::helpers::database_url(dir.path()).await,
        k = hex::encode(key.verifying_key().to_bytes()),
        api = fake.url,
    );
    let base = crate::helpers::BASE.replace(
        "[server]\nlisten = \"127.0.0.1:0\"\nrequest_ttl = \"1h\"\n",
        "",
    );
    let config = dir.path().join("daypass.toml");
    std::fs::write(&config, format!("{extra}\n{}", base.replace("{tag}", &tag))).unwrap();

    // SMTP is down for the whole first run: every email stays queued.
    let mut server = start(&config, smtp.port).await;
    wait_ready(&url).await;
    let acked_requests = Arc::new(Mutex::new(Vec::<i64>::new()));
    let acked_approvals = Arc::new(Mutex::new(Vec::<i64>::new()));
    let failures = Arc::new(Mutex::new(0usize));
    let mut workers = Vec::new();
    for w in 0..6 {
        let (url, key) = (url.clone(), key.clone());
        let (requests, approvals, failures) = (
            acked_requests.clone(),
            acked_approvals.clone(),
            failures.clone(),
        );
        let tag = tag.clone();
        workers.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            for n in 0.. {
                let who = format!("u{w}x{n}-{tag}@example.com");
                let form = client
                    .get(format!("{url}/request/grafana"))
                    .header("X-Forwarded-Email", &who)
                    .send()
                    .await;
                let Ok(form) = form else {
                    *failures.lock().unwrap() += 1;
                    return;
                };
                let cookie = form
                    .headers()
                    .get("set-cookie")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .to_string();
                let body = form.text().await.unwrap_or_default();
                let Some(start) = body.find("name=\"csrf\" value=\"") else {
                    return;
                };
                let csrf = body[start + 19..]
                    .split('"')
                    .next()
                    .unwrap_or("")
                    .to_string();
                let res = client
                    .post(format!("{url}/request/grafana"))
                    .header("X-Forwarded-Email", &who)
                    .header("Cookie", &cookie)
                    .form(&[("csrf", csrf.as_str()), ("justification", "crash test")])
                    .send()
                    .await;
                let Ok(res) = res else {
                    *failures.lock().unwrap() += 1;
                    return;
                };
                if res.status() != 303 {
                    continue;
                }
                let id: i64 = res.headers()["location"]
                    .to_str()
                    .unwrap()
                    .trim_start_matches("/requests/")
                    .parse()
                    .unwrap();
                requests.lock().unwrap().push(id);
                let body = discord_click(id);
                let ts = (chrono::Utc::now().timestamp()).to_string();
                let sig = hex::encode(
                    key.sign(&[ts.as_bytes(), body.as_bytes()].concat())
                        .to_bytes(),
                );
                let res = client
                    .post(format!("{url}/discord/interactions"))
                    .header("content-type", "application/json")
                    .header("X-Signature-Ed25519", sig)
                    .header("X-Signature-Timestamp", ts)
                    .body(body)
                    .send()
                    .await;
                let Ok(res) = res else {
                    *failures.lock().unwrap() += 1;
                    return;
                };
                let v: serde_json::Value = res.json().await.unwrap_or_default();
                if crate::fake_discord::status_of(&v["data"]).starts_with("Approved by") {
                    approvals.lock().unwrap().push(id);
                }
            }
        }));
    }
    // Let the load run, then kill -9 while it is in full flow.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked_approvals.lock().unwrap().len() < 30 {
        assert!(Instant::now() < deadline, "the load never got going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = server.kill();
    assert_eq!(status.signal(), Some(9), "daypass was killed, not stopped");
    for w in workers {
        let _ = w.await;
    }
    assert!(
        *failures.lock().unwrap() > 0,
        "the kill landed while requests were in flight"
    );
    let requests = acked_requests.lock().unwrap().clone();
    let approvals = acked_approvals.lock().unwrap().clone();

    let db = crate::helpers::connect(&crate::helpers::database_url(dir.path()).await).await;
    if !crate::helpers::on_postgres() {
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(check, "ok");
    }
    let missing = durability_violations(&db, &requests, &approvals).await;
    assert!(missing.is_empty(), "{missing:?}");
    let sent_before: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND state = 'sent'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        sent_before, 0,
        "SMTP was down: nothing could be sent before the kill"
    );
    db.close().await;

    // Back up, with SMTP now reachable: every queued email goes out, once.
    smtp.set_up(true);
    let server = start(&config, smtp.port).await;
    wait_ready(&url).await;
    let db = crate::helpers::connect(&crate::helpers::database_url(dir.path()).await).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND state <> 'sent'",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        if pending == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{pending} emails still queued");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE channel = 'email'")
        .fetch_one(&db)
        .await
        .unwrap();
    // Sent means the SMTP server took it; maildev may list it a moment later.
    let ours = || async {
        crate::maildev::shared()
            .all()
            .await
            .into_iter()
            .filter(|m| m.to.iter().any(|a| a.address.contains(&tag)))
            .collect::<Vec<crate::maildev::Mail>>()
    };
    crate::helpers::eventually(
        Duration::from_secs(15),
        "maildev lists every mail sent",
        || async { ours().await.len() as i64 >= queued },
    )
    .await;
    let mails = ours().await;
    let ids: HashSet<String> = mails
        .iter()
        .filter_map(|m| m.headers["message-id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(mails.len() as i64, queued, "every queued email arrived");
    assert_eq!(ids.len(), mails.len(), "none twice");
    drop(server);
}

#[tokio::test]
async fn the_durability_check_catches_an_acknowledgement_without_a_commit() {
    // Had daypass answered before committing, the answered id would be missing after the kill.
    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::database_url(dir.path()).await;
    let store = daypass::store::Store::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    let db = crate::helpers::connect(&url).await;
    let missing = durability_violations(&db, &[41], &[42]).await;
    assert_eq!(missing.len(), 2, "{missing:?}");
}
