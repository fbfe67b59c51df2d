//! `/approvals`: what waits for the signed-in approver, oldest first, decided right there with
//! the same rules and code path as a review link; and what they decided lately.
use std::sync::Arc;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use crate::access::decisions::{self, Verdict};
use crate::access::view::RequestView;
use crate::domain::{duration_text, first_choice, presets, Email, GrantDuration, Reason};
use crate::policy;
use crate::server::context::Context;
use crate::store::{AuditAction, Origin};
use crate::web::csrf::CsrfForm;
use crate::web::error::{WebError, WebResult};
use crate::web::id::Id;
use crate::web::identity::{ClientIp, User};
use crate::web::pages::layout::{csrf_field, page, when, PageHeader};

/// How many waiting requests the page reads at most.
const MAX_OPEN: i64 = 500;

/// The requests `me` may decide now (never their own), each with its policy, oldest first.
pub async fn waiting_for(ctx: &Context, me: &Email) -> sqlx::Result<Vec<RequestView>> {
    let now = ctx.clock.now_ms();
    let mut out = Vec::new();
    for r in ctx.store.open_requests(now, MAX_OPEN).await? {
        let Some((_, t)) = ctx.config.temporary(&r.app_slug, &r.policy_name) else {
            continue;
        };
        if policy::may_decide(t, me, &r.requester, r.escalated_at.is_some()).is_err() {
            continue;
        }
        let Some(view) = RequestView::load(&ctx.store, &ctx.config, r.id).await? else {
            continue;
        };
        // An approval of mine already counts: the rest is up to the others.
        if view.approvals.iter().any(|a| a.approver.same_person(me)) {
            continue;
        }
        out.push(view);
    }
    Ok(out)
}

fn item(view: &RequestView, csrf: &str) -> Markup {
    let r = &view.request;
    let max = view.temporary.as_ref().map(|t| t.max_duration);
    html! {
        li {
            strong { (r.requester) } " asks for "
            @if r.extends_grant_id.is_some() { "more time on " }
            strong { (view.app_name) }
            dl {
                dt { "Why" } dd { (r.justification) }
                dt { "Asked at" } dd { (when(r.created_at)) }
                dt { "Expires" } dd { (when(r.expires_at)) }
                @if let Some(w) = r.wished_ms { dt { "Wished" } dd { (duration_text(w)) } }
                @if r.approvals_needed > 1 {
                    dt { "Approvals" } dd { (view.approvals.len()) " of " (r.approvals_needed) }
                }
            }
            @if let Some(max) = max {
                form method="post" action=(format!("/approvals/{}", r.id)) {
                    (csrf_field(csrf))
                    label for=(format!("duration-{}", r.id)) { "Duration (at most " (max) ")" }
                    select id=(format!("duration-{}", r.id)) name="duration" {
                        @let first = first_choice(None, r.wished_ms, max);
                        @for d in presets(max) {
                            option value=(d.to_string()) selected[d == first] { (d.to_string()) }
                        }
                    }
                    label for=(format!("reason-{}", r.id)) { "Reason (optional, shown to the requester)" }
                    input id=(format!("reason-{}", r.id)) name="reason" maxlength="1000";
                    button type="submit" name="decision" value="approve" { "Approve" }
                    button.danger type="submit" name="decision" value="deny" { "Deny" }
                }
            }
        }
    }
}

pub async fn show(
    State(ctx): State<Arc<Context>>,
    User(me): User,
    header: PageHeader,
) -> WebResult<Html<String>> {
    let waiting = waiting_for(&ctx, &me).await?;
    let decided = ctx.store.decisions_by(me.as_str(), 20).await?;
    let body = html! {
        @if waiting.is_empty() {
            p.ok role="status" { "Nothing waits for you." }
        } @else {
            p { (waiting.len()) " waiting for your decision, oldest first." }
            ul.apps { @for v in &waiting { (item(v, &header.csrf)) } }
        }
        @if !decided.is_empty() {
            h2 { "Recently decided by you" }
            ul.apps {
                @for e in &decided {
                    li {
                        @let what = match e.action {
                            AuditAction::RequestApproved => "Approved",
                            AuditAction::RequestDenied => "Denied",
                            AuditAction::GrantExtended => "Extended",
                            _ => "Approved (one of several)",
                        };
                        (what) " "
                        @if let Some(id) = e.request_id { a href=(format!("/requests/{id}")) { "#" (id) } }
                        " · " (e.subject.as_deref().unwrap_or("")) " → "
                        (e.app_slug.as_deref().map(|s| ctx.config.app_name(s)).unwrap_or(""))
                        @if let Some(ms) = e.duration_ms { " · " (duration_text(ms)) }
                        " · " (when(e.at))
                    }
                }
            }
        }
    };
    Ok(page("Approvals", &header, None, body))
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    reason: String,
}

/// `POST /approvals/{id}`: the same decision as a review link's, from the inbox.
pub async fn decide(
    State(ctx): State<Arc<Context>>,
    User(me): User,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    CsrfForm(form): CsrfForm<DecideForm>,
) -> WebResult<Response> {
    let verdict = match form.decision.as_str() {
        "approve" => {
            Verdict::Approve(GrantDuration::parse(&form.duration).map_err(WebError::BadRequest)?)
        }
        "deny" => Verdict::Deny(Reason::parse(&form.reason).map_err(WebError::BadRequest)?),
        _ => return Err(WebError::BadRequest("Choose Approve or Deny.".into())),
    };
    let now = ctx.clock.now_ms();
    let origin = Origin::web(ip.as_deref());
    let decided = decisions::decide(&ctx.store, &ctx.config, id, &me, origin, verdict, now).await?;
    ctx.apply(decided);
    Ok(Redirect::to("/approvals").into_response())
}
