//! What can be done to a live grant: end it early (the holder's "I'm done", or an approver),
//! or ask for more time (`/grants/{id}/extend`).
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::csrf::{CsrfForm, CsrfToken};
use super::error::{WebError, WebResult};
use super::identity::{local_path, ClientIp, User};
use super::layout::{csrf_field, page, Frame};
use super::request_pages::parse_wish;
use crate::clock::{rfc3339, show};
use crate::config::{Application, Policy, Temporary};
use crate::context::Context;
use crate::decisions::{temporary_for, Origin};
use crate::domain::{presets, Reason};
use crate::grants::{self, RevokeError};
use crate::policy::{evaluate, Access};
use crate::requests::{self, NewAccessRequest, RequestError};
use crate::store::{GrantRow, Store};

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    reason: String,
    next: Option<String>,
}

pub async fn revoke(
    State(ctx): State<Arc<Context>>,
    User(me): User,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RevokeForm>,
) -> WebResult<Response> {
    let not_found = || WebError::NotFound("There is no such grant.".into());
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let grant = Store::grant(ctx.store.reader(), id)
        .await?
        .ok_or_else(not_found)?;
    let request = Store::request(ctx.store.reader(), grant.request_id)
        .await?
        .ok_or_else(not_found)?;
    let approver = temporary_for(&ctx, &request)
        .is_some_and(|(_, t)| t.approvers.contains(&me) || t.escalate_to.contains(&me));
    if me.as_str() != grant.email && !approver {
        return Err(not_found());
    }
    let reason = Reason::parse(&form.reason).map_err(WebError::BadRequest)?;
    let origin = Origin {
        channel: "web",
        client_ip: ip.as_deref(),
        discord_user: None,
    };
    let now = ctx.clock.now_ms();
    match grants::revoke(
        &ctx.store,
        &ctx.config,
        id,
        me.as_str(),
        origin,
        reason.as_option(),
        now,
    )
    .await
    {
        Ok(g) => {
            ctx.cache.put_grant(&g);
            ctx.wake_outbox();
            Ok(Redirect::to(&local_path(form.next.as_deref())).into_response())
        }
        Err(RevokeError::Db(e)) => Err(e.into()),
        Err(e @ RevokeError::AlreadyEnded(_)) => Err(WebError::Conflict(e.to_string())),
        Err(RevokeError::NotFound(_)) => Err(not_found()),
    }
}

#[derive(Deserialize)]
pub struct ExtendForm {
    #[serde(default)]
    justification: String,
    #[serde(default)]
    duration: String,
}

/// The holder's live grant `id`, with the policy it may be extended under.
async fn extendable<'c>(
    ctx: &'c Context,
    me: &crate::domain::Email,
    id: &str,
) -> WebResult<(GrantRow, &'c Application, &'c Policy, &'c Temporary)> {
    let not_found = || WebError::NotFound("There is no such grant.".into());
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let grant = Store::grant(ctx.store.reader(), id)
        .await?
        .ok_or_else(not_found)?;
    if grant.email != me.as_str() {
        return Err(not_found());
    }
    if grant.state != "active" || grant.expires_at <= ctx.clock.now_ms() {
        return Err(WebError::Conflict(
            "This access has already ended; ask for access again instead.".into(),
        ));
    }
    let app = ctx
        .config
        .application(&grant.app_slug)
        .ok_or_else(not_found)?;
    match evaluate(app, me) {
        Access::OnRequest(p, t) => Ok((grant, app, p, t)),
        _ => Err(WebError::Forbidden(
            "Your access to this application can no longer be extended.".into(),
        )),
    }
}

fn extend_page(
    grant: &GrantRow,
    app: &Application,
    t: &Temporary,
    frame: &Frame<'_>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let body = html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
        p { "Your access to " strong { (app.name) } " ends at "
            time datetime=(rfc3339(grant.expires_at)) { (show(grant.expires_at)) } "." }
        p { "If an approver agrees, access will last the time they choose from their approval (at most " (t.max_duration) ")." }
        form method="post" action=(format!("/grants/{}/extend", grant.id)) {
            (csrf_field(frame.csrf))
            label for="justification" { (t.prompt.as_deref().unwrap_or("Why do you need more time?")) }
            textarea #justification name="justification" required[t.purpose_justification] maxlength="2000" {}
            label for="duration" { "How much more time? (optional)" }
            select #duration name="duration" {
                option value="" { "Let the approver choose" }
                @for d in presets(t.max_duration) { option value=(d.to_string()) { (d.to_string()) } }
            }
            button type="submit" { "Ask for more time" }
        }
    };
    (
        status,
        page(&format!("More time on {}", app.name), frame, None, body),
    )
        .into_response()
}

pub async fn show_extend(
    State(ctx): State<Arc<Context>>,
    CsrfToken(csrf): CsrfToken,
    User(me): User,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let (grant, app, _, t) = extendable(&ctx, &me, &id).await?;
    if let Some(r) = ctx
        .store
        .pending_request_of(me.as_str(), &app.slug, ctx.clock.now_ms())
        .await?
    {
        return Ok(Redirect::to(&format!("/requests/{}", r.id)).into_response());
    }
    let viewer = me.to_string();
    Ok(extend_page(
        &grant,
        app,
        t,
        &Frame {
            viewer: Some(&viewer),
            csrf: &csrf,
        },
        None,
        StatusCode::OK,
    ))
}

pub async fn submit_extend(
    State(ctx): State<Arc<Context>>,
    CsrfToken(csrf): CsrfToken,
    User(me): User,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ExtendForm>,
) -> WebResult<Response> {
    let (grant, app, policy, t) = extendable(&ctx, &me, &id).await?;
    let viewer = me.to_string();
    let frame = Frame {
        viewer: Some(&viewer),
        csrf: &csrf,
    };
    let (justification, wished) = match parse_wish(t, &form.justification, &form.duration) {
        Ok(parsed) => parsed,
        Err(m) => {
            return Ok(extend_page(
                &grant,
                app,
                t,
                &frame,
                Some(&m),
                StatusCode::BAD_REQUEST,
            ))
        }
    };
    let request = NewAccessRequest {
        requester: &me,
        app,
        policy_name: &policy.name,
        temporary: t,
        justification: &justification,
        wished,
        redirect_to: None,
        client_ip: ip.as_deref(),
        extends: Some(&grant),
    };
    match requests::create(&ctx, request).await {
        Ok(id) => Ok(Redirect::to(&format!("/requests/{id}")).into_response()),
        Err(RequestError::Db(e)) => Err(e.into()),
        Err(e @ RequestError::TooLong { .. }) => Ok(extend_page(
            &grant,
            app,
            t,
            &frame,
            Some(&e.to_string()),
            StatusCode::BAD_REQUEST,
        )),
        Err(e) => Err(WebError::Conflict(e.to_string())),
    }
}
