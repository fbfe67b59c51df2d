//! `/requests/{id}`: where a request stands; once approved, on to the application.
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Html;
use maud::html;

use super::csrf::CsrfToken;
use super::error::{WebError, WebResult};
use super::identity::User;
use super::layout::{csrf_field, page, when, Frame};
use super::request_pages::may_view;
use crate::context::Context;
use crate::decisions::temporary_for;
use crate::domain::duration_text;
use crate::store::Store;

pub async fn status(
    State(ctx): State<Arc<Context>>,
    CsrfToken(csrf): CsrfToken,
    User(me): User,
    Path(id): Path<String>,
) -> WebResult<Html<String>> {
    let not_found = || WebError::NotFound("There is no such request.".into());
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let request = Store::request(ctx.store.reader(), id)
        .await?
        .ok_or_else(not_found)?;
    let policy = temporary_for(&ctx, &request);
    // Others' requests are as good as absent: no hint that an id exists.
    if !may_view(&me, &request.requester, policy.map(|p| p.1)) {
        return Err(not_found());
    }
    let app_name = policy
        .map(|p| p.0.to_string())
        .unwrap_or_else(|| request.app_slug.clone());
    // An extension's grant is the one it extends.
    let grant = match request.extends_grant_id {
        Some(g) => Store::grant(ctx.store.reader(), g).await?,
        None => ctx.store.grant_for_request(id).await?,
    };
    let approvals = Store::approvals(ctx.store.reader(), id).await?;
    let approvals = crate::policy::counted(&ctx.config, &request, &approvals);
    let now = ctx.clock.now_ms();
    let live = grant
        .as_ref()
        .filter(|g| g.state == "active" && g.expires_at > now);
    let mine = me.as_str() == request.requester;
    let onward = request
        .redirect_to
        .as_deref()
        .filter(|_| mine && live.is_some());
    let head = match (request.state.as_str(), onward) {
        ("pending", _) => Some(html! { noscript { meta http-equiv="refresh" content="5"; } }),
        (_, Some(url)) => {
            Some(html! { meta http-equiv="refresh" content=(format!("2;url={url}")); })
        }
        _ => None,
    };
    let inner = html! {
        dl {
            dt { "Application" } dd { (app_name) }
            dt { "Requested by" } dd { (request.requester) }
            dt { "Why" } dd { (request.justification) }
            dt { "Asked at" } dd { (when(request.created_at)) }
            @if let Some(w) = request.wished_ms { dt { "Wished duration" } dd { (duration_text(w)) } }
        }
        @match request.state.as_str() {
            "pending" => {
                @if let (Some(_), Some(g)) = (request.extends_grant_id, &grant) {
                    p { "This asks for more time; access now ends at " (when(g.expires_at)) "." }
                }
                p role="status" { "Waiting for an approver. This page refreshes by itself; the request expires at "
                    strong { (when(request.expires_at)) } "." }
                @if request.approvals_needed > 1 {
                    p { (approvals.len()) " of " (request.approvals_needed) " approvals"
                        @for a in &approvals { " · " (a.approver) " (" (duration_text(a.duration_ms)) ")" } }
                }
                @if mine {
                    form method="post" action=(format!("/requests/{id}/cancel")) {
                        (csrf_field(&csrf))
                        button.secondary type="submit" { "Cancel this request" }
                    }
                }
            }
            "approved" => {
                @if let Some(g) = &grant {
                    @if live.is_some() {
                        p.ok role="status" { "Approved by " (g.approved_by) " for " (duration_text(g.expires_at - g.approved_at))
                            ". Access until " strong { (when(g.expires_at)) } "." }
                        @if let Some(url) = onward { p { a.button href=(url) { "Continue to " (app_name) } } }
                    } @else {
                        p { "Approved by " (g.approved_by) "; this access has ended ("
                            (g.state) " at " (when(g.ended_at.unwrap_or(g.expires_at))) ")." }
                        @if mine { p { a href=(format!("/request/{}", request.app_slug)) { "Ask again" } } }
                    }
                }
            }
            "denied" => {
                p.error role="status" { "Denied by " (request.decided_by.as_deref().unwrap_or("an approver"))
                    " at " (when(request.decided_at.unwrap_or(now))) "."
                    @if let Some(r) = request.reason.as_deref().filter(|r| !r.is_empty()) { " Reason: " (r) } }
            }
            "expired" => { p.error role="status" { "Nobody answered in time; this request expired." } }
            _ => { p role="status" { "This request was " (request.state) "." } }
        }
    };
    // The script on the page follows this element while the request is pending.
    let pending = request.state == "pending";
    let body = html! {
        div #live data-state=(request.state) data-refresh=[pending.then_some("2")] data-onward=[onward] { (inner) }
    };
    let viewer = me.to_string();
    Ok(page(
        &format!("Request #{id}"),
        &Frame {
            viewer: Some(&viewer),
            csrf: &csrf,
        },
        head,
        body,
    ))
}
