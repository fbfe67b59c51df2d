//! Sign-in through a real OpenID provider (npm `oidc-provider`, run by `tests/oidc/idp.mjs`):
//! the whole journey, groups from the claim, and the attacks that must give no session.
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use std::process::Command;

use crate::helpers::{review_path, Browser, TestApp, BASE};
use crate::procs::{free_port, Proc};

/// The provider, stopped when dropped.
struct Idp {
    process: Proc,
}

impl Idp {
    /// Stops it and waits until it is gone (its port is free again).
    async fn stop(mut self) {
        self.process.kill();
    }
}

/// Starts the provider on `port` for daypass at `daypass_url`, with `users`.
async fn start_idp(port: u16, daypass_url: &str, users: serde_json::Value, ttl: u64) -> Idp {
    start_idp_as(port, None, daypass_url, users, ttl).await
}

/// As `start_idp`, answering as `issuer` (a proxy in front of it) when given, and with a second
/// client, `other`, whose redirect URI is `http://127.0.0.1:9/cb`.
async fn start_idp_as(
    port: u16,
    issuer: Option<&str>,
    daypass_url: &str,
    users: serde_json::Value,
    ttl: u64,
) -> Idp {
    let root = env!("CARGO_MANIFEST_DIR");
    assert!(
        Path::new(root)
            .join(".tools/node_modules/oidc-provider")
            .exists(),
        "oidc-provider is not installed: run scripts/test.sh (npm install --prefix .tools oidc-provider)"
    );
    let clients = json!([{
        "client_id": "daypass",
        "client_secret": "the-client-secret",
        "redirect_uris": [format!("{daypass_url}/login/callback")],
    }, {
        "client_id": "other",
        "client_secret": "the-other-secret",
        "redirect_uris": ["http://127.0.0.1:9/cb"],
    }]);
    let mut process = Proc::spawn(
        "the OpenID provider (node)",
        Command::new("node")
            .arg(format!("{root}/tests/oidc/idp.mjs"))
            .env("OIDC_PORT", port.to_string())
            .env(
                "OIDC_ISSUER",
                issuer
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("http://127.0.0.1:{port}")),
            )
            .env("OIDC_CLIENTS", clients.to_string())
            .env("OIDC_USERS", users.to_string())
            .env("OIDC_ID_TOKEN_TTL", ttl.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    process.wait_for_port(port, Duration::from_secs(20)).await;
    Idp { process }
}

fn oidc_config(idp_port: u16) -> String {
    format!(
        "[identity]\nmode = \"oidc\"\n[identity.oidc]\nissuer = \"http://127.0.0.1:{idp_port}\"\n\
         client_id = \"daypass\"\nclient_secret_env = \"DAYPASS_TEST_UNSET\"\nclient_secret_file = \"{{dir}}/oidc-secret\"\n"
    )
}

/// daypass signing in through the provider, with the provider's users.
async fn spawn(extra: &str, users: impl Fn(&str) -> serde_json::Value, ttl: u64) -> (TestApp, Idp) {
    let idp_port = free_port();
    let app = TestApp::spawn_with(BASE, &format!("{extra}\n{}", oidc_config(idp_port))).await;
    std::fs::write(app.dir.path().join("oidc-secret"), "the-client-secret").unwrap();
    let idp = start_idp(idp_port, &app.url, users(&app.tag), ttl).await;
    (app, idp)
}

fn users(tag: &str) -> serde_json::Value {
    json!({
        "carol": { "email": format!("carol-{tag}@example.com"), "email_verified": true, "groups": ["oncall"] },
        "bob": { "email": format!("bob-{tag}@example.com"), "email_verified": true, "groups": ["sre"] },
        "eve": { "email": format!("eve-{tag}@example.com"), "email_verified": false, "groups": [] },
    })
}

/// A client of the provider with its own cookies, following redirects by hand.
struct AtProvider {
    client: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl AtProvider {
    fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> reqwest::Response {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let res = req.header("Cookie", cookie).send().await.unwrap();
        for v in res.headers().get_all("set-cookie") {
            if let Some((k, v)) = v
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .split_once('=')
            {
                self.cookies.insert(k.trim().to_string(), v.to_string());
            }
        }
        res
    }

    /// Follows `url` through the provider, signing in as `login` when asked, until the provider
    /// sends the browser back to daypass; that URL.
    async fn sign_in(&mut self, url: &str, login: &str, daypass: &str) -> String {
        let mut url = url.to_string();
        for _ in 0..10 {
            if url.starts_with(daypass) {
                return url;
            }
            let res = self.send(self.client.get(&url)).await;
            let status = res.status();
            if status.is_redirection() {
                let location = res.headers()["location"].to_str().unwrap().to_string();
                url = absolute(&url, &location);
                continue;
            }
            let body = res.text().await.unwrap();
            assert_eq!(status, StatusCode::OK, "{url}: {body}");
            let action = body
                .split("action=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .expect("the provider's login form");
            let res = self
                .send(
                    self.client
                        .post(absolute(&url, action))
                        .form(&[("login", login)]),
                )
                .await;
            assert!(res.status().is_redirection(), "signed in at the provider");
            url = absolute(&url, res.headers()["location"].to_str().unwrap());
        }
        panic!("the provider never sent the browser back to daypass");
    }
}

fn absolute(base: &str, location: &str) -> String {
    url::Url::parse(base)
        .unwrap()
        .join(location)
        .unwrap()
        .to_string()
}

/// `/login?next=NEXT` at daypass: the provider's URL it sends the browser to.
async fn start_login(b: &mut Browser, next: &str) -> String {
    let res = b.open(&format!("/login?next={next}")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(b.cookies.contains_key("daypass_oidc"));
    res.location().to_string()
}

/// The path and query of a URL on daypass.
fn path_of(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or(""))
}

/// Signs `login` in through the provider; daypass's answer to the callback.
async fn sign_in(app: &TestApp, b: &mut Browser, login: &str, next: &str) -> crate::helpers::Resp {
    let at = start_login(b, next).await;
    let back = AtProvider::new().sign_in(&at, login, &app.url).await;
    b.open(&path_of(&back)).await
}

#[tokio::test]
async fn a_requester_and_an_approver_both_sign_in_through_the_provider() {
    let (app, _idp) = spawn("", users, 3600).await;
    let mut carol = app.browser();
    let res = sign_in(&app, &mut carol, "carol", "/request/grafana").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        res.location(),
        "/request/grafana",
        "back where she was going"
    );
    assert!(carol.cookies.contains_key("daypass_session"));
    assert!(
        !carol.cookies.contains_key("daypass_oidc"),
        "the flow cookie is gone"
    );
    let id = crate::requests::make_request(&mut carol, "1h").await;

    // Bob opens the review link from his mail: daypass sends him through the provider first.
    let link = review_path(
        &app.mail()
            .wait_for(&app.email("bob"), &format!("#{id}:"))
            .await,
    );
    let mut bob = app.browser();
    let res = bob.open(&link).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let login = res.location().to_string();
    assert!(login.starts_with("/login?next="), "{login}");
    let res = sign_in(&app, &mut bob, "bob", &login["/login?next=".len()..]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = bob
        .submit(&link, &link, &[("decision", "approve"), ("duration", "1h")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    // /auth lets carol in exactly as with an email-code session, with her groups.
    let res = app.auth(&carol, "grafana.test", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.header("x-daypass-user"),
        Some(app.email("carol").as_str())
    );
    assert_eq!(res.header("x-daypass-groups"), Some("oncall"));
    // Signing out ends daypass's session.
    let res = carol.submit("/", "/logout", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let mut stale = app.browser();
    stale.cookies = carol.cookies.clone();
    assert_eq!(
        app.auth(&stale, "grafana.test", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_providers_groups_open_and_close_doors() {
    let groups = r#"
[[groups]]
name = "oncall"
[[groups]]
name = "sre"
[[applications]]
slug = "prod"
host = "prod.test"
  [[applications.policies]]
  name = "on call"
  decision = "allow"
  include = { groups = ["oncall"] }
"#;
    let (app, _idp) = spawn(groups, users, 3600).await;
    let mut carol = app.browser();
    sign_in(&app, &mut carol, "carol", "/").await;
    let res = app.auth(&carol, "prod.test", &[]).await;
    assert_eq!(res.status, StatusCode::OK, "carol is on call");
    let mut bob = app.browser();
    sign_in(&app, &mut bob, "bob", "/").await;
    assert_eq!(
        app.auth(&bob, "prod.test", &[]).await.status,
        StatusCode::FORBIDDEN,
        "bob is in sre only"
    );
}

/// A refused sign-in: 400 with a page that says why, and no session.
fn refused(b: &Browser, res: &crate::helpers::Resp, why: &str) {
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{why}: {}", res.body);
    assert!(res.body.contains(why), "{why}: {}", res.body);
    assert!(!b.cookies.contains_key("daypass_session"), "{why}");
}

#[tokio::test]
async fn tampered_state_replayed_code_wrong_nonce_and_unverified_email_give_no_session() {
    let (app, _idp) = spawn("", users, 3600).await;

    // The state changed on the way back.
    let mut b = app.browser();
    let at = start_login(&mut b, "/").await;
    let back = AtProvider::new().sign_in(&at, "carol", &app.url).await;
    let tampered = back.replace("state=", "state=00");
    let res = b.open(&path_of(&tampered)).await;
    refused(&b, &res, "state does not match");

    // Another browser's callback (no flow cookie, or another's).
    let mut other = app.browser();
    let res = other.open(&path_of(&back)).await;
    refused(&other, &res, "not started in this browser");

    // A code used once is refused the second time, even with the right flow cookie.
    let mut b = app.browser();
    let at = start_login(&mut b, "/").await;
    let flow = b.cookies["daypass_oidc"].clone();
    let back = AtProvider::new().sign_in(&at, "carol", &app.url).await;
    assert_eq!(b.open(&path_of(&back)).await.status, StatusCode::SEE_OTHER);
    let mut replay = app.browser();
    replay.cookies.insert("daypass_oidc".into(), flow);
    let res = replay.open(&path_of(&back)).await;
    refused(&replay, &res, "refused the sign-in");

    // The nonce changed in the authorization request: the ID token carries another one.
    let mut b = app.browser();
    let at = start_login(&mut b, "/").await;
    let mut url = url::Url::parse(&at).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "nonce" {
                "attacker-chosen".into()
            } else {
                v.to_string()
            };
            (k.to_string(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let back = AtProvider::new()
        .sign_in(url.as_str(), "carol", &app.url)
        .await;
    let res = b.open(&path_of(&back)).await;
    refused(&b, &res, "could not be trusted");
    assert!(res.body.to_lowercase().contains("nonce"), "{}", res.body);

    // The provider has not verified eve's address.
    let mut eve = app.browser();
    let res = sign_in(&app, &mut eve, "eve", "/").await;
    refused(&eve, &res, "has not verified this email address");

    // The provider refuses (e.g. the person cancelled): said so, no session.
    let mut b = app.browser();
    let res = b
        .open("/login/callback?error=access_denied&error_description=cancelled&state=x")
        .await;
    refused(&b, &res, "access_denied");
}

#[tokio::test]
async fn a_session_lasts_no_longer_than_the_id_token() {
    let (app, _idp) = spawn("", users, 600).await;
    let mut carol = app.browser();
    let at = start_login(&mut carol, "/").await;
    let back = AtProvider::new().sign_in(&at, "carol", &app.url).await;
    let res = carol.open(&path_of(&back)).await;
    let cookie = res
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("daypass_session="))
        .expect("a session cookie");
    let max_age: i64 = cookie
        .split("Max-Age=")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .and_then(|s| s.parse().ok())
        .expect("Max-Age");
    assert!(
        (500..=600).contains(&max_age),
        "the ID token lives 10 minutes, session_ttl 12 hours: {cookie}"
    );
}

/// A proxy in front of the provider that can put another ID token into the token endpoint's
/// answer: what a provider (or anything on its path) handing daypass a token made for another
/// client, or by another issuer, would look like.
struct Swapper {
    swap: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

async fn start_swapper(port: u16, upstream: u16) -> Swapper {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, Method, Uri};
    use axum::response::IntoResponse;
    let swap: std::sync::Arc<std::sync::Mutex<Option<String>>> = Default::default();
    let armed = swap.clone();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (client, armed) = (client.clone(), armed.clone());
            async move {
                let url = format!("http://127.0.0.1:{upstream}{uri}");
                let mut req = client.request(method, &url).body(body);
                for (k, v) in &headers {
                    if k != "content-length" {
                        req = req.header(k, v);
                    }
                }
                let res = req.send().await.unwrap();
                let status = res.status();
                let mut out = axum::http::HeaderMap::new();
                for (k, v) in res.headers() {
                    if k != "content-length" && k != "transfer-encoding" {
                        out.append(k, v.clone());
                    }
                }
                let mut body = res.bytes().await.unwrap().to_vec();
                if uri.path() == "/token" {
                    if let Some(token) = armed.lock().unwrap().clone() {
                        let mut json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                        json["id_token"] = token.into();
                        body = json.to_string().into_bytes();
                    }
                }
                (status, out, body).into_response()
            }
        },
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Swapper { swap }
}

/// An ID token from the provider at `issuer` for `client_id` (redirect URI `redirect`), by the
/// code flow with PKCE, as any client would get one.
async fn id_token_from(issuer: &str, client_id: &str, secret: &str, redirect: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let verifier = daypass::tokens::new_token();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let mut auth = url::Url::parse(&format!("{issuer}/auth")).unwrap();
    auth.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email")
        .append_pair("redirect_uri", redirect)
        .append_pair("state", "s")
        .append_pair("nonce", "n")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let mut at = AtProvider::new();
    let back = at.sign_in(auth.as_str(), "carol", redirect).await;
    let code = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string())
        .expect("a code");
    let res: serde_json::Value = reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["id_token"].as_str().expect("an ID token").to_string()
}

#[tokio::test]
async fn an_id_token_for_another_client_or_from_another_issuer_gives_no_session() {
    // daypass's issuer is a proxy in front of the provider that can swap the ID token.
    let (proxy_port, idp_port) = (free_port(), free_port());
    let app = TestApp::spawn_with(BASE, &oidc_config(proxy_port)).await;
    std::fs::write(app.dir.path().join("oidc-secret"), "the-client-secret").unwrap();
    let issuer = format!("http://127.0.0.1:{proxy_port}");
    let _idp = start_idp_as(idp_port, Some(&issuer), &app.url, users(&app.tag), 3600).await;
    let swapper = start_swapper(proxy_port, idp_port).await;
    // A second provider: another issuer, where daypass's client id is registered too.
    let other_port = free_port();
    let _other = start_idp(other_port, &app.url, users(&app.tag), 3600).await;

    // Without a swap the sign-in works through the proxy.
    let mut b = app.browser();
    let res = sign_in(&app, &mut b, "carol", "/").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    // The same provider's token for another client: the audience is wrong.
    let for_other = id_token_from(
        &issuer,
        "other",
        "the-other-secret",
        "http://127.0.0.1:9/cb",
    )
    .await;
    *swapper.swap.lock().unwrap() = Some(for_other);
    let mut b = app.browser();
    let res = sign_in(&app, &mut b, "carol", "/").await;
    refused(&b, &res, "could not be trusted");
    assert!(res.body.contains("audience"), "{}", res.body);

    // Another issuer's token for daypass's own client id.
    let from_elsewhere = id_token_from(
        &format!("http://127.0.0.1:{other_port}"),
        "daypass",
        "the-client-secret",
        &format!("{}/login/callback", app.url),
    )
    .await;
    *swapper.swap.lock().unwrap() = Some(from_elsewhere);
    let mut b = app.browser();
    let res = sign_in(&app, &mut b, "carol", "/").await;
    refused(&b, &res, "could not be trusted");
    assert!(res.body.contains("issuer"), "{}", res.body);
}

/// Signs in at the provider's page as a person would: the login form, then back to daypass.
async fn sign_in_at_provider(c: &fantoccini::Client, login: &str, shot_name: &str) {
    use crate::browser::{click, fill, shot, wait_for_text};
    wait_for_text(c, "Test identity provider", Duration::from_secs(10)).await;
    fill(c, "input[name=login]", login).await;
    shot(c, shot_name).await;
    click(c, "#sign-in").await;
}

#[tokio::test]
async fn the_whole_oidc_journey_in_chromium() {
    use crate::browser::{browser, chromedriver, click, fill, shot, wait_for_text};
    let (app, _idp) = spawn("", users, 3600).await;
    let driver = chromedriver().await;

    // Carol opens the request page: daypass sends her to the provider and back.
    let carol = browser(&driver, 390, true).await;
    carol
        .goto(&format!("{}/request/grafana", app.url))
        .await
        .unwrap();
    sign_in_at_provider(&carol, "carol", "oidc-01-provider-login").await;
    wait_for_text(&carol, "Ticket and reason", Duration::from_secs(10)).await;
    shot(&carol, "oidc-02-request-form").await;
    fill(&carol, "textarea[name=justification]", "INC-77 on call").await;
    click(
        &carol,
        "form[action='/request/grafana'] button[type=submit]",
    )
    .await;
    wait_for_text(&carol, "Waiting for an approver", Duration::from_secs(10)).await;
    shot(&carol, "oidc-03-pending").await;

    // Bob follows his review link, signs in at the provider, and approves.
    let mail = app
        .mail()
        .wait_for(&app.email("bob"), "Access request")
        .await;
    let bob = browser(&driver, 1280, true).await;
    bob.goto(&format!("{}{}", app.url, review_path(&mail)))
        .await
        .unwrap();
    sign_in_at_provider(&bob, "bob", "oidc-04-approver-login").await;
    wait_for_text(&bob, "INC-77", Duration::from_secs(10)).await;
    shot(&bob, "oidc-05-review").await;
    click(&bob, "button[value=approve]").await;
    wait_for_text(&bob, "Approved by", Duration::from_secs(10)).await;
    shot(&bob, "oidc-06-approved").await;

    wait_for_text(&carol, "Access until", Duration::from_secs(10)).await;
    shot(&carol, "oidc-07-access").await;
}

#[tokio::test]
async fn a_key_the_provider_rotated_in_is_fetched_once_it_is_used() {
    let idp_port = free_port();
    let app = TestApp::spawn_with(BASE, &oidc_config(idp_port)).await;
    std::fs::write(app.dir.path().join("oidc-secret"), "the-client-secret").unwrap();
    let idp = start_idp(idp_port, &app.url, users(&app.tag), 3600).await;
    let mut carol = app.browser();
    let res = sign_in(&app, &mut carol, "carol", "/").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    // The provider starts again with a new signing key: daypass holds only the old one.
    idp.stop().await;
    let _idp = start_idp(idp_port, &app.url, users(&app.tag), 3600).await;
    let mut bob = app.browser();
    let res = sign_in(&app, &mut bob, "bob", "/").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(bob.cookies.contains_key("daypass_session"));
}

#[tokio::test]
async fn an_address_outside_the_allowed_domains_gets_no_session() {
    let idp_port = free_port();
    let config = format!(
        "{}allowed_email_domains = [\"corp.example\"]\n",
        oidc_config(idp_port)
    );
    let app = TestApp::spawn_with(BASE, &config).await;
    std::fs::write(app.dir.path().join("oidc-secret"), "the-client-secret").unwrap();
    let _idp = start_idp(idp_port, &app.url, users(&app.tag), 3600).await;
    let mut carol = app.browser();
    let res = sign_in(&app, &mut carol, "carol", "/").await;
    refused(&carol, &res, "example.com addresses is not allowed");
}
