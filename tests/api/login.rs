use reqwest::StatusCode;

use crate::helpers::{wait_for_new_code, TestApp};

#[tokio::test]
async fn five_wrong_codes_burn_the_code_and_an_old_code_is_refused() {
    let app = TestApp::spawn().await;
    let carol = app.email("carol");
    let mut b = app.browser();
    let res = b.submit("/login", "/login", &[("email", &carol)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let code = wait_for_new_code(&app, &carol, 0).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let res = b
            .submit("/login/verify", "/login/verify", &[("code", wrong)])
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
    }
    let res = b
        .submit("/login/verify", "/login/verify", &[("code", &code)])
        .await;
    assert_eq!(
        res.status,
        StatusCode::BAD_REQUEST,
        "the right code after 5 wrong tries is refused"
    );
    assert!(res.body.contains("Too many wrong tries"));
    assert!(!b.cookies.contains_key("daypass_session"));

    // A fresh code, but used after its 10 minutes.
    let before = app.mail().to(&carol).await.len();
    b.submit("/login", "/login", &[("email", &carol)]).await;
    let code = wait_for_new_code(&app, &carol, before).await;
    app.ctx.clock.advance(std::time::Duration::from_secs(601));
    let res = b
        .submit("/login/verify", "/login/verify", &[("code", &code)])
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.body.contains("expired"));
}

#[tokio::test]
async fn a_code_works_once_and_the_session_id_changes_at_login() {
    let app = TestApp::spawn().await;
    let carol = app.email("carol");
    let mut b = app.browser();
    b.login(&app, &carol).await;
    let first = b.cookies["daypass_session"].clone();
    b.login(&app, &carol).await;
    let second = b.cookies["daypass_session"].clone();
    assert_ne!(first, second);
    let old = app.browser();
    let res = old
        .get_with(
            "/",
            &[("Cookie".into(), format!("daypass_session={first}"))],
        )
        .await;
    assert!(res.body.contains("Sign in"), "the old session is gone");
    // Cookie flags.
    let mut c = app.browser();
    let res = c.submit("/login", "/login", &[("email", &carol)]).await;
    let login_cookie = res.header("set-cookie").unwrap_or("");
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Lax"));
    // Tokens are stored only as hashes.
    let db = app.db().await;
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar("SELECT id_hash FROM sessions")
        .fetch_all(&db)
        .await
        .unwrap();
    assert!(!hashes
        .iter()
        .any(|h| hex::encode(h) == second || h == second.as_bytes()));
}

#[tokio::test]
async fn a_malformed_email_gets_a_clear_message() {
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    let res = b
        .submit("/login", "/login", &[("email", "not-an-email")])
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.body.contains("is not an email address"));
}

#[tokio::test]
async fn the_file_transport_writes_eml_files() {
    let dir = tempfile::tempdir().unwrap();
    let text = crate::helpers::BASE.replace("transport = \"smtp\"", "transport = \"file\"");
    let app = TestApp::spawn_in(
        dir,
        crate::helpers::new_tag(),
        &text,
        "",
        daypass::clock::Clock::default(),
    )
    .await;
    let mut b = app.browser();
    let res = b
        .submit("/login", "/login", &[("email", &app.email("carol"))])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let mail_dir = app.dir.path().join("mail");
    crate::helpers::eventually(std::time::Duration::from_secs(5), "an .eml file", || {
        let mail_dir = mail_dir.clone();
        async move {
            std::fs::read_dir(&mail_dir)
                .map(|d| {
                    d.filter_map(Result::ok)
                        .any(|e| e.path().extension().is_some_and(|x| x == "eml"))
                })
                .unwrap_or(false)
        }
    })
    .await;
    let file = std::fs::read_dir(&mail_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains("Subject: Your daypass code"));
    assert!(b.open("/").await.body.contains(".eml files"));
}

#[tokio::test]
async fn cookies_are_secure_when_public_url_is_https() {
    let env = [(
        "DAYPASS__SERVER__PUBLIC_URL".to_string(),
        "https://daypass.example.com".to_string(),
    )];
    let app = TestApp::spawn_env(&env).await;
    let res = app.browser().open("/login").await;
    let cookie = res.header("set-cookie").unwrap_or("");
    assert!(
        cookie.contains("; Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
}
