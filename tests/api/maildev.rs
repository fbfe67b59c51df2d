//! A real SMTP server on loopback (maildev), shared by every test in this binary.
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::procs::free_port;

pub struct MailDev {
    pub smtp_port: u16,
    pub api: String,
    /// The watchdog shell; it ends maildev when this process ends, so it is never waited on here.
    _watchdog: std::sync::Mutex<std::process::Child>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Mail {
    pub subject: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub html: String,
    pub to: Vec<Address>,
    #[serde(default)]
    pub headers: serde_json::Value,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Address {
    pub address: String,
}

fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("DAYPASS_MAILDEV") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/node_modules/.bin/maildev");
    assert!(
        p.exists(),
        "maildev is not installed at {}: run `scripts/test.sh` (it installs it), or `npm install --prefix .tools maildev@3.0.0`",
        p.display()
    );
    p
}

/// Starts maildev once; a watchdog shell stops it when this test process ends.
pub fn shared() -> &'static MailDev {
    static MAILDEV: OnceLock<MailDev> = OnceLock::new();
    MAILDEV.get_or_init(|| {
        let (smtp, web) = (free_port(), free_port());
        let dir = std::env::temp_dir().join(format!("daypass-maildev-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("maildev folder");
        let script = format!(
            "'{bin}' --ip 127.0.0.1 --web-ip 127.0.0.1 -s {smtp} -w {web} --mail-directory '{dir}' >/dev/null 2>&1 & m=$!; \
             while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; kill $m; rm -rf '{dir}'",
            bin = binary().display(),
            dir = dir.display(),
            pid = std::process::id()
        );
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .spawn()
            .expect("start maildev");
        let api = format!("http://127.0.0.1:{web}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = std::net::TcpStream::connect(("127.0.0.1", smtp)).is_ok()
                && std::net::TcpStream::connect(("127.0.0.1", web)).is_ok();
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "maildev did not start within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        MailDev { smtp_port: smtp, api, _watchdog: std::sync::Mutex::new(watchdog) }
    })
}

impl MailDev {
    pub async fn all(&self) -> Vec<Mail> {
        let res = reqwest::get(format!("{}/api/email", self.api))
            .await
            .expect("maildev API");
        res.json().await.expect("maildev JSON")
    }

    /// Mail sent to `to`, oldest first.
    pub async fn to(&self, to: &str) -> Vec<Mail> {
        self.all()
            .await
            .into_iter()
            .filter(|m| m.to.iter().any(|a| a.address.eq_ignore_ascii_case(to)))
            .collect()
    }

    /// Waits (at most 15 s) for a mail to `to` whose subject contains `subject`.
    pub async fn wait_for(&self, to: &str, subject: &str) -> Mail {
        self.wait_for_text(to, subject, "").await
    }

    /// Waits for a mail to `to` whose subject contains `subject` and whose text contains `text`.
    pub async fn wait_for_text(&self, to: &str, subject: &str, text: &str) -> Mail {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mails = self.to(to).await;
            let found = mails
                .into_iter()
                .rev()
                .find(|m| m.subject.contains(subject) && m.text.contains(text));
            if let Some(m) = found {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "no mail to {to} with subject containing {subject:?} and text containing {text:?} within 15 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
