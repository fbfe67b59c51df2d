//! What operators touch: the compose demo and image, logs, shutdown, /healthz and /metrics.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_yaml::Value;

use crate::helpers::TestApp;

fn repo(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_compose_demo_has_every_service_port_and_volume_the_readme_names() {
    let compose: Value =
        serde_yaml::from_str(&repo("docker-compose.yml")).expect("docker-compose.yml parses");
    let readme = repo("README.md");
    let services = compose["services"].as_mapping().expect("services");
    for name in ["daypass", "mailpit", "caddy", "whoami"] {
        assert!(services.contains_key(name), "service {name}");
        assert!(readme.contains(name), "the README names {name}");
    }
    let ports = |service: &str| -> Vec<String> {
        compose["services"][service]["ports"]
            .as_sequence()
            .map(|p| {
                p.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(ports("mailpit").contains(&"8025:8025".to_string()));
    assert!(ports("caddy").contains(&"8000:8000".to_string()));
    for port in ["8025", "8000"] {
        assert!(readme.contains(port), "the README names port {port}");
    }
    assert!(compose["volumes"]
        .as_mapping()
        .unwrap()
        .contains_key("daypass-data"));
    let mounts: Vec<&str> = compose["services"]["daypass"]["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        mounts.iter().any(|m| m.starts_with("daypass-data:")),
        "the SQLite file lives on a volume"
    );
    let config = mounts
        .iter()
        .find(|m| m.contains("daypass.toml"))
        .expect("a mounted config");
    let config = config.split(':').next().unwrap().trim_start_matches("./");
    assert_eq!(
        compose["services"]["mailpit"]["image"]
            .as_str()
            .map(|i| i.starts_with("axllent/mailpit")),
        Some(true)
    );
    assert!(repo("config/compose/Caddyfile").contains("forward_auth daypass:8080"));
    // The config the demo mounts passes check-config.
    let out = Command::new(env!("CARGO_BIN_EXE_daypass"))
        .args([
            "--config",
            &format!("{}/{config}", env!("CARGO_MANIFEST_DIR")),
            "check-config",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_image_is_multi_stage_small_and_runs_as_a_non_root_user_with_data_on_a_volume() {
    let dockerfile = repo("Dockerfile");
    assert_eq!(
        dockerfile
            .lines()
            .filter(|l| l.starts_with("FROM "))
            .count(),
        2,
        "build and runtime stages"
    );
    assert!(dockerfile.contains("FROM debian:bookworm-slim"));
    assert!(dockerfile.contains("USER daypass"));
    assert!(dockerfile.contains("VOLUME [\"/var/lib/daypass\"]"));
    assert!(dockerfile.contains("COPY --from=build"));
}

#[tokio::test]
async fn logs_are_json_lines_on_request_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::procs::free_port();
    let config = dir.path().join("daypass.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[database]\nurl = \"{db}\"\n[email]\ntransport = \"file\"\ndir = \"{d}/mail\"\n",
            d = dir.path().display(),
            db = crate::helpers::database_url(dir.path()).await,
        ),
    )
    .unwrap();
    let mut child = crate::procs::Proc::spawn(
        "daypass",
        Command::new(env!("CARGO_BIN_EXE_daypass"))
            .args(["--config", config.to_str().unwrap(), "serve"])
            .env("DAYPASS_LOG", "json")
            .envs(crate::helpers::secret_env(dir.path()))
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    let mut lines = BufReader::new(child.take_stderr()).lines();
    let mut serving = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON line: {line}"));
        if v["fields"]["message"] == "daypass is serving" {
            serving = Some(v);
            break;
        }
    }
    let serving = serving.expect("a start line");
    assert_eq!(serving["level"], "INFO");
    assert!(serving["timestamp"].is_string());
    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait();
    assert!(
        exit.success(),
        "SIGTERM ends daypass with success: {exit:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("shutting down")), "{rest:?}");
}

#[tokio::test]
async fn healthz_and_metrics_tell_operators_what_they_watch() {
    let app = TestApp::spawn().await;
    let mut carol = app.signed_in(&app.email("carol")).await;
    let id = crate::requests::make_request(&mut carol, "1h").await;
    app.approve(id, "bob", "1h").await;
    assert_eq!(
        app.auth(&carol, "grafana.test", &[]).await.status,
        reqwest::StatusCode::OK
    );
    let health: serde_json::Value =
        serde_json::from_str(&app.browser().open("/healthz").await.body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "ok");
    assert_eq!(health["scheduler"], "ok");
    assert!(health["outbox_backlog"].is_number());
    let metrics = app.browser().open("/metrics").await.body;
    for needle in [
        "daypass_requests{state=\"approved\"} 1",
        "daypass_live_grants 1",
        "daypass_decisions_total{channel=\"email\"} 1",
        "daypass_notifications{channel=\"email\"",
        "daypass_auth_duration_seconds_bucket{le=\"+Inf\"}",
        "daypass_scheduler_lag_seconds",
    ] {
        assert!(
            metrics.contains(needle),
            "{needle} missing from:\n{metrics}"
        );
    }
}
