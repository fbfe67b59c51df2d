//! The container: the image's HEALTHCHECK, compose's start order and the command line inside
//! compose, read statically (no container runtime runs here); and `daypass healthcheck`, run.
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use axum::Router;
use serde_yaml::Value;
use tokio::process::Command;

use crate::helpers::TestApp;
use crate::procs::free_port;

fn repo(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `daypass --config CONFIG healthcheck` with `env`.
async fn healthcheck(config: &Path, env: &[(String, String)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_daypass"))
        .arg("--config")
        .arg(config)
        .arg("healthcheck")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run the daypass binary")
}

#[test]
fn the_compose_file_waits_for_a_healthy_daypass_and_the_image_asks_healthz() {
    let compose: Value = serde_yaml::from_str(&repo("docker-compose.yml")).unwrap();
    let caddy_needs = &compose["services"]["caddy"]["depends_on"];
    assert_eq!(
        caddy_needs["daypass"]["condition"].as_str(),
        Some("service_healthy"),
        "Caddy waits until daypass answers /healthz: {caddy_needs:?}"
    );
    assert!(caddy_needs["whoami"].is_mapping(), "{caddy_needs:?}");

    let dockerfile = repo("Dockerfile");
    let healthcheck: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("HEALTHCHECK"))
        .collect();
    assert_eq!(healthcheck.len(), 1, "{healthcheck:?}");
    assert!(
        healthcheck[0].ends_with(r#"CMD ["daypass", "healthcheck"]"#),
        "{}",
        healthcheck[0]
    );
    assert!(
        dockerfile.contains("COPY --from=build /src/target/release/daypass /usr/local/bin/daypass")
    );

    // `docker compose exec daypass daypass …` finds the demo's config: compose names it in
    // DAYPASS_CONFIG, at the path where it mounts config/compose/daypass.toml.
    let daypass = &compose["services"]["daypass"];
    let config = daypass["environment"]["DAYPASS_CONFIG"].as_str().unwrap();
    let mounted = daypass["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .any(|m| m == format!("./config/compose/daypass.toml:{config}:ro"));
    assert!(mounted, "{config} is the mounted compose config");
    let readme = repo("README.md");
    assert!(readme.contains("docker compose exec daypass daypass grants list"));

    // The healthcheck asks the port the compose config listens on, which Caddy proxies to.
    let toml: toml::Value = toml::from_str(&repo("config/compose/daypass.toml")).unwrap();
    let listen = toml["server"]["listen"].as_str().unwrap();
    assert_eq!(
        daypass::cli::health::target(listen.parse().unwrap()).to_string(),
        "127.0.0.1:8080"
    );
    assert!(repo("config/compose/Caddyfile").contains("daypass:8080"));
}

#[tokio::test]
async fn the_healthcheck_command_exits_0_only_when_healthz_answers_200() {
    let app = TestApp::spawn().await;
    let check = |listen: String| {
        let mut env = app.env.clone();
        env.push(("DAYPASS__SERVER__LISTEN".into(), listen));
        let config = app.config_path.clone();
        async move { healthcheck(&config, &env).await }
    };
    let port = app.url.rsplit(':').next().unwrap().to_string();
    let out = check(format!("127.0.0.1:{port}")).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"status\":\"ok\""));
    // 0.0.0.0 (as in a container) is asked on loopback.
    let out = check(format!("0.0.0.0:{port}")).await;
    assert_eq!(out.status.code(), Some(0));

    // Nobody listening.
    let out = check(format!("127.0.0.1:{}", free_port())).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"));

    // A server that answers 503 (as /healthz does when the database is unreachable).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sick = listener.local_addr().unwrap().port();
    let router = Router::new().fallback(|| async {
        (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "{\"status\":\"unavailable\"}",
        )
    });
    tokio::spawn(async move { axum::serve(listener, router).await });
    let out = check(format!("127.0.0.1:{sick}")).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("503"));

    // A server that accepts and never answers: unhealthy within the check's own timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let started = Instant::now();
    let out = check(format!("127.0.0.1:{silent_port}")).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not answer"));
    drop(silent);
}
