//! Load generators, process wrangling and seeding for the forward-auth benchmark.
use std::fmt;
use std::future::Future;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use daypass::store::{NewGrant, NewRequest, Store};

pub mod bench_app;

/// A bare axum server answering 204 to everything: the floor daypass is compared against.
pub fn bare_server(port: u16) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let app = axum::Router::new().fallback(|| async { axum::http::StatusCode::NO_CONTENT });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        // The same socket options as daypass.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app).await?;
        Ok(())
    })
}
/// A process the benchmark started, killed (and waited for) when dropped.
pub struct Server {
    pub child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// This benchmark binary again as a bare server (`--bare` or `--bare-hyper`), on a free port.
pub async fn start_bare(mode: &str) -> anyhow::Result<(Server, u16)> {
    let port = free_port();
    let server = Server {
        child: Command::new(std::env::current_exe()?)
            .args([mode, &port.to_string()])
            .stdout(Stdio::null())
            .spawn()?,
    };
    wait_http(
        &format!("http://127.0.0.1:{port}/"),
        Duration::from_secs(30),
    )
    .await?;
    Ok((server, port))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()
        .unwrap_or_default()
}

pub async fn wait_http(url: &str, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    let c = client();
    loop {
        if c.get(url).send().await.is_ok() {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{url} did not answer within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn http_status(url: &str, headers: &[String]) -> anyhow::Result<u16> {
    let mut req = client().get(url);
    for h in headers {
        if let Some((k, v)) = h.split_once(": ") {
            req = req.header(k, v);
        }
    }
    Ok(req.send().await?.status().as_u16())
}

pub struct WrkResult {
    pub rps: f64,
    pub p50: String,
    pub p99: String,
    pub non2xx: u64,
}

impl fmt::Display for WrkResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>9.0} req/s  p50 {:>8}  p99 {:>8}  non-2xx {}",
            self.rps, self.p50, self.p99, self.non2xx
        )
    }
}

/// wrk -t2 -c50 -d10s --latency, parsed.
pub fn wrk(url: &str, headers: &[String]) -> anyhow::Result<WrkResult> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c50", "-d10s", "--latency"]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    let out = cmd.arg(url).output()?;
    anyhow::ensure!(
        out.status.success(),
        "wrk failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.trim_start()[prefix.len()..].split_whitespace().next())
            .unwrap_or("?")
            .to_string()
    };
    Ok(WrkResult {
        rps: field("Requests/sec:").parse().unwrap_or(0.0),
        p50: field("50%"),
        p99: field("99%"),
        non2xx: field("Non-2xx or 3xx responses:").parse().unwrap_or(0),
    })
}

/// nginx with one worker: one port protected by daypass, one by the bare handler.
pub struct Nginx {
    child: Child,
    pub daypass_port: u16,
    pub bare_port: u16,
}

/// nginx as one process (`master_process off`: its single worker is the process itself), so
/// killing it leaves no worker behind.
impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    pub fn start(dir: &Path, daypass: u16, bare: u16) -> anyhow::Result<Self> {
        let (daypass_port, bare_port) = (free_port(), free_port());
        let d = dir.join("nginx");
        std::fs::create_dir_all(&d)?;
        let server = |listen: u16, upstream: &str| {
            format!(
                "server {{ listen 127.0.0.1:{listen}; server_name bench.test;
                  location / {{ auth_request /_auth; try_files /__daypass_bench_none =204; }}
                  location = /_auth {{ internal; proxy_pass http://{upstream}/auth; proxy_http_version 1.1;
                    proxy_set_header Connection \"\"; proxy_pass_request_body off; proxy_set_header Content-Length \"\";
                    proxy_set_header X-Forwarded-Host $host; proxy_set_header X-Forwarded-Uri $request_uri; }} }}"
            )
        };
        let conf = format!(
            "daemon off; master_process off; pid {p}/nginx.pid; error_log {p}/error.log warn;
             events {{ worker_connections 1024; }}
             http {{ access_log off; client_body_temp_path {p}/b; proxy_temp_path {p}/p; fastcgi_temp_path {p}/f;
               uwsgi_temp_path {p}/u; scgi_temp_path {p}/s;
               upstream daypass {{ server 127.0.0.1:{daypass}; keepalive 64; }}
               upstream bare {{ server 127.0.0.1:{bare}; keepalive 64; }}
               {a} {b} }}",
            p = d.display(),
            a = server(daypass_port, "daypass"),
            b = server(bare_port, "bare"),
        );
        std::fs::write(d.join("nginx.conf"), conf)?;
        let child = Command::new("nginx")
            .args([
                "-e",
                &format!("{}/error.log", d.display()),
                "-p",
                &d.display().to_string(),
                "-c",
            ])
            .arg(d.join("nginx.conf"))
            .stdout(Stdio::null())
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", bare_port)).is_err() {
            anyhow::ensure!(Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self {
            child,
            daypass_port,
            bare_port,
        })
    }
}

