//! One-time codes by email: start a challenge, then trade the right code for a session.
use crate::access::change::{Change, Outcome, SessionChange};
use crate::config::{Config, EmailTransport};
use crate::domain::Email;
use crate::notify::{self, Event};
use crate::store::{AuditAction, NewAudit, Origin, Store};
use crate::tokens;

pub const CODE_LIFETIME_MS: i64 = 10 * 60 * 1000;
pub const MAX_TRIES: i64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("That code is not right. Check the latest email and try again.")]
    WrongCode,
    #[error("This code has expired or was used up. Ask for a new one.")]
    Expired,
    #[error("Too many wrong tries. Ask for a new code.")]
    TooManyTries,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn code_mac(secret: &[u8], challenge: &str, code: &str) -> Vec<u8> {
    tokens::hmac(
        secret,
        &[b"login-code", challenge.as_bytes(), code.as_bytes()],
    )
}

/// Creates a code for `email` and queues the email; returns the challenge token for the browser.
pub async fn start(
    store: &Store,
    config: &Config,
    secret: &[u8],
    email: &Email,
    now: i64,
) -> sqlx::Result<Outcome<String>> {
    let challenge = tokens::new_token();
    // The queued email holds a marker; the code is derived from the secret when it is sent.
    let salt = tokens::new_token();
    let code = tokens::derived_code(secret, &salt);
    let mut tx = store.begin().await?;
    Store::insert_login_code(
        &mut tx,
        &tokens::hash(&challenge),
        email.as_str(),
        &code_mac(secret, &challenge, &code),
        now,
        now + CODE_LIFETIME_MS,
    )
    .await?;
    let event = Event::LoginCode {
        to: email.as_str(),
        code: &tokens::code_marker(&salt),
    };
    let queued = notify::enqueue(&mut tx, config, event, now).await?;
    tx.commit().await?;
    if matches!(config.email.transport, EmailTransport::File { .. }) {
        // With no mail server, the log is where a first-time user finds their code.
        tracing::info!(email = %email, code = %code, "login code (email.transport is \"file\")");
    }
    Ok(Outcome::new(challenge, Change::queued(queued)))
}

/// Where the code of `challenge` was sent, while it can still be used.
pub async fn sent_to(store: &Store, challenge: &str, now: i64) -> sqlx::Result<Option<String>> {
    store.login_code_email(&tokens::hash(challenge), now).await
}

/// Checks `code` against the challenge; on success opens a session and returns its token and
/// the signed-in address.
pub async fn verify(
    store: &Store,
    config: &Config,
    secret: &[u8],
    challenge: &str,
    code: &str,
    now: i64,
) -> Result<Outcome<(String, Email)>, LoginError> {
    let challenge_hash = tokens::hash(challenge);
    let mut tx = store.begin().await?;
    let Some(row) = Store::try_login_code(&mut tx, &challenge_hash).await? else {
        return Err(LoginError::Expired);
    };
    if row.used_at.is_some() || row.expires_at <= now {
        return Err(LoginError::Expired);
    }
    if row.attempts > MAX_TRIES {
        tx.commit().await?;
        return Err(LoginError::TooManyTries);
    }
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if !tokens::equal(&code_mac(secret, challenge, &code), &row.code_mac) {
        tx.commit().await?;
        return Err(if row.attempts >= MAX_TRIES {
            LoginError::TooManyTries
        } else {
            LoginError::WrongCode
        });
    }
    if !Store::use_login_code(&mut tx, &challenge_hash, now).await? {
        return Err(LoginError::Expired);
    }
    let email = Email::parse(&row.email).map_err(|_| LoginError::Expired)?;
    let session = tokens::new_token();
    let id_hash = tokens::hash(&session);
    let expires_at = now + config.server.session_ttl.as_millis() as i64;
    Store::insert_session(&mut tx, &id_hash, email.as_str(), now, expires_at).await?;
    tx.commit().await?;
    let change = Change {
        sessions: vec![SessionChange::Started {
            id_hash,
            groups: config.groups_of(&email, &[]),
            email: email.clone(),
            expires_at,
        }],
        ..Default::default()
    };
    Ok(Outcome::new((session, email), change))
}

/// Ends a session at once.
/// On the record, so that other replicas following the audit log forget it too.
pub async fn logout(
    store: &Store,
    session: &str,
    origin: Origin<'_>,
    now: i64,
) -> sqlx::Result<Outcome<()>> {
    let id_hash = tokens::hash(session);
    let mut tx = store.begin().await?;
    if let Some(email) = Store::delete_session(&mut tx, &id_hash).await? {
        let audit = NewAudit {
            subject: Some(&email),
            ..NewAudit::new(now, AuditAction::SignedOut, &email, origin)
        };
        Store::append_audit(&mut tx, &audit).await?;
    }
    tx.commit().await?;
    let change = Change {
        sessions: vec![SessionChange::Ended { id_hash }],
        ..Default::default()
    };
    Ok(Outcome::new((), change))
}

/// Ends every session of `email` at once (an administrator's "sign out everywhere"), on the
/// record with the administrator as actor; returns how many ended.
pub async fn end_sessions(
    store: &Store,
    email: &Email,
    by: &str,
    origin: Origin<'_>,
    now: i64,
) -> sqlx::Result<Outcome<usize>> {
    let mut tx = store.begin().await?;
    let hashes = Store::delete_sessions_of(&mut tx, email.as_str()).await?;
    let audit = NewAudit {
        subject: Some(email.as_str()),
        ..NewAudit::new(now, AuditAction::SessionsEnded, by, origin)
    };
    Store::append_audit(&mut tx, &audit).await?;
    tx.commit().await?;
    let sessions = hashes
        .iter()
        .filter_map(|h| <[u8; 32]>::try_from(h.as_slice()).ok())
        .map(|id_hash| SessionChange::Ended { id_hash })
        .collect();
    let change = Change {
        sessions,
        ..Default::default()
    };
    Ok(Outcome::new(hashes.len(), change))
}
