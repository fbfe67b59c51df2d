//! The compose demo as a newcomer runs it, without Docker: Caddy with the shipped
//! `config/compose/Caddyfile`, `daypass serve` with the shipped `config/compose/daypass.toml`,
//! maildev for mail, and an upstream that records the headers it receives, walked by headless
//! Chromium and Firefox through the README's steps; and the README's URLs and the cookie_domain
//! refusal for this demo's config.
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::response::Html;
use axum::Router;
use fantoccini::Client;
use tokio::process::Command;

use crate::browser::{browser, chromedriver, click, fill, shot, text, wait_for_text, Driver};
use crate::daypass_process::DaypassProcess;
use crate::firefox::{firefox, geckodriver, GeckoDriver};
use crate::helpers::{new_tag, review_path};
use crate::maildev;
use crate::procs::{free_port, Proc};

fn repo(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `text` with `from` replaced by `to`, which must be there.
fn rewrite(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the shipped file has no {from:?}");
    text.replace(from, to)
}

/// The demo application: answers every request with the headers it received, as whoami does,
/// and keeps them.
struct Upstream {
    port: u16,
    seen: Arc<Mutex<Vec<HeaderMap>>>,
}

async fn upstream() -> Upstream {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    let app = Router::new().fallback(move |headers: HeaderMap| {
        let keep = keep.clone();
        async move {
            let mut lines: Vec<String> = headers
                .iter()
                .map(|(k, v)| format!("{}: {}", k, v.to_str().unwrap_or("?")))
                .collect();
            lines.sort();
            keep.lock().unwrap().push(headers);
            let escaped = lines
                .join("\n")
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            Html(format!(
                "<!doctype html><title>Demo app</title><h1>Demo app</h1><pre>{escaped}</pre>"
            ))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Upstream { port, seen }
}

/// Caddy with the shipped compose Caddyfile: the upstreams (`daypass:8080`, `whoami:80`)
/// rewritten to loopback, the listen port 8000 to a free one, and the admin endpoint (a fixed
/// port on the host, private inside a container) off.
async fn start_caddy(dir: &Path, port: u16, daypass: u16, app: u16) -> Proc {
    let shipped = repo("config/compose/Caddyfile");
    let conf = rewrite(&shipped, "daypass:8080", &format!("127.0.0.1:{daypass}"));
    let conf = rewrite(&conf, "whoami:80", &format!("127.0.0.1:{app}"));
    run_caddy(dir, &conf, port).await
}

/// Caddy with `conf` (a shipped Caddyfile with its upstreams rewritten), on `port`.
async fn run_caddy(dir: &Path, conf: &str, port: u16) -> Proc {
    let conf = rewrite(conf, ":8000 {", &format!(":{port} {{"));
    let conf = rewrite(
        &conf,
        "\tauto_https off\n",
        "\tauto_https off\n\tadmin off\n",
    );
    let file = dir.join("Caddyfile");
    std::fs::write(&file, conf).unwrap();
    let mut caddy = Proc::spawn(
        "caddy (scripts/test.sh installs it: apt-get install caddy)",
        std::process::Command::new("/usr/bin/caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&file)
            .env("HOME", dir)
            .env("XDG_DATA_HOME", dir.join("xdg-data"))
            .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    caddy.wait_for_port(port, Duration::from_secs(15)).await;
    caddy
}

/// The newest login code mailed to `email` after its first `before` mails.
async fn code_for(email: &str, before: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mails = maildev::shared().to(email).await;
        if let Some(m) = mails
            .iter()
            .skip(before)
            .rev()
            .find(|m| m.subject.starts_with("Your daypass code: "))
        {
            return m.subject.trim_start_matches("Your daypass code: ").into();
        }
        assert!(Instant::now() < deadline, "no login code mail to {email}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Signs in on daypass's sign-in page with the emailed code.
async fn sign_in(c: &Client, email: &str, shots: &str) {
    let before = maildev::shared().to(email).await.len();
    wait_for_text(c, "We will email you", Duration::from_secs(10)).await;
    fill(c, "input[name=email]", email).await;
    shot(c, &format!("{shots}-sign-in")).await;
    click(c, "form[action='/login'] button[type=submit]").await;
    wait_for_text(c, "Enter the six-digit code", Duration::from_secs(10)).await;
    assert!(
        text(c).await.contains(email),
        "the code page names the address the code went to"
    );
    shot(c, &format!("{shots}-code")).await;
    let code = code_for(email, before).await;
    fill(c, "input[name=code]", &code).await;
    click(c, "form[action='/login/verify'] button[type=submit]").await;
}

async fn host_of(c: &Client) -> String {
    let url = c.current_url().await.unwrap();
    format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port().unwrap_or(80)
    )
}

/// Waits for the browser to be on `host` with `needle` on the page; `reload` re-opens `url`
/// every half second meanwhile.
async fn wait_on(c: &Client, host: &str, needle: &str, reload: Option<&str>, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        if host_of(c).await == host && text(c).await.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never on {host} saying {needle:?}; at {} saying: {}",
            c.current_url().await.unwrap(),
            text(c).await
        );
        match reload {
            Some(url) => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                c.goto(url).await.unwrap();
            }
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The shipped compose config for a demo on `port`, and the `DAYPASS__…` overrides that point
/// it at this test's database and maildev.
async fn compose_config(dir: &Path, port: u16) -> (PathBuf, Vec<(String, String)>) {
    let shipped = repo("config/compose/daypass.toml");
    let path = dir.join("daypass.toml");
    std::fs::write(&path, rewrite(&shipped, ":8000", &format!(":{port}"))).unwrap();
    let env = vec![
        (
            "DAYPASS__DATABASE__URL".to_string(),
            crate::helpers::database_url(dir).await,
        ),
        ("DAYPASS__EMAIL__HOST".to_string(), "127.0.0.1".to_string()),
        (
            "DAYPASS__EMAIL__PORT".to_string(),
            maildev::shared().smtp_port.to_string(),
        ),
    ];
    let mut env = env;
    env.extend(crate::helpers::secret_env(dir));
    (path, env)
}

/// Runs the `daypass` binary (without blocking the servers this test runs in-process).
async fn cli(config: &Path, env: &[(String, String)], args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_daypass"))
        .arg("--config")
        .arg(config)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run the daypass binary")
}

/// The browsers a walk uses: Chromium sessions share one chromedriver, each Firefox session
/// has a geckodriver of its own (it serves one session at a time).
enum Drivers {
    Chromium(Driver),
    Firefox(Vec<GeckoDriver>),
}

impl Drivers {
    async fn session(&mut self) -> Client {
        match self {
            Drivers::Chromium(driver) => browser(driver, 1024, true).await,
            Drivers::Firefox(drivers) => {
                let driver = geckodriver().await;
                let client = firefox(&driver).await;
                drivers.push(driver);
                client
            }
        }
    }
}

/// One walk at a time: both sign alice@example.com in, and a code must not go to the other.
static ONE_WALK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn the_compose_demo_works_in_chromium_through_caddy_from_sign_in_to_revoke() {
    walk(Drivers::Chromium(chromedriver().await), "compose").await;
}

#[tokio::test]
async fn the_compose_demo_works_in_firefox_through_caddy_from_sign_in_to_revoke() {
    walk(Drivers::Firefox(Vec::new()), "compose-firefox").await;
}

/// The README's five steps, then a revoke from the command line, in the browsers of `drivers`;
/// screenshots are named after `shots`.
async fn walk(mut drivers: Drivers, shots: &str) {
    let _one = ONE_WALK.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let app = upstream().await;
    let (config, env) = compose_config(dir.path(), port).await;
    let daypass = DaypassProcess::start(&config, &env).await;
    let _caddy = start_caddy(dir.path(), port, daypass.port, app.port).await;
    let app_url = format!("http://app.demo.localhost:{port}/");
    let app_host = format!("app.demo.localhost:{port}");
    let daypass_host = format!("daypass.demo.localhost:{port}");
    let carol = format!("carol-{}@example.com", new_tag());
    let alice = "alice@example.com";

    // 1. The app sends a stranger to daypass, which asks them to sign in.
    let requester = drivers.session().await;
    requester.goto(&app_url).await.unwrap();
    wait_on(
        &requester,
        &daypass_host,
        "We will email you",
        None,
        Duration::from_secs(10),
    )
    .await;
    shot(&requester, &format!("{shots}-01-sent-to-daypass")).await;

    // 2. Sign in with the mailed code; the browser keeps the cookie for demo.localhost.
    sign_in(&requester, &carol, &format!("{shots}-02-requester")).await;
    wait_for_text(
        &requester,
        "Why do you need the demo app?",
        Duration::from_secs(10),
    )
    .await;
    shot(&requester, &format!("{shots}-03-request-form")).await;

    // 3. Ask; the approver signs in from the mailed link and approves for a couple of minutes.
    fill(
        &requester,
        "textarea[name=justification]",
        "Trying the demo",
    )
    .await;
    click(
        &requester,
        "form[action='/request/demo'] button[type=submit]",
    )
    .await;
    wait_for_text(
        &requester,
        "Waiting for an approver",
        Duration::from_secs(10),
    )
    .await;
    shot(&requester, &format!("{shots}-04-waiting")).await;
    let mail = maildev::shared()
        .wait_for_text(alice, "Access request", &carol)
        .await;
    let approver = drivers.session().await;
    approver
        .goto(&format!("http://{daypass_host}{}", review_path(&mail)))
        .await
        .unwrap();
    sign_in(&approver, alice, &format!("{shots}-05-approver")).await;
    wait_for_text(&approver, "Trying the demo", Duration::from_secs(10)).await;
    shot(&approver, &format!("{shots}-06-review")).await;
    fill(&approver, "input[name=duration]", "2m").await;
    click(&approver, "button[value=approve]").await;
    wait_for_text(&approver, "Approved by", Duration::from_secs(10)).await;
    shot(&approver, &format!("{shots}-07-approved")).await;

    // 4. The requester's page follows by itself, on to the app, which sees X-Daypass-User.
    let user_line = format!("x-daypass-user: {carol}");
    wait_on(
        &requester,
        &app_host,
        &user_line,
        None,
        Duration::from_secs(15),
    )
    .await;
    shot(&requester, &format!("{shots}-08-app")).await;
    {
        let seen = app.seen.lock().unwrap();
        let last = seen.last().expect("the app was reached");
        assert_eq!(
            last.get("x-daypass-user").and_then(|v| v.to_str().ok()),
            Some(carol.as_str())
        );
        assert!(last.get("x-daypass-grant-expires").is_some(), "{last:?}");
        let cookies = last
            .get("cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            !cookies.contains("daypass_"),
            "the app never sees daypass's cookies: {cookies}"
        );
    }

    // 5. An admin revokes the grant from the command line; the next visit goes back to daypass,
    // whose request page says the access ended.
    let out = cli(&config, &env, &["grants", "list", "--active"]).await;
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    let grant_id = listing
        .lines()
        .find(|l| l.contains(&carol))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("carol's grant is listed: {listing}"))
        .to_string();
    let out = cli(&config, &env, &["grants", "revoke", &grant_id]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits = app.seen.lock().unwrap().len();
    wait_on(
        &requester,
        &daypass_host,
        "access ended",
        Some(&app_url),
        Duration::from_secs(10),
    )
    .await;
    shot(&requester, &format!("{shots}-09-after-revoke")).await;
    assert!(
        app.seen.lock().unwrap().len() <= hits + 1,
        "at most the visit in flight during the revoke reached the app"
    );

    let _ = requester.close().await;
    let _ = approver.close().await;
}

#[test]
fn the_readme_names_the_demo_urls_the_compose_files_serve() {
    let readme = repo("README.md");
    let caddyfile = repo("config/compose/Caddyfile");
    let toml: toml::Value = toml::from_str(&repo("config/compose/daypass.toml")).unwrap();
    let public_url = toml["server"]["public_url"].as_str().unwrap();
    let app_host = toml["applications"][0]["host"].as_str().unwrap();
    for url in [public_url.to_string(), format!("http://{app_host}")] {
        assert!(
            caddyfile.contains(&format!("{url} {{")),
            "Caddy serves {url}"
        );
        assert!(readme.contains(&url), "the README names {url}");
    }
    let cookie_domain = toml["server"]["cookie_domain"].as_str().unwrap();
    assert_eq!(cookie_domain, "demo.localhost");
    assert!(readme.contains("cookie_domain"));
}

#[tokio::test]
async fn check_config_and_serve_refuse_a_cookie_domain_browsers_reject() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/compose/daypass.toml");
    let run = |command: &'static str, cookie_domain: &'static str| {
        let config = config.clone();
        async move {
            let child = Command::new(env!("CARGO_BIN_EXE_daypass"))
                .arg("--config")
                .arg(&config)
                .arg(command)
                .env("DAYPASS__SERVER__COOKIE_DOMAIN", cookie_domain)
                .env("DAYPASS__SERVER__LISTEN", "127.0.0.1:0")
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output();
            tokio::time::timeout(Duration::from_secs(20), child)
                .await
                .unwrap_or_else(|_| panic!("{command} did not stop by itself"))
                .unwrap()
        }
    };
    for command in ["check-config", "serve"] {
        let out = run(command, "localhost").await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        assert!(
            stderr.contains("server.cookie_domain"),
            "{command}: {stderr}"
        );
        assert!(
            stderr.contains("`demo.localhost` would work"),
            "{command}: {stderr}"
        );
    }
    // Unset, it is valid, but check-config notes that the app's host will not get the cookie.
    let out = run("check-config", "").await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("app.demo.localhost (applications[0].host)")
            && stderr.contains("`demo.localhost` would work"),
        "{stderr}"
    );
}

/// `docker compose --profile replicas`: the shipped Caddyfile-replicas in front of two
/// `daypass serve` replicas with the shipped compose config on one PostgreSQL database. A grant
/// holder goes on reaching the app while one replica is killed.
#[tokio::test]
async fn the_replicas_profile_keeps_the_app_open_through_caddy_when_a_replica_dies() {
    let compose: serde_yaml::Value = serde_yaml::from_str(&repo("docker-compose.yml")).unwrap();
    let services = &compose["services"];
    for name in ["postgres", "daypass-a", "daypass-b", "caddy-replicas"] {
        assert_eq!(services[name]["profiles"][0], "replicas", "{name}");
    }
    let (a_env, b_env) = (
        &services["daypass-a"]["environment"],
        &services["daypass-b"]["environment"],
    );
    assert_eq!(
        a_env, b_env,
        "both replicas have the same database and secret"
    );
    assert!(a_env["DAYPASS__DATABASE__URL"]
        .as_str()
        .unwrap()
        .starts_with("postgres://"));

    let tag = new_tag();
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::postgres_database(&format!("compose-replicas-{tag}")).await;
    let port = free_port();
    let (config, mut env) = compose_config(dir.path(), port).await;
    std::fs::write(
        dir.path().join("shared"),
        format!("{tag}-one-secret-for-both-replicas"),
    )
    .unwrap();
    env.retain(|(k, _)| k != "DAYPASS__DATABASE__URL" && k != "DAYPASS__SERVER__SECRET_FILE");
    env.push(("DAYPASS__DATABASE__URL".into(), db.clone()));
    env.push((
        "DAYPASS__SERVER__SECRET_FILE".into(),
        dir.path().join("shared").display().to_string(),
    ));
    env.retain(|(k, _)| k != "DAYPASS__SERVER__LISTEN");
    let (mut a, b) = tokio::join!(
        DaypassProcess::start(&config, &env),
        DaypassProcess::start(&config, &env)
    );
    let app = upstream().await;
    let conf = rewrite(
        &repo("config/compose/Caddyfile-replicas"),
        "daypass-a:8080 daypass-b:8080 {\n\t\turi",
        &format!("127.0.0.1:{} 127.0.0.1:{} {{\n\t\turi", a.port, b.port),
    );
    let conf = rewrite(
        &conf,
        "reverse_proxy daypass-a:8080 daypass-b:8080",
        &format!("reverse_proxy 127.0.0.1:{} 127.0.0.1:{}", a.port, b.port),
    );
    let conf = rewrite(&conf, "whoami:80", &format!("127.0.0.1:{}", app.port));
    let _caddy = run_caddy(dir.path(), &conf, port).await;

    // carol holds a grant, approved by alice on replica A.
    let store = daypass::store::Store::open(&db).await.unwrap();
    let now = daypass::clock::Clock::default().now_ms();
    let mut tx = store.begin().await.unwrap();
    let mut sessions = Vec::new();
    for who in ["carol", "alice"] {
        let token = daypass::tokens::new_token();
        let email = if who == "alice" {
            "alice@example.com".to_string()
        } else {
            format!("carol-{tag}@example.com")
        };
        daypass::store::Store::insert_session(
            &mut tx,
            &daypass::tokens::hash(&token),
            &email,
            now,
            now + 3_600_000,
        )
        .await
        .unwrap();
        sessions.push(token);
    }
    tx.commit().await.unwrap();
    store.close().await;
    let (carol, alice) = (sessions[0].clone(), sessions[1].clone());
    let mut on_a = crate::helpers::Browser::new(&a.url());
    on_a.cookies.insert("daypass_session".into(), carol.clone());
    let id = crate::requests::request_for(&mut on_a, "demo", "check the demo", "1h").await;
    let mut alice_on_a = crate::helpers::Browser::new(&a.url());
    alice_on_a.cookies.insert("daypass_session".into(), alice);
    let res = alice_on_a
        .submit(
            "/approvals",
            &format!("/approvals/{id}"),
            &[("decision", "approve"), ("duration", "1h")],
        )
        .await;
    assert_eq!(res.status, reqwest::StatusCode::SEE_OTHER, "{}", res.body);

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let open = || {
        client
            .get(format!("http://127.0.0.1:{port}/"))
            .header("Host", format!("app.demo.localhost:{port}"))
            .header("Cookie", format!("daypass_session={carol}"))
            .send()
    };
    for _ in 0..10 {
        assert_eq!(open().await.unwrap().status(), reqwest::StatusCode::OK);
    }
    a.kill();
    for _ in 0..20 {
        assert_eq!(
            open().await.unwrap().status(),
            reqwest::StatusCode::OK,
            "Caddy goes on through replica B"
        );
    }
    drop(b);
}
