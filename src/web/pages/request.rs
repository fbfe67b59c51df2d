//! `/request/{slug}`: ask for access, with a reason.
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use crate::access::requests::{self, NewAccessRequest, RequestError};
use crate::config::{Application, Temporary};
use crate::domain::{presets, GrantDuration, Justification};
use crate::policy::{evaluate, Access, Who};
use crate::server::context::Context;
use crate::server::rate_limit;
use crate::web::csrf::CsrfForm;
use crate::web::error::{WebError, WebResult};
use crate::web::id::Id;
use crate::web::identity::{ClientIp, Groups, User};
use crate::web::pages::access_notes;
use crate::web::pages::layout::{csrf_field, page, when, PageHeader};
use crate::web::rd;

#[derive(Deserialize, Default)]
pub struct RdQuery {
    rd: Option<String>,
}

#[derive(Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    justification: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    rd: String,
}

fn app_for<'c>(ctx: &'c Context, slug: &str) -> WebResult<&'c Application> {
    ctx.config
        .application(slug)
        .ok_or_else(|| WebError::NotFound(format!("There is no application called `{slug}`.")))
}

fn checked_rd(app: &Application, raw: Option<&str>) -> WebResult<Option<String>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(r) => rd::checked(app, r).map(Some).ok_or_else(|| {
            WebError::BadRequest(format!(
                "That link does not point to {} ({}), so daypass will not follow it.",
                app.name, app.host
            ))
        }),
    }
}

fn continue_link(rd: &Option<String>, app: &Application) -> maud::Markup {
    html! {
        @if let Some(url) = rd { p { a.button href=(url) { "Continue to " (app.name) } } }
    }
}

pub async fn show_form(
    State(ctx): State<Arc<Context>>,
    User(me): User,
    Groups(groups): Groups,
    Path(slug): Path<String>,
    Query(q): Query<RdQuery>,
    header: PageHeader,
) -> WebResult<Response> {
    let app = app_for(&ctx, &slug)?;
    let rd = checked_rd(app, q.rd.as_deref())?;
    let now = ctx.clock.now_ms();
    let temporary = match evaluate(app, Who::new(&me, &groups)) {
        Access::Denied(_) => {
            return Err(WebError::Forbidden(format!(
                "{me} may not use {}.",
                app.name
            )))
        }
        Access::Persistent(_) => {
            let body = html! { p.ok { "You have access to " (app.name) " at any time." } (continue_link(&rd, app)) };
            return Ok(page(&app.name, &header, None, body).into_response());
        }
        Access::OnRequest(_, t) => t,
    };
    if let Some(g) = ctx.cache.grant(me.as_str(), &app.slug, now) {
        let body = html! {
            p.ok { "You have access until " strong { (when(g.expires_at)) } "." }
            (continue_link(&rd, app))
            @if rd.is_some() { (access_notes::cookie_hint(&ctx, app)) }
        };
        return Ok(page(&app.name, &header, None, body).into_response());
    }
    if let Some(r) = ctx
        .store
        .pending_request_of(me.as_str(), &app.slug, now)
        .await?
    {
        return Ok(Redirect::to(&format!("/requests/{}", r.id)).into_response());
    }
    let ended = ctx.store.latest_grant_of(me.as_str(), &app.slug).await?;
    let notice = ended.as_ref().map(access_notes::ended);
    Ok(form_page(
        app,
        temporary,
        &header,
        rd.as_deref().unwrap_or(""),
        ("", ""),
        (None, notice),
        StatusCode::OK,
    ))
}

/// The request form, refilled with what was typed (`justification`, `duration`), under an
/// error or a notice.
fn form_page(
    app: &Application,
    t: &Temporary,
    header: &PageHeader,
    rd: &str,
    (justification, duration): (&str, &str),
    (error, notice): (Option<&str>, Option<Markup>),
    status: StatusCode,
) -> Response {
    let prompt = t.prompt.as_deref().unwrap_or("Why do you need access?");
    let body = html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
        @if let Some(n) = notice { (n) }
        p { "Your request goes to the approvers of " strong { (app.name) } ". You can be given up to " (t.max_duration) "." }
        form method="post" action=(format!("/request/{}", app.slug)) {
            (csrf_field(&header.csrf))
            input type="hidden" name="rd" value=(rd);
            label for="justification" { (prompt) }
            textarea #justification name="justification" required[t.purpose_justification] maxlength="2000" { (justification) }
            label for="duration" { "How long do you need? (optional)" }
            select #duration name="duration" {
                option value="" selected[duration.is_empty()] { "Let the approver choose" }
                @for d in presets(t.max_duration) {
                    @let v = d.to_string();
                    option value=(v) selected[duration == v] { (v) }
                }
            }
            p.hint { "A wish only: the approver chooses how long, from a few minutes up to " (t.max_duration) "." }
            button type="submit" { "Request access" }
        }
    };
    (
        status,
        page(
            &format!("Request access to {}", app.name),
            header,
            None,
            body,
        ),
    )
        .into_response()
}

