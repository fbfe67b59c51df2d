//! `/review/{token}`: an approver's page from the email link. GET shows, only POST decides.
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use crate::access::decisions::{self, DecideError, Verdict};
use crate::access::view::RequestView;
use crate::clock::show;
use crate::domain::{duration_text, first_choice, presets, Email, GrantDuration, Reason};
use crate::server::context::Context;
use crate::store::{Origin, RequestState, ReviewTokenRow, Via};
use crate::tokens;
use crate::web::csrf::CsrfForm;
use crate::web::error::{WebError, WebResult};
use crate::web::identity::{login_url, ClientIp, Viewer};
use crate::web::pages::layout::{csrf_field, page, PageHeader};

#[derive(Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    reason: String,
}

const INVALID: &str = "This review link is not valid. Use the newest link from your email.";

async fn token_row(ctx: &Context, token: &str) -> WebResult<ReviewTokenRow> {
    if token.len() != 64 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(WebError::NotFound(INVALID.into()));
    }
    ctx.store
        .review_token(&tokens::hash(token))
        .await?
        .ok_or_else(|| WebError::NotFound(INVALID.into()))
}

fn wrong_person(approver: &str) -> WebError {
    WebError::Forbidden(format!(
        "This link was sent to {approver}. Sign out and sign in as that address to use it."
    ))
}

pub async fn show_review(
    State(ctx): State<Arc<Context>>,
    Viewer(viewer): Viewer,
    Path(token): Path<String>,
    header: PageHeader,
) -> WebResult<Response> {
    let row = token_row(&ctx, &token).await?;
    let Some(me) = viewer else {
        return Ok(
            Redirect::to(&login_url(&format!("/review/{token}"), Some(&row.approver)))
                .into_response(),
        );
    };
    if me.as_str() != row.approver {
        return Err(wrong_person(&row.approver));
    }
    render(&ctx, &header, &me, &token, &row, None, StatusCode::OK).await
}

async fn render(
    ctx: &Context,
    header: &PageHeader,
    me: &Email,
    token: &str,
    row: &ReviewTokenRow,
    error: Option<&str>,
    status: StatusCode,
) -> WebResult<Response> {
    let csrf = header.csrf.as_str();
    let view = RequestView::load(&ctx.store, &ctx.config, row.request_id)
        .await?
        .ok_or_else(|| WebError::NotFound(INVALID.into()))?;
    let RequestView {
        request,
        grant,
        approvals,
        app_name,
        temporary,
    } = &view;
    let now = ctx.clock.now_ms();
    let live = view.live_grant(now);
    let open = request.is_open(now) && row.used_at.is_none();
    let mine_done = approvals.iter().any(|a| a.approver.same_person(me));
    let body = html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
        dl {
            dt { "Requested by" } dd { (request.requester) }
            dt { "Application" } dd { (app_name) }
            dt { "Why" } dd { (request.justification) }
            dt { "Asked at" } dd { (show(request.created_at)) }
            dt { "Wished duration" } dd { (request.wished_ms.map(duration_text).unwrap_or_else(|| "not specified".into())) }
            dt { "Request expires" } dd { (show(request.expires_at)) }
        }
        @if let (Some(_), Some(g)) = (request.extends_grant_id, grant) {
            p { "This asks for more time on access that now ends at "
                time datetime=(crate::clock::rfc3339(g.expires_at)) { (show(g.expires_at)) } "." }
        }
        @if request.approvals_needed > 1 {
            p { (approvals.len()) " of " (request.approvals_needed) " approvals"
                @for a in approvals { " · " (a.approver) " (" (duration_text(a.duration_ms)) ")" } }
        }
        @if open && mine_done {
            p.ok role="status" { "You approved. The request waits for the other approvals." }
        } @else if open {
            @if let Some(t) = temporary {
                @let default = first_choice(None, request.wished_ms, t.max_duration);
                form method="post" action=(format!("/review/{token}")) {
                    (csrf_field(csrf))
                    label for="duration" { "Duration (at most " (t.max_duration) ")" }
                    input #duration name="duration" list="presets" value=(default.to_string()) required;
                    datalist #presets { @for d in presets(t.max_duration) { option value=(d.to_string()); } }
                    p.hint { "For example 15m, 1h, 1h30m, or a number of minutes." }
                    label for="reason" { "Reason (optional, shown to the requester)" }
                    textarea #reason name="reason" maxlength="1000" {}
                    button type="submit" name="decision" value="approve" { "Approve" }
                    button.danger type="submit" name="decision" value="deny" { "Deny" }
                }
            } @else {
                p.error { "The policy this request was made under no longer exists." }
            }
        } @else {
            @match (request.state, grant) {
                (RequestState::Approved, Some(g)) => {
                    p.ok role="status" { "Approved by " (g.approved_by) " at " (show(g.approved_at)) " for "
                        (duration_text(g.expires_at - g.approved_at)) "; access " @if live.is_some() { "until " } @else { "ended " } (show(g.ended_at.unwrap_or(g.expires_at))) "." }
                    @if live.is_some() {
                        form method="post" action=(format!("/grants/{}/revoke", g.id)) {
                            (csrf_field(csrf))
                            input type="hidden" name="next" value=(format!("/review/{token}"));
                            label for="revoke-reason" { "Reason for ending it early (optional)" }
                            input #revoke-reason name="reason" maxlength="1000";
                            button.danger type="submit" { "Revoke access now" }
                        }
                    }
                }
                (RequestState::Denied, _) => {
                    p.error role="status" { "Denied by " (request.decided_by.as_deref().unwrap_or("an approver")) " at "
                        (show(request.decided_at.unwrap_or(now))) "."
                        @if let Some(r) = request.reason.as_deref().filter(|r| !r.is_empty()) { " Reason: " (r) } }
                }
                (RequestState::Expired | RequestState::Pending, _) => { p role="status" { "This request expired before anyone answered it." } }
                (s, _) => { p role="status" { "This request was " (s) "." } }
            }
        }
    };
    let title = format!("Review: {} → {}", request.requester, app_name);
    Ok((status, page(&title, header, None, body)).into_response())
}

