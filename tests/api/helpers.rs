//! Spawns daypass on port 0 with a fresh SQLite file, and drives it like a browser would.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use daypass::app::App;
use daypass::clock::Clock;
use daypass::config::Config;
use daypass::server::context::Context;
use rand::Rng;
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use crate::maildev::{self, MailDev};

pub struct TestApp {
    pub url: String,
    pub ctx: Arc<Context>,
    pub tag: String,
    pub dir: tempfile::TempDir,
    pub config_path: std::path::PathBuf,
    /// The `DAYPASS__…` overrides on top of `config_path`, for running the CLI against this app.
    pub env: Vec<(String, String)>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// The config every test starts from. `{tag}` makes addresses unique to one test,
/// so tests can share one mail server.
/// Runs `app` in the background until the returned sender fires or is dropped.
pub fn run_stoppable(
    app: App,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    (tx, handle)
}

pub const BASE: &str = r#"
[server]
listen = "127.0.0.1:0"
request_ttl = "1h"
[email]
transport = "smtp"
from = "daypass <daypass@daypass.test>"
[scheduler]
sweep_every = "1h"

[[approvers]]
email = "alice-{tag}@example.com"
discord_id = "1001"
[[approvers]]
email = "bob-{tag}@example.com"
discord_id = "1002"

[[approvers]]
email = "esc-{tag}@example.com"

[[applications]]
slug = "console"
name = "DB console"
host = "console.test"
  [[applications.policies]]
  name = "Two approvals"
  decision = "allow"
  include = { email_domains = ["example.com"] }
  temporary = { approvers = ["alice-{tag}@example.com", "bob-{tag}@example.com"], approvals_needed = 2, max_duration = "8h", remind_after = "10m", escalate_after = "30m", escalate_to = ["esc-{tag}@example.com"] }

[[applications]]
slug = "grafana"
name = "Grafana"
host = "grafana.test"
  [[applications.policies]]
  name = "SRE"
  decision = "allow"
  include = { emails = ["sre-{tag}@example.com"] }
  [[applications.policies]]
  name = "Blocked"
  decision = "deny"
  include = { email_domains = ["blocked.example"] }
  [[applications.policies]]
  name = "Contractors"
  decision = "allow"
  include = { email_domains = ["example.com"] }
  temporary = { approvers = ["alice-{tag}@example.com", "bob-{tag}@example.com"], max_duration = "8h", prompt = "Ticket and reason" }
"#;

/// The engine the tests run on: `DAYPASS_TEST_ENGINE=postgres` runs them on the PostgreSQL
/// server at `DAYPASS_TEST_POSTGRES` (scripts/test.sh starts one), SQLite files otherwise.
pub fn on_postgres() -> bool {
    std::env::var("DAYPASS_TEST_ENGINE").as_deref() == Ok("postgres")
}

/// The PostgreSQL server the tests may use: `postgres://USER@HOST:PORT`. In CI it must be there.
pub fn postgres_server() -> Option<String> {
    match std::env::var("DAYPASS_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url.trim_end_matches('/').to_string()),
        _ => {
            assert!(
                std::env::var("CI").is_err() && !on_postgres(),
                "DAYPASS_TEST_POSTGRES is not set: run the tests with scripts/test.sh"
            );
            None
        }
    }
}

/// A database of its own on the test server, named after `key` (the same key, the same
/// database: a test that restarts daypass finds its data again). Created when missing.
pub async fn postgres_database(key: &str) -> String {
    use sqlx::Connection;
    let server = postgres_server().expect("a PostgreSQL server for this test");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let name = format!("t_{h:016x}");
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .expect("connect to the test PostgreSQL server");
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut admin)
        .await
        .expect("look up the test database");
    if exists.is_none() {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create the test database");
    }
    format!("{server}/{name}")
}

/// The database URL for a test whose files live in `dir`.
pub async fn database_url(dir: &std::path::Path) -> String {
    if on_postgres() {
        postgres_database(&dir.display().to_string()).await
    } else {
        format!("sqlite://{}", dir.join("daypass.db").display())
    }
}

