//! Headless Firefox (Debian's firefox-esr, driven through geckodriver), as browser.rs does
//! Chromium. geckodriver serves one session at a time: one per window.
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};

use crate::procs::{free_port, Proc};

/// geckodriver, in a process group of its own with the Firefox it starts, stopped on drop.
pub struct GeckoDriver {
    _process: Proc,
    port: u16,
}

pub async fn geckodriver() -> GeckoDriver {
    let installed = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/geckodriver");
    let binary = [installed.as_path(), Path::new("/usr/bin/geckodriver")]
        .into_iter()
        .find(|p| p.exists())
        .expect("geckodriver is not installed: scripts/test.sh installs it (cargo install --root .tools geckodriver)");
    let port = free_port();
    let mut process = Proc::spawn_group(
        "geckodriver",
        Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    process.wait_for_port(port, Duration::from_secs(20)).await;
    GeckoDriver {
        _process: process,
        port,
    }
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
