//! The shipped nginx and Caddy configs, run for real in front of a small upstream.
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::procs::{self, free_port, Proc};

/// An application that says who daypass told it the user is and which cookies reached it,
/// and counts its hits.
async fn upstream() -> (u16, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().fallback(get(move |headers: HeaderMap| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_string()
            };
            format!(
                "upstream saw user={} cookie={}",
                header("x-daypass-user"),
                header("cookie")
            )
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, hits)
}

/// The shipped `config/proxies/nginx.conf`, pointed at this test's ports.
async fn start_nginx(app: &TestApp, upstream: u16) -> (Proc, u16) {
    let port = free_port();
    let daypass_port = app.url.rsplit(':').next().unwrap();
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/proxies/nginx.conf"
    ))
    .unwrap();
    let servers = shipped
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{daypass_port}"))
        .replace("127.0.0.1:3000", &format!("127.0.0.1:{upstream}"))
        .replace("grafana.example.com", "grafana.test");
    let nginx = procs::start_nginx(&app.dir.path().join("nginx"), &servers, port).await;
    (nginx, port)
}

/// The shipped `config/proxies/Caddyfile`, pointed at this test's ports.
async fn start_caddy(app: &TestApp, upstream: u16) -> (Proc, u16) {
    let port = free_port();
    let daypass_port = app.url.rsplit(':').next().unwrap();
    let dir = app.dir.path().join("caddy");
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/proxies/Caddyfile"
    ))
    .unwrap();
    let sites = shipped
        .replace(
            "grafana.example.com {",
            &format!("http://grafana.test:{port} {{"),
        )
        .replace(
            "daypass.example.com {",
            &format!("http://daypass.test:{port} {{"),
        )
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{daypass_port}"))
        .replace("127.0.0.1:3000", &format!("127.0.0.1:{upstream}"));
    let conf = format!(
        "{{\n\tadmin off\n\tauto_https off\n\tstorage file_system {}/data\n}}\n\n{sites}",
        dir.display()
    );
    std::fs::write(dir.join("Caddyfile"), conf).unwrap();
    let mut caddy = Proc::spawn(
        "caddy",
        Command::new(procs::tool("caddy"))
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(dir.join("Caddyfile"))
            .env("HOME", &dir)
            .env("XDG_DATA_HOME", dir.join("xdg-data"))
            .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    caddy.wait_for_port(port, Duration::from_secs(15)).await;
    (caddy, port)
}

struct Proxied {
    client: reqwest::Client,
    base: String,
    host: String,
}

impl Proxied {
    fn new(port: u16, host: &str) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            client,
            base: format!("http://127.0.0.1:{port}"),
            host: host.to_string(),
        }
    }

    /// A browser-style GET of `path` through the proxy.
    async fn get(
        &self,
        path: &str,
        session: Option<&str>,
        extra: &[(&str, &str)],
    ) -> (StatusCode, String, String) {
        let mut req = self
            .client
            .get(format!("{}{path}", self.base))
            .header("Host", &self.host)
            .header("Accept", "text/html");
        if let Some(s) = session {
            // The application's own cookie beside daypass's: only the first may reach it.
            req = req.header(
                "Cookie",
                format!("theme=dark; daypass_session={s}; daypass_csrf=abc123"),
            );
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, location, res.text().await.unwrap_or_default())
    }
}

async fn journey_through(app: &TestApp, proxy: Proxied, hits: Arc<AtomicUsize>, scheme_host: &str) {
    let carol = app.email("carol");
    let browser = app.signed_in(&carol).await;
    let session = browser.cookies["daypass_session"].clone();

    // Not signed in: sent to daypass's request page, with the original URL (query and all) as rd.
    let (status, location, _) = proxy.get("/d/abc?from=now-1h&to=now", None, &[]).await;
    assert_eq!(status, StatusCode::FOUND);
    let rd = url::form_urlencoded::byte_serialize(
        format!("{scheme_host}/d/abc?from=now-1h&to=now").as_bytes(),
    )
    .collect::<String>();
    assert_eq!(location, format!("{}/request/grafana?rd={rd}", app.url));
    // Signed in, but no grant yet: the same.
    let (status, location, _) = proxy.get("/", Some(&session), &[]).await;
    assert_eq!(status, StatusCode::FOUND);
    assert!(location.contains("/request/grafana?rd="));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the application was never reached"
    );

    // With a live grant the request reaches the application, which learns who it is,
    // whatever the client claims.
    let id = crate::discord::DiscordTest::request_as(app, &carol).await;
    let decided = app.approve(id, "alice", "1h").await;
    let (status, _, body) = proxy
        .get(
            "/d/abc",
            Some(&session),
            &[("X-Daypass-User", "sre@example.com")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        format!("upstream saw user={carol} cookie=theme=dark"),
        "the application gets its own cookie and never daypass's"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // With nothing but daypass's own cookies, the application gets no cookie at all.
    let (status, _, body) = proxy
        .get(
            "/d/abc",
            None,
            &[("Cookie", &format!("daypass_session={session}"))],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.ends_with("cookie=-") || body.ends_with("cookie="),
        "{body}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // Revoked from the web ("I'm done"): the very next request is refused.
    let mut browser = browser;
    let res = browser
        .submit(
            "/",
            &format!("/grants/{}/revoke", decided.grant.unwrap().id),
            &[("next", "/")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let (status, _, _) = proxy.get("/d/abc", Some(&session), &[]).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // A deny policy: 403 through the proxy.
    let blocked = app
        .signed_in(&format!("mallory-{}@blocked.example", app.tag))
        .await;
    let (status, _, _) = proxy
        .get("/", Some(&blocked.cookies["daypass_session"]), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn nginx_auth_request_sends_strangers_to_daypass_and_lets_grant_holders_through() {
    let app = TestApp::spawn().await;
    let (upstream, hits) = upstream().await;
    let (_nginx, port) = start_nginx(&app, upstream).await;
    journey_through(
        &app,
        Proxied::new(port, "grafana.test"),
        hits,
        "http://grafana.test",
    )
    .await;
}

#[tokio::test]
async fn caddy_forward_auth_sends_strangers_to_daypass_and_lets_grant_holders_through() {
    let app = TestApp::spawn().await;
    let (upstream, hits) = upstream().await;
    let (_caddy, port) = start_caddy(&app, upstream).await;
    let host = format!("grafana.test:{port}");
    journey_through(
        &app,
        Proxied::new(port, &host),
        hits,
        &format!("http://{host}"),
    )
    .await;
}
