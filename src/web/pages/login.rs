//! `/login`, `/login/verify`, `/logout`.
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use crate::config::{EmailTransport, IdentityConfig};
use crate::domain::Email;
use crate::identity::login::{self, LoginError};
use crate::server::context::Context;
use crate::server::rate_limit;
use crate::store::{Origin, Via};
use crate::web::cookies;
use crate::web::csrf::{CsrfForm, CsrfToken};
use crate::web::error::{WebError, WebResult};
use crate::web::identity::{local_path, ClientIp};
use crate::web::pages::layout::{csrf_field, page, PageHeader};

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

fn login_form(
    ctx: &Context,
    header: &PageHeader,
    email: &str,
    next: &str,
    error: Option<&str>,
) -> Response {
    let file_mode = matches!(ctx.config.email.transport, EmailTransport::File { .. });
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
        @if matches!(ctx.config.identity, IdentityConfig::Header { .. }) {
            p { "Sign-in is handled by your identity proxy." }
        } @else {
            p { "We will email you a six-digit code." }
            form method="post" action="/login" {
                (csrf_field(&header.csrf))
                input type="hidden" name="next" value=(next);
                label for="email" { "Email address" }
                input #email type="email" name="email" value=(email) autocomplete="email" required autofocus;
                button type="submit" { "Send me a code" }
            }
            @if file_mode {
                p.hint { "No mail server is configured: the email is written as a .eml file under the "
                    "folder in email.dir, and the code is also printed in daypass's log." }
            }
        }
    };
    (status, page("Sign in", header, None, body)).into_response()
}

pub async fn show_login(
    State(ctx): State<Arc<Context>>,
    header: PageHeader,
    Query(q): Query<LoginQuery>,
) -> Response {
    if let Some(provider) = &ctx.oidc {
        // Off to the identity provider, with the flow's id in a cookie for the way back.
        let next = local_path(q.next.as_deref());
        return match provider.start(&ctx.secret, &next).await {
            Ok(start) => (
                AppendHeaders([(
                    header::SET_COOKIE,
                    cookies::set(&ctx, cookies::OIDC, &start.flow, Some(600)),
                )]),
                Redirect::to(&start.url),
            )
                .into_response(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start a sign-in with the identity provider");
                WebError::Unavailable(e.to_string()).into_response()
            }
        };
    }
    let email = q.email.unwrap_or_default();
    login_form(&ctx, &header, &email, &local_path(q.next.as_deref()), None)
}

pub async fn submit_login(
    State(ctx): State<Arc<Context>>,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> WebResult<Response> {
    if matches!(ctx.config.identity, IdentityConfig::Header { .. }) {
        return Err(WebError::BadRequest(
            "Sign-in is handled by your identity proxy.".into(),
        ));
    }
    if ctx.oidc.is_some() {
        return Err(WebError::BadRequest(
            "Sign-in is with your identity provider: open /login.".into(),
        ));
    }
    let next = local_path(form.next.as_deref());
    let email = match Email::parse(&form.email) {
        Ok(e) => e,
        Err(msg) => {
            return Ok(login_form(
                &ctx,
                &PageHeader::signed_out(csrf),
                &form.email,
                &next,
                Some(&msg),
            ))
        }
    };
    let ip_key = format!("ip:{}", crate::web::identity::limit_key(ip.as_deref()));
    // Every sub-address reaches the same mailbox: count them as one.
    let email_key = format!("code:{}", email.person());
    let limits = [
        (email_key.as_str(), rate_limit::CODES_PER_EMAIL),
        (ip_key.as_str(), rate_limit::CODES_PER_IP),
    ];
    ctx.limits
        .check(&limits, ctx.clock.now_ms())
        .await?
        .map_err(WebError::TooManyRequests)?;
    let now = ctx.clock.now_ms();
    let challenge =
        ctx.apply(login::start(&ctx.store, &ctx.config, &ctx.secret, &email, now).await?);
    let verify = format!(
        "/login/verify?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &next)
            .finish()
    );
    let cookie = cookies::set(
        &ctx,
        cookies::LOGIN,
        &challenge,
        Some(login::CODE_LIFETIME_MS / 1000),
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&verify)).into_response())
}

fn code_form(csrf: &str, next: &str, sent_to: Option<&str>, error: Option<&str>) -> Response {
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
        @match sent_to {
            Some(email) => p { "Enter the six-digit code we emailed to " strong { (email) } ". It works for 10 minutes." },
            None => p { "Enter the six-digit code we emailed you. It works for 10 minutes." },
        }
        form method="post" action="/login/verify" {
            (csrf_field(csrf))
            input type="hidden" name="next" value=(next);
            label for="code" { "Code" }
            input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" maxlength="12" required autofocus;
            button type="submit" { "Sign in" }
        }
        p.hint {
            a href=(format!("/login?next={}", url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>())) { "Send a new code" }
            @if sent_to.is_some() { " (or use another address)" }
        }
    };
    (
        status,
        page(
            "Enter your code",
            &PageHeader::signed_out(csrf.to_string()),
            None,
            body,
        ),
    )
        .into_response()
}

