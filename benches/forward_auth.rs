//! The `/auth` hot path, measured against what it stands in front of. Run by `benches/auth.sh`
//! (which installs wrk and nginx and builds daypass in release first); prints five figures:
//!   1. daypass `/auth` vs a bare axum handler returning 204, same load (wrk -t2 -c50 -d10s);
//!   2. nginx → daypass `/auth` vs nginx → that bare handler (auth_request, one nginx worker);
//!   3. p95 latency at a fixed 1,000 req/s for 10 s, and the share of 2xx answers;
//!   4. (1) again with 100,000 live grants and 1,000,000 past requests in the database, and RSS;
//!   5. revocation latency under load: through the web, Discord's handler, and the CLI.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use daypass::store::Store;
use ed25519_dalek::{Signer, SigningKey};

mod support;
use support::*;

const SEED: [u8; 32] = [3; 32];
const USER: &str = "bench@example.com";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--bare") {
        return bare_server(args.get(pos + 1).and_then(|p| p.parse().ok()).unwrap_or(0));
    }
    if let Some(pos) = args.iter().position(|a| a == "--bare-hyper") {
        return bare_hyper_server(args.get(pos + 1).and_then(|p| p.parse().ok()).unwrap_or(0));
    }
    if !args.iter().any(|a| a == "--bench") && std::env::var("DAYPASS_BENCH").is_err() {
        // `cargo test --benches` builds and runs this with no `--bench`: do nothing then.
        return Ok(());
    }
    // Two workers, so answers are read while the sender sleeps until the next send.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run())
}

/// For reference: a bare handler on the HTTP/1 server daypass itself uses (hyper's), so the
/// cost of daypass's own work shows apart from the choice of server.
fn bare_hyper_server(port: u16) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        loop {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_req| async {
                    let mut res = axum::response::Response::new(axum::body::Body::empty());
                    *res.status_mut() = axum::http::StatusCode::NO_CONTENT;
                    Ok::<_, std::convert::Infallible>(res)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                    .await;
            });
        }
    })
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_daypass"))
}

fn config_text(dir: &Path, port: u16, discord_api: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
[database]
url = "sqlite://{dir}/daypass.db"
[email]
transport = "file"
dir = "{dir}/mail"
[discord]
enabled = true
public_key = "{key}"
channel_id = "555000000000000001"
api_base = "{discord_api}"
token_env = "DAYPASS_BENCH_UNSET"
token_file = "{dir}/discord-token"
"#,
        dir = dir.display(),
        key = hex::encode(SigningKey::from_bytes(&SEED).verifying_key().to_bytes()),
    ) + support::bench_app::APPROVERS_AND_APPS
}