pub async fn submit(
    State(ctx): State<Arc<Context>>,
    User(me): User,
    Groups(groups): Groups,
    ClientIp(ip): ClientIp,
    Path(slug): Path<String>,
    header: PageHeader,
    CsrfForm(form): CsrfForm<RequestForm>,
) -> WebResult<Response> {
    let app = app_for(&ctx, &slug)?;
    let rd = checked_rd(app, Some(&form.rd))?;
    let (policy, temporary) = match evaluate(app, Who::new(&me, &groups)) {
        Access::OnRequest(p, t) => (p, t),
        Access::Persistent(_) => {
            return Err(WebError::Conflict(format!(
                "You already have access to {} at any time.",
                app.name
            )))
        }
        Access::Denied(_) => {
            return Err(WebError::Forbidden(format!(
                "{me} may not use {}.",
                app.name
            )))
        }
    };
    let invalid = |msg: &str| {
        form_page(
            app,
            temporary,
            &header,
            &form.rd,
            (&form.justification, &form.duration),
            (Some(msg), None),
            StatusCode::BAD_REQUEST,
        )
    };
    let (justification, wished) = match parse_wish(temporary, &form.justification, &form.duration) {
        Ok(parsed) => parsed,
        Err(m) => return Ok(invalid(&m)),
    };
    if ctx
        .cache
        .grant(me.as_str(), &app.slug, ctx.clock.now_ms())
        .is_some()
    {
        return Err(WebError::Conflict(
            "You already have live access to this application.".into(),
        ));
    }
    let request = NewAccessRequest {
        requester: &me,
        app,
        policy_name: &policy.name,
        temporary,
        justification: &justification,
        wished,
        redirect_to: rd.as_deref(),
        client_ip: ip.as_deref(),
        extends: None,
    };
    let user_key = format!("request:{}", me.person());
    let ip_key = format!(
        "request-ip:{}",
        crate::web::identity::limit_key(ip.as_deref())
    );
    let mut limits = vec![(user_key.as_str(), rate_limit::REQUESTS_PER_USER)];
    if !ctx.config.behind_identity_proxy() {
        // Behind an identity proxy every person shares the proxy's address.
        limits.push((ip_key.as_str(), rate_limit::REQUESTS_PER_IP));
    }
    ctx.limits
        .check(&limits, ctx.clock.now_ms())
        .await?
        .map_err(WebError::TooManyRequests)?;
    let now = ctx.clock.now_ms();
    match requests::create(&ctx.store, &ctx.config, &ctx.secret, request, now).await {
        Ok(outcome) => {
            let id = ctx.apply(outcome);
            Ok(Redirect::to(&format!("/requests/{id}")).into_response())
        }
        Err(e @ RequestError::TooLong { .. }) => Ok(invalid(&e.to_string())),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct CancelForm {}

/// `POST /requests/{id}/cancel`: the requester withdraws a pending request.
pub async fn cancel(
    State(ctx): State<Arc<Context>>,
    User(me): User,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    CsrfForm(_): CsrfForm<CancelForm>,
) -> WebResult<Response> {
    let now = ctx.clock.now_ms();
    ctx.apply(requests::cancel(&ctx.store, &ctx.config, id, &me, ip.as_deref(), now).await?);
    Ok(Redirect::to(&format!("/requests/{id}")).into_response())
}

/// The reason and the wished duration of a request or an extension, as typed.
pub fn parse_wish(
    t: &Temporary,
    justification: &str,
    duration: &str,
) -> Result<(Justification, Option<GrantDuration>), String> {
    let justification = Justification::parse(justification, t.purpose_justification)?;
    let wished = match duration.trim() {
        "" => None,
        d => Some(GrantDuration::parse(d)?),
    };
    Ok((justification, wished))
}
