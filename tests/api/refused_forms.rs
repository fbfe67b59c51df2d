//! A form refused by the CSRF check says why, offers a way back to where the person was going,
//! and daypass logs the reason.
use reqwest::StatusCode;

use crate::daypass_process::DaypassProcess;
use crate::helpers::TestApp;

const NEXT: &str = "/request/grafana?rd=http%3A%2F%2Fgrafana.test%2Fd%2F1";

fn back_href(body: &str) -> String {
    let marker = "class=\"button\" href=\"";
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("no Back link: {body}"))
        + marker.len();
    body[start..].split('"').next().unwrap_or("").to_string()
}

#[tokio::test]
async fn a_form_sent_without_any_daypass_cookie_says_cookies_are_blocked_and_goes_back_to_the_request_page(
) {
    let app = TestApp::spawn().await;
    // A browser that refused every cookie daypass set: the form arrives with none.
    let mut b = app.browser();
    let page = b.open(&format!("/login?next={}", urlencode(NEXT))).await;
    let csrf = page.csrf();
    b.cookies.clear();
    let res = b
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", &app.email("carol")),
                ("next", NEXT),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body.contains("cookies are blocked"), "{}", res.body);
    assert!(res.body.contains("cookie domain is wrong"), "{}", res.body);
    assert_eq!(
        back_href(&res.body),
        NEXT,
        "Back returns to the request page"
    );
    assert!(
        app.mail().to(&app.email("carol")).await.is_empty(),
        "no code was sent"
    );
}

#[tokio::test]
async fn a_stale_token_and_a_cross_site_post_say_so_and_go_back_to_the_form() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    carol.open("/request/grafana").await;
    // The cookie is there, the token is not the one it goes with (an old page).
    let res = carol
        .post(
            "/request/grafana",
            &[
                ("csrf", "0123abcd"),
                ("justification", "x"),
                ("rd", "http://grafana.test/d/1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body.contains("has expired"), "{}", res.body);
    assert!(!res.body.contains("cookies are blocked"), "{}", res.body);
    assert_eq!(back_href(&res.body), NEXT);

    let csrf = carol.open("/request/grafana").await.csrf();
    let res = reqwest::Client::new()
        .post(format!("{}/request/grafana", app.url))
        .header("Cookie", carol.cookie_header())
        .header("Origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str()), ("justification", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body = res.text().await.unwrap();
    assert!(body.contains("not sent from daypass itself"), "{body}");
    assert_eq!(back_href(&body), "/request/grafana");
}

#[tokio::test]
async fn daypass_logs_why_each_form_was_refused_at_info() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("daypass.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"{db}\"\n[email]\ntransport = \"file\"\ndir = \"{d}/mail\"\n",
            d = dir.path().display(),
            db = crate::helpers::database_url(dir.path()).await,
        ),
    )
    .unwrap();
    let daypass = DaypassProcess::start(&config, &[]).await;
    let client = reqwest::Client::new();
    let login = format!("{}/login", daypass.url());
    let post = |cookie: Option<&str>, origin: Option<&str>| {
        let mut req = client
            .post(&login)
            .form(&[("csrf", "0123abcd"), ("email", "carol@example.com")]);
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        req.send()
    };
    for (cookie, origin, reason) in [
        (None, None, "missing cookie"),
        (Some("daypass_csrf=abc123"), None, "bad token"),
        (None, Some("https://evil.example"), "cross-site origin"),
    ] {
        let res = post(cookie, origin).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{reason}");
        let line = daypass
            .wait_for_log(reason, |l| l["fields"]["reason"] == reason)
            .await;
        assert_eq!(line["level"], "INFO", "{line}");
        assert_eq!(line["fields"]["message"], "form refused", "{line}");
        assert_eq!(line["fields"]["path"], "/login", "{line}");
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
