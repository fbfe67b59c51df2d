//! The `daypass` binary run as an operator runs it (`daypass serve`), with its JSON log kept.
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::procs::{free_port, Proc};

/// A running `daypass serve`; killed (and waited for) when dropped.
pub struct DaypassProcess {
    child: Proc,
    pub port: u16,
    log: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl DaypassProcess {
    /// Starts `daypass --config CONFIG serve` listening on a free loopback port, with `env`
    /// (`DAYPASS__…` overrides) on top, and waits (at most 30 s) until it serves.
    pub async fn start(config: &Path, env: &[(String, String)]) -> Self {
        let port = free_port();
        let mut child = Proc::spawn(
            "daypass",
            Command::new(env!("CARGO_BIN_EXE_daypass"))
                .arg("--config")
                .arg(config)
                .arg("serve")
                .env("DAYPASS__SERVER__LISTEN", format!("127.0.0.1:{port}"))
                .envs(crate::helpers::secret_env(
                    config.parent().unwrap_or(Path::new(".")),
                ))
                .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .env("DAYPASS_LOG", "json")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        );
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.take_stderr();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({ "fields": { "message": line } }));
                lines.lock().unwrap().push(value);
            }
        });
        let mut process = Self { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Some(status) = process.child.exited() {
                panic!("daypass exited early ({status}): {:?}", process.log());
            }
            assert!(
                Instant::now() < deadline,
                "daypass did not listen within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The port is bound before the database is ready (migrations may wait for another
        // replica's): serving means answering /healthz.
        let client = reqwest::Client::new();
        while client
            .get(format!("{}/healthz", process.url()))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .is_err()
        {
            if let Some(status) = process.child.exited() {
                panic!("daypass exited early ({status}): {:?}", process.log());
            }
            assert!(
                Instant::now() < deadline,
                "daypass did not answer /healthz within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        process
    }

    /// SIGKILL, as a crash or an OOM kill would stop it, and waits for it.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every log line so far, as JSON.
    pub fn log(&self) -> Vec<serde_json::Value> {
        self.log.lock().unwrap().clone()
    }

    /// Waits (at most 10 s) for a log line that `matches`, and returns it.
    pub async fn wait_for_log(
        &self,
        what: &str,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(line) = self.log().into_iter().find(|l| matches(l)) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {what} within 10 s: {:#?}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
