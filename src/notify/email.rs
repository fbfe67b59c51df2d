//! Sending mail: SMTP through lettre, or `.eml` files in a folder for a first run.
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{EmailConfig, EmailTransport, SmtpTls};
use crate::notify::SendError;

pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(PathBuf),
}

/// One mail to send.
pub struct Outgoing<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// The outbox row, for file names.
    pub id: i64,
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

    /// Sends one mail; `thread` is (thread name, is its first mail), so a request's mails thread.
    pub async fn send(
        &self,
        from: &Mailbox,
        mail: &Outgoing<'_>,
        thread: Option<(&str, bool)>,
    ) -> Result<(), SendError> {
        let (subject, text, html, id) = (mail.subject, mail.text, mail.html, mail.id);
        let to: Mailbox = mail.to.parse().map_err(|e| SendError {
            message: format!("bad recipient address: {e}"),
            permanent: true,
            retry_after_ms: None,
        })?;
        let mut builder = Message::builder()
            .from(from.clone())
            .to(to.clone())
            .subject(subject);
        if let Some((name, root)) = thread {
            // One thread per request and recipient: the first mail's id, which the others reply to.
            let hash = hex::encode(&crate::tokens::hash(to.email.as_ref())[..6]);
            let thread_id = format!("<daypass.{name}.{hash}@{}>", from.email.domain());
            builder = if root {
                builder.message_id(Some(thread_id))
            } else {
                builder.in_reply_to(thread_id.clone()).references(thread_id)
            };
        }
        if !matches!(thread, Some((_, true))) {
            // One id per outbox row: were a mail ever sent twice, it would show as the same mail.
            builder = builder.message_id(Some(format!(
                "<daypass.outbox-{id}@{}>",
                from.email.domain()
            )));
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                text.to_string(),
                html.to_string(),
            ))
            .map_err(|e| SendError {
                message: format!("cannot build the message: {e}"),
                permanent: true,
                retry_after_ms: None,
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
                        retry_after_ms: None,
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
                    retry_after_ms: None,
                })?;
                tracing::info!(path = %path.display(), subject, "email written to a file (email.transport = \"file\")");
                Ok(())
            }
        }
    }
}