/// On PostgreSQL, replicas must share one secret (on SQLite daypass makes one beside the
/// database): the override that gives every daypass started for `dir` the same one.
pub fn secret_env(dir: &std::path::Path) -> Vec<(String, String)> {
    if !on_postgres() {
        return Vec::new();
    }
    let secret = dir.join("secret");
    if !secret.exists() {
        std::fs::write(
            &secret,
            format!("{}-a-test-secret-of-32-characters", new_tag()),
        )
        .expect("write the secret");
    }
    vec![(
        "DAYPASS__SERVER__SECRET_FILE".to_string(),
        secret.display().to_string(),
    )]
}

/// A raw pool on either engine.
pub async fn connect(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::pool::PoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .expect("open db")
}

pub fn new_tag() -> String {
    format!("{:08x}", rand::thread_rng().gen::<u32>())
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(BASE, "").await
    }

    /// `base` with `extra` TOML appended; `{tag}` replaced everywhere.
    pub async fn spawn_with(base: &str, extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::spawn_in(dir, new_tag(), base, extra, Clock::default()).await
    }

    pub async fn spawn_in(
        dir: tempfile::TempDir,
        tag: String,
        base: &str,
        extra: &str,
        clock: Clock,
    ) -> Self {
        Self::spawn_full(dir, tag, base, extra, clock, &[]).await
    }

    /// The default app with more `DAYPASS__…` overrides (e.g. another SMTP port).
    pub async fn spawn_env(more_env: &[(String, String)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::spawn_full(dir, new_tag(), BASE, "", Clock::default(), more_env).await
    }

    /// As `spawn_in`, with more `DAYPASS__…` overrides that win over the defaults.
    pub async fn spawn_full(
        dir: tempfile::TempDir,
        tag: String,
        base: &str,
        extra: &str,
        clock: Clock,
        more_env: &[(String, String)],
    ) -> Self {
        let mail = maildev::shared();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let url = format!("http://127.0.0.1:{port}");
        let text = format!("{base}\n{extra}")
            .replace("{tag}", &tag)
            .replace("{dir}", &dir.path().display().to_string());
        let mut env = vec![
            ("DAYPASS__SERVER__PUBLIC_URL".to_string(), url.clone()),
            (
                "DAYPASS__DATABASE__URL".to_string(),
                database_url(dir.path()).await,
            ),
            (
                "DAYPASS__EMAIL__PORT".to_string(),
                mail.smtp_port.to_string(),
            ),
            (
                "DAYPASS__EMAIL__DIR".to_string(),
                dir.path().join("mail").display().to_string(),
            ),
        ];
        env.extend(secret_env(dir.path()));
        env.extend_from_slice(more_env);
        let config_path = dir.path().join("daypass.toml");
        std::fs::write(&config_path, &text).expect("write config");
        let config = Config::from_toml(&text, env.clone()).expect("test config is valid");
        let app = App::build_with_listener(config, clock, listener)
            .await
            .expect("daypass starts");
        let ctx = app.context();
        let (tx, handle) = run_stoppable(app);
        Self {
            url,
            ctx,
            tag,
            dir,
            config_path,
            env,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    /// Stops the server and waits for it, keeping the folder and database.
    pub async fn stop(mut self) -> (tempfile::TempDir, String) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
        self.ctx.store.close().await;
        let tag = self.tag.clone();
        (
            std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tmp")),
            tag,
        )
    }

    pub fn email(&self, who: &str) -> String {
        format!("{who}-{}@example.com", self.tag)
    }

    pub fn mail(&self) -> &'static MailDev {
        maildev::shared()
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.url)
    }

    pub fn db_url(&self) -> String {
        self.ctx.config.database.url.clone()
    }

    /// The state of request `id`, read straight from the database.
    pub async fn request_state(&self, id: i64) -> String {
        sqlx::query_scalar("SELECT state FROM access_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&self.db().await)
            .await
            .expect("the request exists")
    }

    /// A raw connection to the same database, for looking behind daypass's back.
    pub async fn db(&self) -> sqlx::AnyPool {
        connect(&self.db_url()).await
    }

    /// `GET /auth` as a reverse proxy would send it for `host`.
    pub async fn auth(&self, browser: &Browser, host: &str, extra: &[(&str, &str)]) -> Resp {
        let mut headers: Vec<(String, String)> = vec![
            ("X-Forwarded-Host".into(), host.into()),
            ("X-Forwarded-Uri".into(), "/dashboards?x=1".into()),
            ("X-Forwarded-Proto".into(), "https".into()),
        ];
        headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        browser.get_with("/auth", &headers).await
    }

    /// `/auth` for `host` as a proxy would ask it for a browser holding only `session`.
    pub async fn auth_with_session(&self, session: &str, host: &str) -> Resp {
        self.browser()
            .get_with(
                "/auth",
                &[
                    ("X-Forwarded-Host".into(), host.into()),
                    ("Cookie".into(), format!("daypass_session={session}")),
                ],
            )
            .await
    }

    /// Runs the `daypass` binary against this app's config and database.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_daypass"))
            .arg("--config")
            .arg(&self.config_path)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("run the daypass binary")
    }

    /// A browser signed in as `email` without the email round trip (for tests about other things).
    pub async fn signed_in(&self, email: &str) -> Browser {
        let token = daypass::tokens::new_token();
        let hash = daypass::tokens::hash(&token);
        let now = self.ctx.clock.now_ms();
        let expires = now + 3_600_000;
        let mut tx = self.ctx.store.begin().await.unwrap();
        daypass::store::Store::insert_session(&mut tx, &hash, email, now, expires)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let parsed = daypass::domain::Email::parse(email).unwrap();
        let groups = self.ctx.config.groups_of(&parsed, &[]);
        self.ctx.cache.put_session(&hash, parsed, groups, expires);
        let mut b = self.browser();
        b.cookies.insert("daypass_session".into(), token);
        b
    }

    /// `who` approves request `id` for `duration`, as from their email link.
    pub async fn approve(
        &self,
        id: i64,
        who: &str,
        duration: &str,
    ) -> daypass::access::decisions::Decided {
        decide(
            &self.ctx,
            id,
            &daypass::domain::Email::parse(&self.email(who)).unwrap(),
            by_email(),
            daypass::access::decisions::Verdict::Approve(
                daypass::domain::GrantDuration::parse(duration).unwrap(),
            ),
        )
        .await
        .unwrap()
    }

    pub async fn sweep(&self) -> daypass::access::sweep::SweepReport {
        daypass::server::jobs::sweep_now(&self.ctx)
            .await
            .expect("sweep")
    }

    /// Runs the sweep, then `drain_outbox`: afterwards, whatever daypass would do by now is done,
    /// so a test may assert that nothing more was sent.
    pub async fn drain(&self) {
        self.sweep().await;
        self.drain_outbox().await;
    }

    /// Delivers every outbox message due now, then waits (at most 10 s) until none is left
    /// pending, one a worker took before the drain included. For tests where every message can
    /// be delivered or has been given up on.
    pub async fn drain_outbox(&self) {
        daypass::notify::outbox::deliver_due_now(&self.ctx)
            .await
            .expect("deliver the outbox");
        let db = self.db().await;
        wait_for_count(
            &db,
            "SELECT COUNT(*) FROM outbox WHERE state = 'pending'",
            0,
        )
        .await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The id of the request a `303 → /requests/{id}` answer leads to.
    pub fn request_id(&self) -> i64 {
        self.location()
            .trim_start_matches("/requests/")
            .parse()
            .unwrap_or_else(|_| panic!("not a request's page: {:?} {}", self.location(), self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The hidden CSRF field of the page's (first) form.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no csrf field in page: {}", self.body))
            + marker.len();
        self.body[start..]
            .split('"')
            .next()
            .unwrap_or("")
            .to_string()
    }
}

/// A cookie jar and a client that does not follow redirects.
pub struct Browser {
    base: String,
    client: reqwest::Client,
    pub cookies: HashMap<String, String>,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            base: base.to_string(),
            client,
            cookies: HashMap::new(),
        }
    }

    /// The browser's cookies as one `Cookie` header value.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, headers: &HeaderMap) {
        for v in headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let first = v.split(';').next().unwrap_or("");
            if let Some((k, val)) = first.split_once('=') {
                if val.is_empty() || v.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), val.to_string());
                }
            }
        }
    }

    async fn finish(&mut self, res: reqwest::Response) -> Resp {
        let status = res.status();
        let headers = res.headers().clone();
        self.keep_cookies(&headers);
        let body = res.text().await.unwrap_or_default();
        Resp {
            status,
            headers,
            body,
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn get_with(&self, path: &str, headers: &[(String, String)]) -> Resp {
        let mut req = self
            .client
            .get(self.url(path))
            .header(COOKIE, self.cookie_header());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let res = req.send().await.expect("GET");
        Resp {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap_or_default(),
        }
    }

    /// Fetches `path` (keeping cookies), as a page load.
    pub async fn open(&mut self, path: &str) -> Resp {
        let res = self
            .client
            .get(self.url(path))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .expect("GET");
        self.finish(res).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let res = self
            .client
            .post(self.url(path))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .expect("POST");
        self.finish(res).await
    }

    /// Loads the page at `page` for its CSRF token, then posts `form` (plus that token) to `action`.
    pub async fn submit(&mut self, page: &str, action: &str, form: &[(&str, &str)]) -> Resp {
        let csrf = self.open(page).await.csrf();
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(action, &fields).await
    }

    /// Signs in with the emailed one-time code.
    pub async fn login(&mut self, app: &TestApp, email: &str) {
        let before = app.mail().to(email).await.len();
        let res = self
            .submit("/login", "/login", &[("email", email), ("next", "/")])
            .await;
        assert_eq!(
            res.status,
            StatusCode::SEE_OTHER,
            "login start: {}",
            res.body
        );
        let code = wait_for_new_code(app, email, before).await;
        let res = self
            .submit(
                "/login/verify",
                "/login/verify",
                &[("code", &code), ("next", "/")],
            )
            .await;
        assert_eq!(
            res.status,
            StatusCode::SEE_OTHER,
            "code accepted: {}",
            res.body
        );
        assert!(
            self.cookies.contains_key("daypass_session"),
            "a session cookie is set: {:?} {:?}",
            res.headers,
            self.cookies
        );
    }
}

/// The code from the newest login email after the first `before` mails to `email`.
pub async fn wait_for_new_code(app: &TestApp, email: &str, before: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mails = app.mail().to(email).await;
        if let Some(m) = mails
            .iter()
            .skip(before)
            .rev()
            .find(|m| m.subject.starts_with("Your daypass code: "))
        {
            return m
                .subject
                .trim_start_matches("Your daypass code: ")
                .to_string();
        }
        assert!(Instant::now() < deadline, "no login code mail to {email}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The review link in an approver's email.
pub fn review_path(mail: &crate::maildev::Mail) -> String {
    let start = mail.text.find("/review/").expect("review link in mail");
    let token: String = mail.text[start + "/review/".len()..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    format!("/review/{token}")
}

/// Polls `cond` every 20 ms for at most `limit`.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (at most 10 s) until the number `sql` selects is `want`.
pub async fn wait_for_count(db: &sqlx::AnyPool, sql: &'static str, want: i64) {
    eventually(Duration::from_secs(10), sql, || {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&db)
                .await
                .unwrap()
                == want
        }
    })
    .await
}

/// `decisions::decide` as the server runs it: at the clock's now, then applied.
pub async fn decide(
    ctx: &Context,
    id: i64,
    who: &daypass::domain::Email,
    origin: daypass::store::Origin<'_>,
    verdict: daypass::access::decisions::Verdict,
) -> Result<daypass::access::decisions::Decided, daypass::access::decisions::DecideError> {
    let now = ctx.clock.now_ms();
    daypass::access::decisions::decide(&ctx.store, &ctx.config, id, who, origin, verdict, now)
        .await
        .map(|o| ctx.apply(o))
}

/// `requests::create` as the server runs it: at the clock's now, then applied.
pub async fn create_request(
    ctx: &Context,
    request: daypass::access::requests::NewAccessRequest<'_>,
) -> Result<i64, daypass::access::requests::RequestError> {
    let now = ctx.clock.now_ms();
    daypass::access::requests::create(&ctx.store, &ctx.config, &ctx.secret, request, now)
        .await
        .map(|o| ctx.apply(o))
}

/// Wakes every outbox worker (after a test changes what a channel answers).
pub fn wake_outbox(ctx: &Context) {
    for &c in daypass::store::Channel::ALL {
        ctx.outbox_wakeup(c).notify_one();
    }
}

/// An origin for decisions made from a review link in an email.
pub fn by_email() -> daypass::store::Origin<'static> {
    daypass::store::Origin::new(daypass::store::Via::Email)
}
