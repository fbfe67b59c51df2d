//! `[email]`: who mail comes from and how it leaves (SMTP, or .eml files in a folder).
use std::path::PathBuf;

use serde::Deserialize;

use super::{secret, ConfigError, Result, SecretSource};

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    #[default]
    Smtp,
    File,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    #[default]
    None,
    Starttls,
    Tls,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawEmail {
    pub transport: TransportKind,
    pub from: String,
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username_env: String,
    pub password_env: String,
    pub username_file: Option<String>,
    pub password_file: Option<String>,
    pub dir: String,
}

impl Default for RawEmail {
    fn default() -> Self {
        Self {
            transport: TransportKind::Smtp,
            from: "daypass <daypass@localhost>".into(),
            host: "127.0.0.1".into(),
            port: 1025,
            tls: SmtpTls::None,
            username_env: "DAYPASS_SMTP_USERNAME".into(),
            password_env: "DAYPASS_SMTP_PASSWORD".into(),
            username_file: None,
            password_file: None,
            dir: "data/mail".into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct EmailConfig {
    pub from: lettre::message::Mailbox,
    pub transport: EmailTransport,
}

#[derive(Clone, Debug)]
pub enum EmailTransport {
    Smtp {
        host: String,
        port: u16,
        tls: SmtpTls,
        username: SecretSource,
        password: SecretSource,
    },
    File {
        dir: PathBuf,
    },
}

pub(super) fn email(raw: RawEmail) -> Result<EmailConfig> {
    let from = raw.from.parse().map_err(|e| {
        ConfigError::new(
            "email.from",
            format!("`{}` is not a mailbox: {e}", raw.from),
        )
    })?;
    let transport = match raw.transport {
        TransportKind::Smtp => {
            if raw.host.trim().is_empty() {
                return Err(ConfigError::new("email.host", "name the SMTP server"));
            }
            if raw.port == 0 {
                return Err(ConfigError::new("email.port", "0 is not a port"));
            }
            EmailTransport::Smtp {
                host: raw.host,
                port: raw.port,
                tls: raw.tls,
                username: secret(raw.username_env, raw.username_file),
                password: secret(raw.password_env, raw.password_file),
            }
        }
        TransportKind::File => {
            if raw.dir.trim().is_empty() {
                return Err(ConfigError::new(
                    "email.dir",
                    "name a folder for the .eml files",
                ));
            }
            EmailTransport::File {
                dir: PathBuf::from(raw.dir),
            }
        }
    };
    Ok(EmailConfig { from, transport })
}