pub struct FixedResult {
    pub sent: usize,
    pub ok: usize,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
}

impl fmt::Display for FixedResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requests, {:.2}% 2xx, p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms",
            self.sent,
            self.ok as f64 * 100.0 / self.sent.max(1) as f64,
            self.p50.as_secs_f64() * 1e3,
            self.p95.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3
        )
    }
}

/// Sends `rate` requests a second on schedule over 8 keep-alive connections, with a minimal
/// HTTP/1.1 client (a general-purpose one costs more than the server it would be measuring).
/// Each request is timed from its write to the end of its answer.
pub async fn fixed_rate(
    url: &str,
    session: &str,
    rate: u32,
    length: Duration,
) -> anyhow::Result<FixedResult> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const CONNECTIONS: u32 = 8;
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    let path = format!(
        "/{}",
        url.trim_start_matches("http://")
            .split_once('/')
            .map(|x| x.1)
            .unwrap_or("")
    );
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: daypass_session={session}\r\nX-Forwarded-Host: bench.test\r\n\r\n"
    );
    let interval = Duration::from_secs(1) / rate;
    let total = (length.as_secs_f64() * rate as f64) as u32;
    let start = Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let (addr, request) = (addr.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(&addr).await?;
            stream.set_nodelay(true)?;
            let mut out = Vec::new();
            let mut buf = vec![0u8; 4096];
            let mut i = c;
            while i < total {
                tokio::time::sleep_until((start + interval * i).into()).await;
                let sent = Instant::now();
                stream.write_all(request.as_bytes()).await?;
                let mut have = Vec::new();
                let ok = loop {
                    let n = stream.read(&mut buf).await?;
                    anyhow::ensure!(n > 0, "connection closed");
                    have.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&have);
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let head = &text[..head_end];
                        let body_len = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if have.len() >= head_end + 4 + body_len {
                            break head.starts_with("HTTP/1.1 2");
                        }
                    }
                };
                out.push((sent.elapsed(), ok));
                i += CONNECTIONS;
            }
            anyhow::Ok(out)
        }));
    }
    let mut r = Vec::new();
    for t in tasks {
        r.extend(t.await??);
    }
    r.sort_by_key(|x| x.0);
    let pct = |p: f64| {
        r.get(((r.len() as f64 * p) as usize).min(r.len().saturating_sub(1)))
            .map(|x| x.0)
            .unwrap_or_default()
    };
    Ok(FixedResult {
        sent: r.len(),
        ok: r.iter().filter(|x| x.1).count(),
        p50: pct(0.50),
        p95: pct(0.95),
        p99: pct(0.99),
    })
}

pub struct RevocationOutcome {
    pub first_401_after_ms: f64,
    pub let_through_after: usize,
    pub requests: usize,
}

impl fmt::Display for RevocationOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "first 401 {:+.1} ms after the revoke returned; requests sent after it that still got 200: {} (of {} during the run)",
            self.first_401_after_ms, self.let_through_after, self.requests
        )
    }
}