pub async fn show_verify(
    State(ctx): State<Arc<Context>>,
    headers: HeaderMap,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<LoginQuery>,
) -> WebResult<Response> {
    let next = local_path(q.next.as_deref());
    let Some(challenge) = cookies::get(&headers, cookies::LOGIN) else {
        return Ok(Redirect::to(&crate::web::identity::login_url(&next, None)).into_response());
    };
    let sent_to = login::sent_to(&ctx.store, challenge, ctx.clock.now_ms()).await?;
    Ok(code_form(&csrf, &next, sent_to.as_deref(), None))
}

pub async fn submit_verify(
    State(ctx): State<Arc<Context>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    CsrfToken(csrf): CsrfToken,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> WebResult<Response> {
    let next = local_path(form.next.as_deref());
    let Some(challenge) = cookies::get(&headers, cookies::LOGIN) else {
        return Ok(code_form(
            &csrf,
            &next,
            None,
            Some("This sign-in has expired. Ask for a new code."),
        ));
    };
    let now = ctx.clock.now_ms();
    let verified = login::verify(
        &ctx.store,
        &ctx.config,
        &ctx.secret,
        challenge,
        &form.code,
        now,
    );
    match verified.await.map(|o| ctx.apply(o)) {
        Ok((session, email)) => {
            // A new session id at every login; the old one stops working.
            if let Some(old) = cookies::get(&headers, cookies::SESSION) {
                let origin = Origin {
                    client_ip: ip.as_deref(),
                    ..Origin::new(Via::Web)
                };
                ctx.apply(login::logout(&ctx.store, old, origin, now).await?);
            }
            tracing::info!(%email, "signed in");
            let max_age = ctx.config.server.session_ttl.as_secs() as i64;
            Ok((
                AppendHeaders([
                    (
                        header::SET_COOKIE,
                        cookies::set(&ctx, cookies::SESSION, &session, Some(max_age)),
                    ),
                    (
                        header::SET_COOKIE,
                        cookies::set(&ctx, cookies::LOGIN, "", Some(0)),
                    ),
                ]),
                Redirect::to(&next),
            )
                .into_response())
        }
        Err(LoginError::Db(e)) => Err(e.into()),
        Err(e) => {
            let sent_to = login::sent_to(&ctx.store, challenge, now).await?;
            Ok(code_form(
                &csrf,
                &next,
                sent_to.as_deref(),
                Some(&e.to_string()),
            ))
        }
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(
    State(ctx): State<Arc<Context>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult<Response> {
    if let Some(session) = cookies::get(&headers, cookies::SESSION) {
        let origin = Origin {
            client_ip: ip.as_deref(),
            ..Origin::new(Via::Web)
        };
        let now = ctx.clock.now_ms();
        ctx.apply(login::logout(&ctx.store, session, origin, now).await?);
    }
    Ok((
        [(
            header::SET_COOKIE,
            cookies::set(&ctx, cookies::SESSION, "", Some(0)),
        )],
        Redirect::to("/"),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /login/callback`: the identity provider sends the browser back here. Any failure is a
/// 400 that says why, and no session.
pub async fn callback(
    State(ctx): State<Arc<Context>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> WebResult<Response> {
    let Some(provider) = &ctx.oidc else {
        return Err(WebError::NotFound("There is no such page.".into()));
    };
    let clear_flow = (
        header::SET_COOKIE,
        cookies::set(&ctx, cookies::OIDC, "", Some(0)),
    );
    let refused = |why: String| {
        tracing::info!(why = %why, "a sign-in through the identity provider was refused");
        (
            AppendHeaders([clear_flow.clone()]),
            WebError::BadRequest(format!("{why} Open /login to sign in again.")),
        )
            .into_response()
    };
    if let Some(error) = &q.error {
        let detail = q.error_description.as_deref().unwrap_or("");
        return Ok(refused(format!(
            "The identity provider refused the sign-in ({}{}{}).",
            error.chars().take(100).collect::<String>(),
            if detail.is_empty() { "" } else { ": " },
            detail.chars().take(200).collect::<String>()
        )));
    }
    let (Some(code), Some(state)) = (&q.code, &q.state) else {
        return Ok(refused("The identity provider sent no code.".into()));
    };
    let Some(flow) = cookies::get(&headers, cookies::OIDC) else {
        return Ok(refused(
            "This sign-in was not started in this browser (or took too long).".into(),
        ));
    };
    let now = ctx.clock.now_ms();
    let finished = provider
        .finish(
            &ctx.store,
            &ctx.config,
            &ctx.secret,
            crate::identity::oidc::Callback { flow, state, code },
            now,
        )
        .await;
    let (signed_in, next) = match finished {
        Ok(outcome) => ctx.apply(outcome),
        Err(crate::identity::oidc::OidcError::Db(e)) => return Err(e.into()),
        Err(e) => return Ok(refused(e.to_string())),
    };
    // A new session id at every sign-in; the old one stops working.
    if let Some(old) = cookies::get(&headers, cookies::SESSION) {
        let origin = Origin {
            client_ip: ip.as_deref(),
            ..Origin::new(Via::Web)
        };
        ctx.apply(login::logout(&ctx.store, old, origin, now).await?);
    }
    tracing::info!(email = %signed_in.email, "signed in through the identity provider");
    let max_age = ((signed_in.expires_at - now) / 1000).max(1);
    Ok((
        AppendHeaders([
            (
                header::SET_COOKIE,
                cookies::set(&ctx, cookies::SESSION, &signed_in.session, Some(max_age)),
            ),
            clear_flow,
        ]),
        Redirect::to(&next),
    )
        .into_response())
}
