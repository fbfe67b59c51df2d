//! The pages in a real headless Chromium (Debian's chromium + chromium-driver): the whole
//! journey as a requester and an approver click it, deny and expiry, on a phone-sized screen
//! and without JavaScript. Screenshots of each page go to target/screenshots/.
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{review_path, wait_for_new_code, TestApp};
use crate::procs::{free_port, Proc};

/// chromedriver, in a process group of its own with the Chromium it starts: a test that fails
/// mid-way still stops them all.
pub struct Driver {
    _process: Proc,
    port: u16,
}

pub async fn chromedriver() -> Driver {
    let port = free_port();
    let binary = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("chromedriver is not installed: scripts/test.sh installs it (apt-get install chromium chromium-driver)");
    let mut process = Proc::spawn_group(
        "chromedriver",
        Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    process.wait_for_port(port, Duration::from_secs(20)).await;
    Driver {
        _process: process,
        port,
    }
}

pub async fn browser(driver: &Driver, width: u32, javascript: bool) -> Client {
    let profile = tempfile::tempdir().unwrap().keep();
    let mut args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--no-first-run".into(),
        "--disable-quic".into(),
        format!("--user-data-dir={}", profile.display()),
        format!("--window-size={width},900"),
    ];
    if !javascript {
        args.push("--blink-settings=scriptEnabled=false".into());
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": "/usr/bin/chromium", "args": args }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session")
}

pub async fn shot(c: &Client, name: &str) {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

pub async fn fill(c: &Client, css: &str, text: &str) {
    let field = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("no {css}"));
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("no {css}"))
        .click()
        .await
        .unwrap();
}

