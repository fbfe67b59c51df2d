//! Headless Firefox (Debian's firefox-esr, driven through geckodriver), as browser.rs does
//! Chromium. geckodriver serves one session at a time: one per window.
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use tokio::process::{Child, Command};

use crate::daypass_process::free_port;

/// geckodriver, in a process group of its own with the Firefox it starts, stopped on drop.
pub struct GeckoDriver {
    child: Child,
    port: u16,
}

impl Drop for GeckoDriver {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

pub async fn geckodriver() -> GeckoDriver {
    let installed = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/geckodriver");
    let binary = [installed.as_path(), Path::new("/usr/bin/geckodriver")]
        .into_iter()
        .find(|p| p.exists())
        .expect("geckodriver is not installed: scripts/test.sh installs it (cargo install --root .tools geckodriver)");
    let port = free_port();
    let mut child = Command::new(binary)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .process_group(0)
        .spawn()
        .expect("start geckodriver");
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("geckodriver exited early: {status}");
        }
        assert!(Instant::now() < deadline, "geckodriver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    GeckoDriver { child, port }
}

pub async fn firefox(driver: &GeckoDriver) -> Client {
    assert!(
        Path::new("/usr/bin/firefox-esr").exists(),
        "Firefox is not installed: scripts/test.sh installs it (apt-get install firefox-esr)"
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "moz:firefoxOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/firefox-esr",
            "args": ["-headless", "--width=1024", "--height=900"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Firefox session")
}
