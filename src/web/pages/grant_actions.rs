//! What can be done to a live grant: end it early (the holder's "I'm done", or an approver),
//! or ask for more time (`/grants/{id}/extend`).
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use crate::access::grants;
use crate::access::requests::{self, NewAccessRequest, RequestError};
use crate::clock::{rfc3339, show};
use crate::config::{Application, Policy, Temporary};
use crate::domain::{presets, Reason};
use crate::policy::{evaluate, may_revoke, Access, Who};
use crate::server::context::Context;
use crate::store::{GrantRow, Origin, Store};
use crate::web::csrf::CsrfForm;
use crate::web::error::{WebError, WebResult};
use crate::web::id::Id;
use crate::web::identity::{local_path, ClientIp, Groups, User};
use crate::web::pages::layout::{csrf_field, page, PageHeader};
use crate::web::pages::request::parse_wish;

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
    Id(id): Id,
    CsrfForm(form): CsrfForm<RevokeForm>,
) -> WebResult<Response> {
    let not_found = || WebError::NotFound("There is no such grant.".into());
    let grant = Store::grant(ctx.store.reader(), id)
        .await?
        .ok_or_else(not_found)?;
    let request = Store::request(ctx.store.reader(), grant.request_id)
        .await?
        .ok_or_else(not_found)?;
    let temporary = ctx
        .config
        .temporary(&request.app_slug, &request.policy_name)
        .map(|(_, t)| t);
    if !may_revoke(temporary, &grant.email, &me) {
        return Err(not_found());
    }
    let reason = Reason::parse(&form.reason).map_err(WebError::BadRequest)?;
    let now = ctx.clock.now_ms();
    let by = me.as_str();
    let origin = Origin::web(ip.as_deref());
    let revoked = grants::revoke(
        &ctx.store,
        &ctx.config,
        id,
        by,
        origin,
        reason.as_option(),
        now,
    );
    ctx.apply(revoked.await?);
    Ok(Redirect::to(&local_path(form.next.as_deref())).into_response())
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
    groups: &[String],
    id: i64,
) -> WebResult<(GrantRow, &'c Application, &'c Policy, &'c Temporary)> {
    let not_found = || WebError::NotFound("There is no such grant.".into());
    let grant = Store::grant(ctx.store.reader(), id)
        .await?
        .ok_or_else(not_found)?;
    if &grant.email != me {
        return Err(not_found());
    }
    if !grant.is_live(ctx.clock.now_ms()) {
        return Err(WebError::Conflict(
            "This access has already ended; ask for access again instead.".into(),
        ));
    }
    let app = ctx
        .config
        .application(&grant.app_slug)
        .ok_or_else(not_found)?;
    match evaluate(app, Who::new(me, groups)) {
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
    header: &PageHeader,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let body = html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
        p { "Your access to " strong { (app.name) } " ends at "
            time datetime=(rfc3339(grant.expires_at)) { (show(grant.expires_at)) } "." }
        p { "If an approver agrees, access will last the time they choose from their approval (at most " (t.max_duration) ")." }
        form method="post" action=(format!("/grants/{}/extend", grant.id)) {
            (csrf_field(&header.csrf))
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
        page(&format!("More time on {}", app.name), header, None, body),
    )
        .into_response()
}

pub async fn show_extend(
    State(ctx): State<Arc<Context>>,
    User(me): User,
    Groups(groups): Groups,
    Id(id): Id,
    header: PageHeader,
) -> WebResult<Response> {
    let (grant, app, _, t) = extendable(&ctx, &me, &groups, id).await?;
    if let Some(r) = ctx
        .store
        .pending_request_of(me.as_str(), &app.slug, ctx.clock.now_ms())
        .await?
    {
        return Ok(Redirect::to(&format!("/requests/{}", r.id)).into_response());
    }
    Ok(extend_page(&grant, app, t, &header, None, StatusCode::OK))
}

pub async fn submit_extend(
    State(ctx): State<Arc<Context>>,
    User(me): User,
    Groups(groups): Groups,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    header: PageHeader,
    CsrfForm(form): CsrfForm<ExtendForm>,
) -> WebResult<Response> {
    let (grant, app, policy, t) = extendable(&ctx, &me, &groups, id).await?;
    let (justification, wished) = match parse_wish(t, &form.justification, &form.duration) {
        Ok(parsed) => parsed,
        Err(m) => {
            return Ok(extend_page(
                &grant,
                app,
                t,
                &header,
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
    let now = ctx.clock.now_ms();
    match requests::create(&ctx.store, &ctx.config, &ctx.secret, request, now).await {
        Ok(outcome) => {
            let id = ctx.apply(outcome);
            Ok(Redirect::to(&format!("/requests/{id}")).into_response())
        }
        Err(e @ RequestError::TooLong { .. }) => Ok(extend_page(
            &grant,
            app,
            t,
            &header,
            Some(&e.to_string()),
            StatusCode::BAD_REQUEST,
        )),
        Err(e) => Err(e.into()),
    }
}