/// Keeps 4 connections busy on `/auth` with `session`, runs `revoke`, and reads when 401s begin.
pub async fn revocation<F, Fut>(
    base: &str,
    session: &str,
    _how: &str,
    revoke: F,
) -> anyhow::Result<RevocationOutcome>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let log = Arc::new(Mutex::new(Vec::<(Instant, Instant, u16)>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (c, log, stop) = (client(), log.clone(), stop.clone());
        let url = format!("{base}/auth");
        let cookie = format!("daypass_session={session}");
        workers.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let sent = Instant::now();
                let status = match c
                    .get(&url)
                    .header("Cookie", &cookie)
                    .header("X-Forwarded-Host", "bench.test")
                    .send()
                    .await
                {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                log.lock()
                    .map(|mut l| l.push((sent, Instant::now(), status)))
                    .ok();
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    revoke().await?;
    let done = Instant::now();
    let deadline = done + Duration::from_secs(3);
    loop {
        let seen = log
            .lock()
            .map(|l| l.iter().any(|e| e.2 == 401 && e.1 >= done))
            .unwrap_or(false);
        if seen || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let log = log.lock().map(|l| l.clone()).unwrap_or_default();
    let first_401 = log.iter().filter(|e| e.2 == 401).map(|e| e.1).min();
    let first_401_after_ms = match first_401 {
        Some(t) if t >= done => (t - done).as_secs_f64() * 1e3,
        Some(t) => -((done - t).as_secs_f64() * 1e3),
        None => f64::NAN,
    };
    Ok(RevocationOutcome {
        first_401_after_ms,
        let_through_after: log.iter().filter(|e| e.0 >= done && e.2 == 200).count(),
        requests: log.len(),
    })
}

/// The CSRF cookie and form token that `path` hands the holder of `session`.
pub async fn csrf_of(base: &str, path: &str, session: &str) -> anyhow::Result<(String, String)> {
    let page = client()
        .get(format!("{base}{path}"))
        .header("Cookie", format!("daypass_session={session}"))
        .send()
        .await?;
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix("daypass_csrf=")
                .and_then(|v| v.split(';').next())
                .map(str::to_string)
        })
        .ok_or_else(|| anyhow::anyhow!("no CSRF cookie"))?;
    let body = page.text().await?;
    let marker = "name=\"csrf\" value=\"";
    let start = body
        .find(marker)
        .ok_or_else(|| anyhow::anyhow!("no CSRF field"))?
        + marker.len();
    Ok((
        cookie,
        body[start..].split('"').next().unwrap_or("").to_string(),
    ))
}

/// The holder's "I'm done": load `/` for the CSRF token, then post the revoke form.
pub async fn revoke_via_web(base: &str, session: &str, grant: i64) -> anyhow::Result<()> {
    let (csrf_cookie, token) = csrf_of(base, "/", session).await?;
    let res = client()
        .post(format!("{base}/grants/{grant}/revoke"))
        .header(
            "Cookie",
            format!("daypass_session={session}; daypass_csrf={csrf_cookie}"),
        )
        .form(&[("csrf", token.as_str()), ("next", "/")])
        .send()
        .await?;
    anyhow::ensure!(
        res.status().as_u16() == 303,
        "web revoke answered {}",
        res.status()
    );
    Ok(())
}

pub fn discord_click(custom_id: &str, user: &str) -> String {
    serde_json::json!({
        "type": 3, "id": format!("{}", rand::random::<u64>()), "application_id": "1", "token": "t", "version": 1,
        "channel_id": "555000000000000001", "data": { "component_type": 2, "custom_id": custom_id },
        "member": { "user": { "id": user, "username": "alice" }, "roles": [], "deaf": false, "mute": false, "flags": 0 }
    })
    .to_string()
}

pub async fn post_signed(
    url: &str,
    body: &str,
    signature: &str,
    timestamp: &str,
) -> anyhow::Result<()> {
    let res = client()
        .post(url)
        .header("content-type", "application/json")
        .header("X-Signature-Ed25519", signature)
        .header("X-Signature-Timestamp", timestamp)
        .body(body.to_string())
        .send()
        .await?;
    anyhow::ensure!(
        res.status().is_success(),
        "Discord interaction answered {}",
        res.status()
    );
    let v: serde_json::Value = res.json().await?;
    anyhow::ensure!(
        v["type"] == 7,
        "Discord interaction did not update the message: {v}"
    );
    Ok(())
}

/// A stand-in Discord API that accepts every message, so the outbox stays quiet.
pub async fn start_fake_discord() -> anyhow::Result<String> {
    use axum::routing::{patch, post};
    let message = |id: &str| {
        axum::Json(serde_json::json!({
            "id": id, "channel_id": "555000000000000001",
            "author": { "id": "9", "username": "daypass", "discriminator": "0000", "avatar": null, "global_name": null },
            "content": "", "timestamp": "2026-11-25T10:00:00.000000+00:00", "edited_timestamp": null, "tts": false,
            "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
            "components": [], "pinned": false, "type": 0
        }))
    };
    let app = axum::Router::new()
        .route(
            "/api/v10/channels/{c}/messages",
            post(move || async move { message("1200000000000000001") }),
        )
        .route(
            "/api/v10/channels/{c}/messages/{m}",
            patch(move || async move { message("1200000000000000001") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// An approved request, its live grant (12 h) and a session for `email`; returns (session, grant id).
pub async fn seed_user(store: &Store, email: &str, now: i64) -> anyhow::Result<(String, i64)> {
    let mut tx = store.begin().await?;
    let request = NewRequest {
        app_slug: "bench",
        policy_name: "everyone on request",
        requester: email,
        justification: "benchmark",
        wished_ms: None,
        max_ms: 86_400_000,
        redirect_to: None,
        created_at: now,
        expires_at: now + 3_600_000,
        client_ip: None,
        extends_grant_id: None,
        approvals_needed: 1,
        next_reminder_at: None,
    };
    let id = Store::insert_request(&mut tx, &request).await?;
    Store::decide_request(
        &mut tx,
        id,
        daypass::store::RequestState::Approved,
        "alice@example.com",
        daypass::store::Via::Email,
        None,
        now,
    )
    .await?;
    let grant = NewGrant {
        request_id: id,
        app_slug: "bench",
        email,
        approved_by: "alice@example.com",
        approved_at: now,
        expires_at: now + 12 * 3_600_000,
        max_ms: 86_400_000,
    };
    let g = Store::insert_grant(&mut tx, &grant).await?;
    let token = daypass::tokens::new_token();
    Store::insert_session(
        &mut tx,
        &daypass::tokens::hash(&token),
        email,
        now,
        now + 12 * 3_600_000,
    )
    .await?;
    tx.commit().await?;
    Ok((token, g.id))
}

/// `grants` live grants (each with its approved request) and `past` decided requests, generated
/// inside SQLite so that a million rows take seconds.
pub async fn seed_big(store: &Store, now: i64, grants: i64, past: i64) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO access_requests (app_slug, policy_name, requester, justification, max_ms, state, created_at, \
         expires_at, decided_at, decided_by, decided_via) \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         SELECT 'bench', 'everyone on request', 'past' || (i % 5000) || '@example.com', 'INC-' || i, 86400000, \
                CASE i % 3 WHEN 0 THEN 'denied' WHEN 1 THEN 'expired' ELSE 'approved' END, \
                ?2 - 86400000 - i * 1000, ?2 - 82800000 - i * 1000, ?2 - 83000000 - i * 1000, 'alice@example.com', 'email' FROM n",
    )
    .bind(past)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO access_requests (app_slug, policy_name, requester, justification, max_ms, state, created_at, \
         expires_at, decided_at, decided_by, decided_via) \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         SELECT 'bench', 'everyone on request', 'user' || i || '@example.com', 'live ' || i, 86400000, 'approved', \
                ?2 - 60000, ?2 + 3600000, ?2 - 30000, 'alice@example.com', 'email' FROM n",
    )
    .bind(grants)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO grants (request_id, app_slug, email, approved_by, approved_at, expires_at, max_ms) \
         SELECT id, app_slug, requester, 'alice@example.com', ?1 - 30000, ?1 + 43200000 - 30000, 86400000 \
         FROM access_requests WHERE requester LIKE 'user%' AND justification LIKE 'live %'",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