pub async fn submit_review(
    State(ctx): State<Arc<Context>>,
    Viewer(viewer): Viewer,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
    header: PageHeader,
    CsrfForm(form): CsrfForm<ReviewForm>,
) -> WebResult<Response> {
    let row = token_row(&ctx, &token).await?;
    let Some(me) = viewer else {
        return Err(WebError::Forbidden(format!(
            "Sign in as {} first.",
            row.approver
        )));
    };
    if me.as_str() != row.approver {
        return Err(wrong_person(&row.approver));
    }
    let verdict = match form.decision.as_str() {
        "approve" => match GrantDuration::parse(&form.duration) {
            Ok(d) => Verdict::Approve(d),
            Err(m) => {
                return render(
                    &ctx,
                    &header,
                    &me,
                    &token,
                    &row,
                    Some(&m),
                    StatusCode::BAD_REQUEST,
                )
                .await
            }
        },
        "deny" => match Reason::parse(&form.reason) {
            Ok(r) => Verdict::Deny(r),
            Err(m) => {
                return render(
                    &ctx,
                    &header,
                    &me,
                    &token,
                    &row,
                    Some(&m),
                    StatusCode::BAD_REQUEST,
                )
                .await
            }
        },
        _ => {
            return render(
                &ctx,
                &header,
                &me,
                &token,
                &row,
                Some("Choose Approve or Deny."),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    };
    let origin = Origin {
        client_ip: ip.as_deref(),
        ..Origin::new(Via::Email)
    };
    let now = ctx.clock.now_ms();
    match decisions::decide(
        &ctx.store,
        &ctx.config,
        row.request_id,
        &me,
        origin,
        verdict,
        now,
    )
    .await
    {
        Ok(outcome) => {
            ctx.apply(outcome);
            Ok(Redirect::to(&format!("/review/{token}")).into_response())
        }
        Err(e @ DecideError::TooLong { .. }) => {
            render(
                &ctx,
                &header,
                &me,
                &token,
                &row,
                Some(&e.to_string()),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e @ DecideError::AlreadyDecided(_)) => {
            render(
                &ctx,
                &header,
                &me,
                &token,
                &row,
                Some(&e.to_string()),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
