//! The server loop itself: `/auth` answered before the router, everything else routed, and a
//! stop that lets the request in flight finish.
use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;
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
        assert_eq!(
            head.headers().get(name).and_then(|v| v.to_str().ok()),
            get.header(name),
            "{name} differs between HEAD and GET"
        );
    }
    assert!(head.headers().get("set-cookie").is_none());

    let post = proxy_asks(reqwest::Method::POST).await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
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

#[tokio::test]
async fn a_stop_finishes_the_request_in_flight_closes_idle_connections_and_refuses_new_ones() {
    let app = TestApp::spawn().await;
    let addr = app.url.trim_start_matches("http://").to_string();

    // A keep-alive connection that has finished a request and sits idle.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: daypass\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);

    // A form post whose body has not all arrived yet.
    let body = b"email=someone%40example.com&csrf=nope";
    let mut busy = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: daypass\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    busy.write_all(head.as_bytes()).await.unwrap();
    busy.write_all(&body[..10]).await.unwrap();

    let stopping = tokio::spawn(app.stop());
    // The idle connection is closed without an answer...
    assert!(read_to_close(&mut idle).await.is_empty());
    // ...the listener is gone...
    assert!(
        TcpStream::connect(&addr).await.is_err(),
        "a new connection is refused once daypass is stopping"
    );
    // ...but the stop waits for the post, which still gets its answer.
    assert!(!stopping.is_finished());
    busy.write_all(&body[10..]).await.unwrap();
    let answer = String::from_utf8_lossy(&read_to_close(&mut busy).await).to_string();
    assert!(
        answer.starts_with("HTTP/1.1 403"),
        "the form without a valid CSRF token is answered, not dropped: {answer}"
    );
    assert!(answer.contains("connection: close"), "{answer}");
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("daypass stops once the last request is answered")
        .unwrap();
}

#[tokio::test]
async fn a_request_that_never_finishes_holds_a_stop_only_for_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"sqlite://{d}/d.db\"\n[email]\ntransport = \"file\"\ndir = \"{d}/mail\"\n",
        d = dir.path().display()
    );
    let config = daypass::config::Config::from_toml(&text, Vec::new()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = daypass::app::App::build_with_listener(config, Default::default(), listener)
        .await
        .unwrap()
        .with_shutdown_grace(Duration::from_secs(1));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));

    // Headers promise a body that never comes.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(b"POST /login HTTP/1.1\r\nHost: daypass\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=")
        .await
        .unwrap();
    // The request is being read (the server answers others meanwhile).
    let mut other = TcpStream::connect(addr).await.unwrap();
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: daypass\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert!(read_to_close(&mut other).await.starts_with(b"HTTP/1.1 200"));

    let started = std::time::Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
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