async fn start_daypass(dir: &Path, port: u16) -> anyhow::Result<Server> {
    let child = Command::new(binary())
        .args([
            "--config",
            &dir.join("daypass.toml").display().to_string(),
            "serve",
        ])
        .env("DAYPASS_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let d = Server { child };
    wait_http(
        &format!("http://127.0.0.1:{port}/healthz"),
        Duration::from_secs(120),
    )
    .await?;
    Ok(d)
}

async fn run() -> anyhow::Result<()> {
    anyhow::ensure!(
        binary().exists(),
        "build daypass first: cargo build --release (benches/auth.sh does)"
    );
    let dir = tempfile::tempdir()?;
    let fake_discord = start_fake_discord().await?;
    std::fs::write(dir.path().join("discord-token"), "bench-token")?;
    let port = free_port();
    std::fs::write(
        dir.path().join("daypass.toml"),
        config_text(dir.path(), port, &fake_discord),
    )?;
    let config = daypass::config::Config::load(&dir.path().join("daypass.toml"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = Store::open(&config.database.url).await?;
    store.migrate().await?;
    let now = chrono::Utc::now().timestamp_millis();
    let (session, _) = seed_user(&store, USER, now).await?;
    let mut revokers: Vec<(String, i64, String)> = Vec::new();
    for who in ["web", "discord", "cli"] {
        let email = format!("revoke-{who}@example.com");
        let (s, grant) = seed_user(&store, &email, now).await?;
        revokers.push((s, grant, email));
    }
    store.close().await;

    let (bare, bare_port) = start_bare("--bare").await?;
    let (bare_hyper, hyper_port) = start_bare("--bare-hyper").await?;

    let daypass = start_daypass(dir.path(), port).await?;
    let auth_headers = [
        format!("Cookie: daypass_session={session}"),
        "X-Forwarded-Host: bench.test".to_string(),
    ];
    let check = http_status(&format!("http://127.0.0.1:{port}/auth"), &auth_headers).await?;
    anyhow::ensure!(
        check == 200,
        "the bench user's /auth answered {check}, not 200"
    );

    // `-- --only 1,3` runs just those parts (quicker when working on one of them).
    let only: Vec<String> = std::env::args()
        .skip_while(|a| a != "--only")
        .nth(1)
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let part = |n: &str| only.is_empty() || only.iter().any(|o| o == n);
    println!(
        "daypass forward-auth benchmark ({} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!();
    // 1. daypass vs a bare handler (part 4 compares with it, so it always runs).
    let bare_r = wrk(&format!("http://127.0.0.1:{bare_port}/auth"), &auth_headers)?;
    let day_r = wrk(&format!("http://127.0.0.1:{port}/auth"), &auth_headers)?;
    let hyper_r = wrk(
        &format!("http://127.0.0.1:{hyper_port}/auth"),
        &auth_headers,
    )?;
    drop(bare_hyper);
    println!("1. /auth, wrk -t2 -c50 -d10s, valid session and live grant");
    println!("   bare axum 204  : {bare_r}");
    println!("   daypass /auth  : {day_r}");
    println!("   bare hyper 204 : {hyper_r}");
    println!(
        "   ratio daypass/bare axum = {:.3} (goal >= 0.9)",
        day_r.rps / bare_r.rps
    );
    println!(
        "   for reference, daypass/bare hyper = {:.3} (hyper's HTTP/1 server is daypass's own)",
        day_r.rps / hyper_r.rps
    );
    println!();

    if part("2") {
        // nginx's Host is the application's, as a browser would send it.
        let nginx = Nginx::start(dir.path(), port, bare_port)?;
        let via_nginx = [auth_headers[0].clone(), "Host: bench.test".to_string()];
        let via_bare = wrk(
            &format!("http://127.0.0.1:{}/", nginx.bare_port),
            &via_nginx,
        )?;
        let via_day = wrk(
            &format!("http://127.0.0.1:{}/", nginx.daypass_port),
            &via_nginx,
        )?;
        println!("2. nginx auth_request (1 worker), wrk -t2 -c50 -d10s");
        println!("   nginx -> bare 204    : {via_bare}");
        println!("   nginx -> daypass     : {via_day}");
        println!(
            "   ratio = {:.3} (goal >= 0.95)",
            via_day.rps / via_bare.rps
        );
        drop(nginx);
        println!();
    }

    if part("3") {
        let fixed = fixed_rate(
            &format!("http://127.0.0.1:{port}/auth"),
            &session,
            1000,
            Duration::from_secs(10),
        )
        .await?;
        println!("3. fixed 1,000 req/s for 10 s: {fixed}");
        println!("   goal: p95 <= 1 ms, 100% 2xx");
        println!();
    }

    if part("5") {
        // 5. Revocation under load (before the big seed, on the same server).
        println!(
            "5. revocation latency under load (time from the revoke's completion to the first 401)"
        );
        let base = format!("http://127.0.0.1:{port}");
        for (i, (s, grant, email)) in revokers.iter().enumerate() {
            let how = ["web", "discord", "cli"][i];
            let outcome = revocation(&base, s, how, || {
                let base = base.clone();
                let s = s.clone();
                let dir = dir.path().to_path_buf();
                let key = SigningKey::from_bytes(&SEED);
                let grant = *grant;
                async move {
                    match how {
                        "web" => revoke_via_web(&base, &s, grant).await,
                        "discord" => {
                            let body = discord_click(&format!("daypass:revoke:{grant}"), "1001");
                            let ts = (chrono::Utc::now().timestamp()).to_string();
                            let sig = hex::encode(
                                key.sign(&[ts.as_bytes(), body.as_bytes()].concat())
                                    .to_bytes(),
                            );
                            post_signed(&format!("{base}/discord/interactions"), &body, &sig, &ts)
                                .await
                        }
                        _ => {
                            let out = Command::new(binary())
                                .args([
                                    "--config",
                                    &dir.join("daypass.toml").display().to_string(),
                                    "grants",
                                    "revoke",
                                    &grant.to_string(),
                                ])
                                .env("DAYPASS_LOG_LEVEL", "warn")
                                .output()?;
                            anyhow::ensure!(
                                out.status.success(),
                                "CLI revoke failed: {}",
                                String::from_utf8_lossy(&out.stderr)
                            );
                            Ok(())
                        }
                    }
                }
            })
            .await?;
            println!("   {how:<8} ({email}): {outcome}");
        }
        println!(
            "   goal: the next request after the revoke commits (web, Discord); under 1 s (CLI)"
        );
        println!();
    }
    drop(daypass);

    if part("4") {
        let started = Instant::now();
        let store = Store::open(&config.database.url).await?;
        seed_big(&store, now, 100_000, 1_000_000).await?;
        store.close().await;
        let seeded = started.elapsed();
        let daypass = start_daypass(dir.path(), port).await?;
        let rss_idle = rss_kib(daypass.child.id());
        let big = wrk(&format!("http://127.0.0.1:{port}/auth"), &auth_headers)?;
        let rss_loaded = rss_kib(daypass.child.id());
        println!(
            "4. as (1) with 100,000 live grants and 1,000,000 past requests (seeded in {:.1} s)",
            seeded.as_secs_f64()
        );
        println!("   daypass /auth : {big}");
        println!(
            "   vs (1): {:+.1}% (goal within 10%)",
            (big.rps / day_r.rps - 1.0) * 100.0
        );
        println!(
            "   daypass resident memory: {:.1} MiB after start, {:.1} MiB after the load",
            rss_idle as f64 / 1024.0,
            rss_loaded as f64 / 1024.0
        );
        drop(daypass);
    }
    drop(bare);
    Ok(())
}
