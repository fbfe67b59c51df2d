//! `/requests/{id}`: where a request stands; once approved, on to the application.
use std::sync::Arc;

use axum::extract::State;
use axum::response::Html;
use maud::html;

use crate::access::view::RequestView;
use crate::domain::duration_text;
use crate::policy::may_view;
use crate::server::context::Context;
use crate::store::RequestState;
use crate::web::csrf::CsrfToken;
use crate::web::error::{WebError, WebResult};
use crate::web::id::Id;
use crate::web::identity::User;
use crate::web::pages::layout::{csrf_field, page, when, PageHeader};

pub async fn status(
    State(ctx): State<Arc<Context>>,
    CsrfToken(csrf): CsrfToken,
    User(me): User,
    Id(id): Id,
    header: PageHeader,
) -> WebResult<Html<String>> {
    let not_found = || WebError::NotFound("There is no such request.".into());
    let view = RequestView::load(&ctx.store, &ctx.config, id)
        .await?
        .ok_or_else(not_found)?;
    // Others' requests are as good as absent: no hint that an id exists.
    if !may_view(view.temporary.as_ref(), &view.request.requester, &me) && !ctx.config.is_admin(&me)
    {
        return Err(not_found());
    }
    let RequestView {
        request,
        grant,
        approvals,
        app_name,
        ..
    } = &view;
    let now = ctx.clock.now_ms();
    let live = view.live_grant(now);
    let mine = me.same_person(&request.requester);
    let onward = request
        .redirect_to
        .as_deref()
        .filter(|_| mine && live.is_some());
    let head = match (request.state, onward) {
        (RequestState::Pending, _) => {
            Some(html! { noscript { meta http-equiv="refresh" content="5"; } })
        }
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
        @match request.state {
            RequestState::Pending => {
                @if let (Some(_), Some(g)) = (request.extends_grant_id, grant) {
                    p { "This asks for more time; access now ends at " (when(g.expires_at)) "." }
                }
                p role="status" { "Waiting for an approver. This page refreshes by itself; the request expires at "
                    strong { (when(request.expires_at)) } "." }
                @if request.approvals_needed > 1 {
                    p { (approvals.len()) " of " (request.approvals_needed) " approvals"
                        @for a in approvals { " · " (a.approver) " (" (duration_text(a.duration_ms)) ")" } }
                }
                @if mine {
                    form method="post" action=(format!("/requests/{id}/cancel")) {
                        (csrf_field(&csrf))
                        button.secondary type="submit" { "Cancel this request" }
                    }
                }
            }
            RequestState::Approved => {
                @if let Some(g) = grant {
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
            RequestState::Denied => {
                p.error role="status" { "Denied by " (request.decided_by.as_deref().unwrap_or("an approver"))
                    " at " (when(request.decided_at.unwrap_or(now))) "."
                    @if let Some(r) = request.reason.as_deref().filter(|r| !r.is_empty()) { " Reason: " (r) } }
            }
            RequestState::Expired => { p.error role="status" { "Nobody answered in time; this request expired." } }
            RequestState::Cancelled => { p role="status" { "This request was cancelled." } }
        }
    };
    // The script on the page follows this element while the request is pending.
    let pending = request.state == RequestState::Pending;
    let body = html! {
        div #live data-state=(request.state) data-refresh=[pending.then_some("2")] data-onward=[onward] { (inner) }
    };
    Ok(page(&format!("Request #{id}"), &header, head, body))
}
