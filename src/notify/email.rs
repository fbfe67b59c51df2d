//! Sending mail: SMTP through lettre, or `.eml` files in a folder for a first run.
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{EmailConfig, EmailTransport, SmtpTls};

pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(PathBuf),
}

/// Why a send failed, and whether trying again could help.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}

impl Mailer {
    pub fn new(config: &EmailConfig) -> anyhow::Result<Self> {
        match &config.transport {
            EmailTransport::File { dir } => Ok(Self::File(dir.clone())),
            EmailTransport::Smtp {
                host,
                port,
                tls,
                username,
                password,
            } => {
                let builder = match tls {
                    SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                    SmtpTls::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?
                    }
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
                };
                let mut builder = builder.port(*port).timeout(Some(Duration::from_secs(15)));
                if let (Some(user), Some(pass)) = (username.read()?, password.read()?) {
                    builder = builder.credentials(Credentials::new(user, pass));
                }
                Ok(Self::Smtp(builder.build()))
            }
        }
    }

    pub async fn send(
        &self,
        from: &Mailbox,
        to: &str,
        subject: &str,
        text: &str,
        html: &str,
        id: i64,
    ) -> Result<(), SendError> {
        let to: Mailbox = to.parse().map_err(|e| SendError {
            message: format!("bad recipient address: {e}"),
            permanent: true,
        })?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(subject)
            .multipart(MultiPart::alternative_plain_html(
                text.to_string(),
                html.to_string(),
            ))
            .map_err(|e| SendError {
                message: format!("cannot build the message: {e}"),
                permanent: true,
            })?;
        match self {
            Self::Smtp(transport) => {
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| SendError {
                        permanent: e.is_permanent(),
                        message: format!("{e} (check email.host, email.port and email.tls)"),
                    })
            }
            Self::File(dir) => {
                let path = dir.join(format!(
                    "{}-{id}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S")
                ));
                let write = async {
                    tokio::fs::create_dir_all(dir).await?;
                    tokio::fs::write(&path, message.formatted()).await
                };
                write.await.map_err(|e| SendError {
                    message: format!("cannot write {}: {e}", path.display()),
                    permanent: false,
                })?;
                tracing::info!(path = %path.display(), subject, "email written to a file (email.transport = \"file\")");
                Ok(())
            }
        }
    }
}
