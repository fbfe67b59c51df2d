//! The server loop itself: `/auth` answered before the router, everything else routed, and a
//! stop that lets the requests in flight finish, within a grace period.
use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{run_stoppable, TestApp};
use crate::requests::make_request;

#[tokio::test]
async fn head_auth_answers_as_get_does_and_other_methods_are_refused() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let id = make_request(&mut carol, "1h").await;
    app.approve(id, "bob", "1h").await;
    let get = app.auth(&carol, "grafana.test", &[]).await;
    assert_eq!(get.status, StatusCode::OK);

    let cookie = format!("daypass_session={}", carol.cookies["daypass_session"]);
    let proxy_asks = |method: reqwest::Method| {
        reqwest::Client::new()
            .request(method, format!("{}/auth", app.url))
            .header("Cookie", &cookie)
            .header("X-Forwarded-Host", "grafana.test")
            .send()
    };
    let head = proxy_asks(reqwest::Method::HEAD).await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    for name in ["x-daypass-user", "x-daypass-grant-expires", "cache-control"] {
        assert!(get.header(name).is_some(), "GET /auth answers {name}");
        assert_eq!(
            head.headers().get(name).and_then(|v| v.to_str().ok()),
            get.header(name),
            "{name} differs between HEAD and GET"
        );
    }
    assert!(head.headers().get("set-cookie").is_none());

    let post = proxy_asks(reqwest::Method::POST).await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);

    // Only the exact path is `/auth`, as the router matches it: nothing near it lets anyone in.
    for path in ["/auth/", "/authx", "//auth", "/%61uth", "/AUTH"] {
        let res = carol
            .get_with(path, &[("X-Forwarded-Host".into(), "grafana.test".into())])
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert!(res.header("x-daypass-user").is_none(), "{path}");
    }
}

/// Reads until the peer closes the connection; the bytes read.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
        .await
        .expect("the server closed the connection within 10 s")
        .expect("read");
    out
}

/// daypass on a free port with its own stop signal and the given grace period.
struct Stoppable {
    addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    running: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start(grace: Duration) -> Stoppable {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"{db}\"\n[email]\ntransport = \"file\"\ndir = \"{d}/mail\"\n",
        d = dir.path().display(),
        db = crate::helpers::database_url(dir.path()).await,
    );
    let config =
        daypass::config::Config::from_toml(&text, crate::helpers::secret_env(dir.path())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = daypass::app::App::build_with_listener(config, Default::default(), listener)
        .await
        .unwrap()
        .with_shutdown_grace(grace);
    let (stop, running) = run_stoppable(app);
    Stoppable {
        addr,
        stop,
        running,
        _dir: dir,
    }
}

/// Starts a login form post of `body_len` bytes and returns once daypass is reading its body
/// (it has answered `100 Continue`), so the request is surely in flight.
async fn post_in_flight(addr: std::net::SocketAddr, body_len: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: daypass\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {body_len}\r\nExpect: 100-continue\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    while !seen.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut byte))
            .await
            .expect("daypass answers 100 Continue")
            .unwrap();
        assert_eq!(n, 1, "closed before 100 Continue: {seen:?}");
        seen.push(byte[0]);
    }
    assert!(seen.starts_with(b"HTTP/1.1 100"), "{seen:?}");
    stream
}

#[tokio::test]
async fn a_stop_finishes_the_request_in_flight_closes_idle_connections_and_refuses_new_ones() {
    // A long grace: the stop below may end only because the request in flight was answered.
    let daypass = start(Duration::from_secs(60)).await;

    // A keep-alive connection that has finished a request and sits idle.
    let mut idle = TcpStream::connect(daypass.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: daypass\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);

    // A form post whose body has not arrived yet.
    let body = b"email=someone%40example.com&csrf=nope";
    let mut busy = post_in_flight(daypass.addr, body.len()).await;

    daypass.stop.send(()).unwrap();
    // The idle connection is closed without an answer...
    assert!(read_to_close(&mut idle).await.is_empty());
    // ...the listener is gone...
    assert!(
        TcpStream::connect(daypass.addr).await.is_err(),
        "a new connection is refused once daypass is stopping"
    );
    // ...but the stop waits for the post, which still gets its answer.
    assert!(!daypass.running.is_finished());
    busy.write_all(body).await.unwrap();
    let answer = String::from_utf8_lossy(&read_to_close(&mut busy).await).to_string();
    assert!(
        answer.starts_with("HTTP/1.1 403"),
        "the form without a valid CSRF token is answered, not dropped: {answer}"
    );
    assert!(answer.contains("connection: close"), "{answer}");
    tokio::time::timeout(Duration::from_secs(3), daypass.running)
        .await
        .expect("daypass stops soon after the last request is answered, not at the grace's end")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_request_that_never_finishes_holds_a_stop_only_for_the_grace_period() {
    let daypass = start(Duration::from_secs(1)).await;
    // Headers promise a body that never comes.
    let mut stalled = post_in_flight(daypass.addr, 100).await;
    stalled.write_all(b"email=").await.unwrap();

    let started = std::time::Instant::now();
    daypass.stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), daypass.running)
        .await
        .expect("daypass stops after the grace period, not when the stalled client pleases")
        .unwrap()
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the stop waited the grace period for the request in flight"
    );
    // The stalled connection was closed, not left open.
    assert!(read_to_close(&mut stalled).await.is_empty());
}