/// The page's visible text, read in one step (a page may refresh itself between two steps).
pub async fn text(c: &Client) -> String {
    let v = c
        .execute(
            "return document.body ? document.body.innerText : '';",
            vec![],
        )
        .await;
    v.ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub async fn wait_for_text(c: &Client, needle: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        if text(c).await.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the page never said {needle:?}; it says: {}",
            text(c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Signs in through the pages with the emailed code.
pub async fn sign_in(c: &Client, app: &TestApp, email: &str, screenshots: Option<&str>) {
    let before = app.mail().to(email).await.len();
    wait_for_text(c, "We will email you", Duration::from_secs(10)).await;
    let current: serde_json::Value = c
        .execute(
            "return document.querySelector('input[name=email]').value;",
            vec![],
        )
        .await
        .unwrap();
    if current.as_str() != Some(email) {
        fill(c, "input[name=email]", email).await;
    }
    if let Some(prefix) = screenshots {
        shot(c, &format!("{prefix}-login")).await;
    }
    click(c, "form[action='/login'] button[type=submit]").await;
    wait_for_text(c, "Enter the six-digit code", Duration::from_secs(10)).await;
    if let Some(prefix) = screenshots {
        shot(c, &format!("{prefix}-code")).await;
    }
    let code = wait_for_new_code(app, email, before).await;
    fill(c, "input[name=code]", &code).await;
    click(c, "form[action='/login/verify'] button[type=submit]").await;
}

#[tokio::test]
async fn the_whole_journey_as_people_click_it_in_chromium() {
    let app = TestApp::spawn().await;
    let driver = chromedriver().await;
    let carol = app.email("carol");

    // The requester, on a phone-sized screen.
    let requester = browser(&driver, 390, true).await;
    requester.goto(&format!("{}/", app.url)).await.unwrap();
    shot(&requester, "01-welcome").await;
    requester
        .goto(&format!("{}/request/grafana", app.url))
        .await
        .unwrap();
    sign_in(&requester, &app, &carol, Some("02-requester")).await;
    wait_for_text(&requester, "Ticket and reason", Duration::from_secs(10)).await;
    shot(&requester, "03-request-form").await;
    let fits: serde_json::Value = requester
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, json!(true), "no sideways scrolling on a phone");
    fill(
        &requester,
        "textarea[name=justification]",
        "INC-5150: <b>dashboards</b> down",
    )
    .await;
    click(
        &requester,
        "form[action='/request/grafana'] button[type=submit]",
    )
    .await;
    wait_for_text(
        &requester,
        "Waiting for an approver",
        Duration::from_secs(10),
    )
    .await;
    assert!(
        text(&requester)
            .await
            .contains("INC-5150: <b>dashboards</b> down"),
        "shown as text"
    );
    shot(&requester, "04-status-pending").await;
    // Remember this page load: a reload would forget it.
    requester
        .execute("window.sameLoad = 'yes';", vec![])
        .await
        .unwrap();

    // The approver, from the email link, on a laptop-sized screen.
    let mail = app
        .mail()
        .wait_for(&app.email("alice"), "Access request")
        .await;
    let approver = browser(&driver, 1280, true).await;
    approver
        .goto(&format!("{}{}", app.url, review_path(&mail)))
        .await
        .unwrap();
    wait_for_text(&approver, "We will email you", Duration::from_secs(10)).await;
    let prefilled: serde_json::Value = approver
        .execute(
            "return document.querySelector('input[name=email]').value;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(prefilled.as_str(), Some(app.email("alice").as_str()));
    sign_in(&approver, &app, &app.email("alice"), Some("05-approver")).await;
    wait_for_text(&approver, "INC-5150", Duration::from_secs(10)).await;
    shot(&approver, "06-review").await;
    fill(&approver, "input[name=duration]", "45m").await;
    click(&approver, "button[value=approve]").await;
    wait_for_text(&approver, "Approved by", Duration::from_secs(10)).await;
    shot(&approver, "07-review-decided").await;

    // The requester's page follows by itself, without a reload.
    wait_for_text(&requester, "Access until", Duration::from_secs(10)).await;
    let same: serde_json::Value = requester
        .execute("return window.sameLoad || null;", vec![])
        .await
        .unwrap();
    assert_eq!(same, json!("yes"), "updated in place, not reloaded");
    // The script rewrote the end time into the viewer's zone, keeping the server's UTC as a title.
    let time: serde_json::Value = requester
        .execute(
            "var t = document.querySelector('#live time'); return [t.dataset.localized || '', t.title, t.textContent];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(time[0], "1", "localised: {time}");
    assert!(time[1].as_str().unwrap_or("").ends_with("UTC"), "{time}");
    assert_ne!(time[1], time[2], "shown in the viewer's format: {time}");
    shot(&requester, "08-status-approved").await;

    // The approver denies the next one, with a reason.
    let dave = app.signed_in(&app.email("dave")).await;
    let mut dave = dave;
    let id = crate::requests::make_request(&mut dave, "1h").await;
    let link = review_path(
        &app.mail()
            .wait_for(&app.email("alice"), &format!("#{id}:"))
            .await,
    );
    approver.goto(&format!("{}{link}", app.url)).await.unwrap();
    fill(&approver, "textarea[name=reason]", "Use staging").await;
    click(&approver, "button[value=deny]").await;
    wait_for_text(&approver, "Denied by", Duration::from_secs(10)).await;
    shot(&approver, "09-denied").await;

    // Time runs out on carol's grant.
    app.ctx.clock.advance(Duration::from_secs(46 * 60));
    app.sweep().await;
    requester.goto(&format!("{}/", app.url)).await.unwrap();
    wait_for_text(&requester, "Request access", Duration::from_secs(10)).await;
    shot(&requester, "10-home-after-expiry").await;
    requester
        .goto(&format!("{}/request/nope", app.url))
        .await
        .unwrap();
    shot(&requester, "11-error-page").await;
    assert!(text(&requester).await.contains("no application called"));
    let _ = requester.close().await;
    let _ = approver.close().await;
}

#[tokio::test]
async fn the_pages_work_with_javascript_off() {
    let app = TestApp::spawn().await;
    let driver = chromedriver().await;
    let carol = app.email("carol");
    let c = browser(&driver, 390, false).await;
    c.goto(&format!("{}/request/grafana", app.url))
        .await
        .unwrap();
    sign_in(&c, &app, &carol, None).await;
    wait_for_text(&c, "Ticket and reason", Duration::from_secs(10)).await;
    fill(&c, "textarea[name=justification]", "no JS here").await;
    click(&c, "form[action='/request/grafana'] button[type=submit]").await;
    wait_for_text(&c, "Waiting for an approver", Duration::from_secs(10)).await;
    let url = c.current_url().await.unwrap();
    let id: i64 = url.path().trim_start_matches("/requests/").parse().unwrap();
    app.approve(id, "bob", "1h").await;
    // The <noscript> refresh brings the news within a few seconds.
    wait_for_text(&c, "Access until", Duration::from_secs(15)).await;
    assert!(
        text(&c).await.contains("UTC"),
        "without JavaScript the time stays in UTC"
    );
    shot(&c, "12-no-javascript-approved").await;
    let _ = c.close().await;
}
