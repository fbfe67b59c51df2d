use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::requests::make_request;

#[tokio::test]
async fn the_cli_lists_requests_and_grants_and_prints_the_audit_log_as_json_lines() {
    let app = TestApp::spawn().await;
    let mut carol = app.browser();
    carol.login(&app, &app.email("carol")).await;
    let id = make_request(&mut carol, "1h").await;
    let link = crate::helpers::review_path(
        &app.mail()
            .wait_for(&app.email("alice"), "Access request")
            .await,
    );
    let mut alice = app.browser();
    alice.login(&app, &app.email("alice")).await;
    let res = alice
        .submit(
            &link,
            &link,
            &[("decision", "approve"), ("duration", "45m")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    let out = app.cli(&["requests", "list", "--status", "approved"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&app.email("carol")) && text.contains("INC-7 investigate"),
        "{text}"
    );
    let out = app.cli(&["requests", "list", "--status", "nonsense"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--status"));

    let out = app.cli(&["grants", "list", "--active"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("45m") && text.contains(&app.email("alice")),
        "{text}"
    );

    let out = app.cli(&["audit", "--json"]);
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let actions: Vec<&str> = lines
        .iter()
        .map(|v| v["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["request_created", "request_approved"]);
    let approved = &lines[1];
    assert_eq!(approved["actor"], app.email("alice"));
    assert_eq!(approved["channel"], "email");
    assert_eq!(approved["request_id"], id);
    assert_eq!(approved["app_slug"], "grafana");
    assert_eq!(approved["justification"], "INC-7 investigate");
    assert_eq!(approved["duration_ms"], 45 * 60_000);
    assert_eq!(approved["client_ip"], "127.0.0.1");
    assert!(approved["time"].as_str().unwrap().ends_with('Z'));

    let out = app.cli(&["audit", "--since", "1h"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("request_approved"));
    let out = app.cli(&["audit", "--since", "yesterday-ish"]);
    assert!(!out.status.success());

    // Revoking twice: the second says it already ended.
    let grant_id: i64 = sqlx::query_scalar("SELECT id FROM grants")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    assert!(app
        .cli(&["grants", "revoke", &grant_id.to_string()])
        .status
        .success());
    let out = app.cli(&["grants", "revoke", &grant_id.to_string()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already ended"));
    let out = app.cli(&["grants", "revoke", "424242"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no grant 424242"));
}

#[tokio::test]
async fn check_config_names_the_wrong_key_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[[approvers]]\nemail = \"not-an-email\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_daypass"))
        .args(["--config", path.to_str().unwrap(), "check-config"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("approvers[0].email"));
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/config/daypass.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_daypass"))
        .args(["--config", shipped, "check-config"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the shipped config is valid: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
