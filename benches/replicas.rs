//! Figures for several replicas on PostgreSQL. Run by `benches/replicas.sh`, which starts a
//! throwaway PostgreSQL cluster, installs wrk and builds daypass in release first; prints:
//!   1. `/auth` on a PostgreSQL-backed replica vs a bare axum handler returning 204, same run
//!      (wrk -t2 -c50 -d10s);
//!   2. revocation propagation to another replica: a holder ends their grant on replica B
//!      (the web form), and replica A is asked `/auth` until it answers 401; p50 and p99 over
//!      200 revokes;
//!   3. decisions per second through the web (approvers' inbox form), on SQLite and on
//!      PostgreSQL: 400 pending requests approved by 8 concurrent clients.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use daypass::store::{NewRequest, Store};

#[allow(dead_code)] // the forward-auth benchmark uses the rest
mod support;
use support::*;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--bare") {
        return bare_server(args.get(pos + 1).and_then(|p| p.parse().ok()).unwrap_or(0));
    }
    if !args.iter().any(|a| a == "--bench") && std::env::var("DAYPASS_BENCH").is_err() {
        // `cargo test --benches` builds and runs this with no `--bench`: do nothing then.
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run())
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_daypass"))
}

/// One config for every replica on `database`.
fn write_config(dir: &Path, database: &str) -> anyhow::Result<PathBuf> {
    let secret = dir.join("secret");
    std::fs::write(&secret, "the-secret-every-replica-shares-0123456789")?;
    let text = format!(
        "[server]\nsecret_file = \"{secret}\"\n[database]\nurl = \"{database}\"\n\
         [email]\ntransport = \"file\"\ndir = \"{dir}/mail\"\n",
        secret = secret.display(),
        dir = dir.display(),
    ) + support::bench_app::APPROVERS_AND_APPS;
    let path = dir.join("daypass.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

async fn start_replica(config: &Path) -> anyhow::Result<(Server, String)> {
    let port = free_port();
    let child = Command::new(binary())
        .args(["--config", &config.display().to_string(), "serve"])
        .env("DAYPASS__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("DAYPASS_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let server = Server { child };
    let base = format!("http://127.0.0.1:{port}");
    wait_http(&format!("{base}/healthz"), Duration::from_secs(60)).await?;
    Ok((server, base))
}

/// A fresh database on the benchmark's PostgreSQL server.
async fn postgres_database(server: &str, name: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&mut admin)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    Ok(format!("{server}/{name}"))
}

async fn open(url: &str) -> anyhow::Result<Store> {
    let store = Store::open(url).await?;
    store.migrate().await?;
    Ok(store)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

async fn run() -> anyhow::Result<()> {
    anyhow::ensure!(
        binary().exists(),
        "build daypass first: cargo build --release (benches/replicas.sh does)"
    );
    let server = std::env::var("DAYPASS_BENCH_POSTGRES").map_err(|_| {
        anyhow::anyhow!("DAYPASS_BENCH_POSTGRES is not set: run benches/replicas.sh")
    })?;
    let server = server.trim_end_matches('/').to_string();
    let only: Vec<String> = std::env::args()
        .skip_while(|a| a != "--only")
        .nth(1)
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let part = |n: &str| only.is_empty() || only.iter().any(|o| o == n);
    println!(
        "daypass replicas benchmark ({} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!();
    let now = chrono::Utc::now().timestamp_millis();

    if part("1") || part("2") {
        let dir = tempfile::tempdir()?;
        let db = postgres_database(&server, "daypass_bench_replicas").await?;
        let config = write_config(dir.path(), &db)?;
        let store = open(&db).await?;
        let (session, _) = seed_user(&store, "bench@example.com", now).await?;
        let mut holders = Vec::new();
        for i in 0..200 {
            holders.push(seed_user(&store, &format!("holder{i}@example.com"), now).await?);
        }
        store.close().await;
        let (a, a_base) = start_replica(&config).await?;
        let (b, b_base) = start_replica(&config).await?;
        let auth_headers = [
            format!("Cookie: daypass_session={session}"),
            "X-Forwarded-Host: bench.test".to_string(),
        ];
        let check = http_status(&format!("{a_base}/auth"), &auth_headers).await?;
        anyhow::ensure!(check == 200, "the bench user's /auth answered {check}");

        if part("1") {
            let (bare, bare_port) = start_bare("--bare").await?;
            let bare_r = wrk(&format!("http://127.0.0.1:{bare_port}/auth"), &auth_headers)?;
            let day_r = wrk(&format!("{a_base}/auth"), &auth_headers)?;
            drop(bare);
            println!("1. /auth on a PostgreSQL-backed replica, wrk -t2 -c50 -d10s, valid session and live grant");
            println!("   bare axum 204  : {bare_r}");
            println!("   daypass /auth  : {day_r}");
            println!(
                "   ratio daypass/bare axum = {:.3} (goal >= 0.9)",
                day_r.rps / bare_r.rps
            );
            println!();
        }

        if part("2") {
            let c = client();
            let mut took = Vec::new();
            for (session, grant) in &holders {
                revoke_via_web(&b_base, session, *grant).await?;
                let done = Instant::now();
                loop {
                    let status = c
                        .get(format!("{a_base}/auth"))
                        .header("Cookie", format!("daypass_session={session}"))
                        .header("X-Forwarded-Host", "bench.test")
                        .send()
                        .await?
                        .status()
                        .as_u16();
                    if status == 401 {
                        break;
                    }
                    anyhow::ensure!(
                        done.elapsed() < Duration::from_secs(5),
                        "replica A still lets grant {grant} through 5 s after the revoke"
                    );
                }
                took.push(done.elapsed().as_secs_f64() * 1e3);
            }
            took.sort_by(f64::total_cmp);
            println!("2. revocation propagation, revoked on replica B, refused on replica A ({} revokes)", took.len());
            println!(
                "   p50 {:.1} ms   p99 {:.1} ms   max {:.1} ms   (goal: p99 <= 1000 ms)",
                percentile(&took, 0.5),
                percentile(&took, 0.99),
                took.last().copied().unwrap_or(f64::NAN)
            );
            println!();
        }
        drop(a);
        drop(b);
    }

    if part("3") {
        println!(
            "3. decisions through the web: 400 pending requests approved by 8 concurrent clients"
        );
        for engine in ["sqlite", "postgres"] {
            let dir = tempfile::tempdir()?;
            let db = match engine {
                "sqlite" => format!("sqlite://{}/daypass.db", dir.path().display()),
                _ => postgres_database(&server, "daypass_bench_decisions").await?,
            };
            let config = write_config(dir.path(), &db)?;
            let store = open(&db).await?;
            let ids = seed_pending(&store, 400, now).await?;
            let alice = seed_session(&store, "alice@example.com", now).await?;
            store.close().await;
            let (server, base) = start_replica(&config).await?;
            let (csrf_cookie, token) = csrf_of(&base, "/approvals", &alice).await?;
            let started = Instant::now();
            let mut clients = Vec::new();
            for chunk in ids.chunks(ids.len().div_ceil(8)) {
                let (chunk, base, alice, csrf_cookie, token) = (
                    chunk.to_vec(),
                    base.clone(),
                    alice.clone(),
                    csrf_cookie.clone(),
                    token.clone(),
                );
                clients.push(tokio::spawn(async move {
                    let c = client();
                    let mut ok = 0;
                    for id in chunk {
                        let res = c
                            .post(format!("{base}/approvals/{id}"))
                            .header(
                                "Cookie",
                                format!("daypass_session={alice}; daypass_csrf={csrf_cookie}"),
                            )
                            .form(&[
                                ("csrf", token.as_str()),
                                ("decision", "approve"),
                                ("duration", "1h"),
                            ])
                            .send()
                            .await?;
                        if res.status().as_u16() == 303 {
                            ok += 1;
                        }
                    }
                    anyhow::Ok(ok)
                }));
            }
            let mut approved = 0;
            for c in clients {
                approved += c.await??;
            }
            let secs = started.elapsed().as_secs_f64();
            anyhow::ensure!(
                approved == ids.len(),
                "only {approved} of {} approved",
                ids.len()
            );
            println!(
                "   {engine:<8}: {:>6.0} decisions/s ({approved} in {secs:.2} s)",
                approved as f64 / secs
            );
            drop(server);
        }
        println!();
    }
    Ok(())
}

/// `n` pending requests for the bench application, each from its own person.
async fn seed_pending(store: &Store, n: usize, now: i64) -> anyhow::Result<Vec<i64>> {
    let mut tx = store.begin().await?;
    let mut ids = Vec::new();
    for i in 0..n {
        let requester = format!("asker{i}@example.com");
        let request = NewRequest {
            app_slug: "bench",
            policy_name: "everyone on request",
            requester: &requester,
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
        ids.push(Store::insert_request(&mut tx, &request).await?);
    }
    tx.commit().await?;
    Ok(ids)
}

async fn seed_session(store: &Store, email: &str, now: i64) -> anyhow::Result<String> {
    let token = daypass::tokens::new_token();
    let mut tx = store.begin().await?;
    Store::insert_session(
        &mut tx,
        &daypass::tokens::hash(&token),
        email,
        now,
        now + 3_600_000,
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}
