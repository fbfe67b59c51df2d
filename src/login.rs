//! One-time codes by email: start a challenge, then trade the right code for a session.
use crate::context::Context;
use crate::domain::Email;
use crate::notify::{self, Event};
use crate::store::Store;
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

fn code_mac(ctx: &Context, challenge: &str, code: &str) -> Vec<u8> {
    tokens::hmac(
        &ctx.secret,
        &[b"login-code", challenge.as_bytes(), code.as_bytes()],
    )
}

/// Creates a code for `email` and queues the email; returns the challenge token for the browser.
pub async fn start(ctx: &Context, email: &Email) -> sqlx::Result<String> {
    let challenge = tokens::new_token();
    // The queued email holds a marker; the code is derived from the secret when it is sent.
    let salt = tokens::new_token();
    let code = tokens::derived_code(&ctx.secret, &salt);
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.begin().await?;
    Store::insert_login_code(
        &mut tx,
        &tokens::hash(&challenge),
        email.as_str(),
        &code_mac(ctx, &challenge, &code),
        now,
        now + CODE_LIFETIME_MS,
    )
    .await?;
    notify::enqueue(
        &mut tx,
        &ctx.config,
        Event::LoginCode {
            to: email.as_str(),
            code: &tokens::code_marker(&salt),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    ctx.wake_outbox();
    if matches!(
        ctx.config.email.transport,
        crate::config::EmailTransport::File { .. }
    ) {
        // With no mail server, the log is where a first-time user finds their code.
        tracing::info!(email = %email, code = %code, "login code (email.transport is \"file\")");
    }
    Ok(challenge)
}

/// Where the code of `challenge` was sent, while it can still be used.
pub async fn sent_to(ctx: &Context, challenge: &str) -> sqlx::Result<Option<String>> {
    ctx.store
        .login_code_email(&tokens::hash(challenge), ctx.clock.now_ms())
        .await
}

/// Checks `code` against the challenge; on success opens a session and returns its token.
pub async fn verify(
    ctx: &Context,
    challenge: &str,
    code: &str,
) -> Result<(String, String), LoginError> {
    let now = ctx.clock.now_ms();
    let challenge_hash = tokens::hash(challenge);
    let mut tx = ctx.store.begin().await?;
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
    if !tokens::equal(&code_mac(ctx, challenge, &code), &row.code_mac) {
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
    let session = tokens::new_token();
    let session_hash = tokens::hash(&session);
    let expires_at = now + ctx.config.server.session_ttl.as_millis() as i64;
    Store::insert_session(&mut tx, &session_hash, &row.email, now, expires_at).await?;
    tx.commit().await?;
    if let Ok(email) = Email::parse(&row.email) {
        ctx.cache.put_session(&session_hash, email, expires_at);
    }
    Ok((session, row.email))
}

/// Ends a session at once, in the database and in the access cache.
pub async fn logout(ctx: &Context, session: &str) -> sqlx::Result<()> {
    let hash = tokens::hash(session);
    let mut tx = ctx.store.begin().await?;
    Store::delete_session(&mut tx, &hash).await?;
    tx.commit().await?;
    ctx.cache.remove_session(&hash);
    Ok(())
}
