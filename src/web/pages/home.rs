//! `/`: what the signed-in person can reach or ask for.
use std::sync::Arc;

use axum::extract::State;
use axum::response::Html;
use maud::html;

use crate::clock::show;
use crate::config::EmailTransport;
use crate::policy::{evaluate, Access, Who};
use crate::server::context::Context;
use crate::web::error::WebResult;
use crate::web::identity::Groups;
use crate::web::pages::layout::{csrf_field, page, Approvals, PageHeader};

pub async fn home(
    State(ctx): State<Arc<Context>>,
    header: PageHeader,
    Groups(groups): Groups,
) -> WebResult<Html<String>> {
    let file_dir = match &ctx.config.email.transport {
        EmailTransport::File { dir } => Some(dir.display().to_string()),
        EmailTransport::Smtp { .. } => None,
    };
    let Some(me) = &header.viewer else {
        let body = html! {
            p { "daypass lets you reach internal applications for a while, with an approver's OK." }
            p { a.button href="/login" { "Sign in" } }
            @if let Some(dir) = &file_dir {
                p.hint { "No mail server is configured, so emails (your sign-in code, approvers' review links) are written as .eml files to "
                    code { (dir) } " and sign-in codes are also printed in daypass's log." }
            }
        };
        return Ok(page("Welcome", &header, None, body));
    };
    let now = ctx.clock.now_ms();
    let mut rows = Vec::new();
    for app in &ctx.config.applications {
        let status = match evaluate(app, Who::new(me, &groups)) {
            Access::Denied(_) => continue,
            Access::Persistent(_) => html! { span { "You have access." } },
            Access::OnRequest(..) => {
                if let Some(g) = ctx.cache.grant(me.as_str(), &app.slug, now) {
                    html! {
                        span { "Access until " strong { time datetime=(crate::clock::rfc3339(g.expires_at)) { (show(g.expires_at)) } } "." }
                        form.inline method="post" action=(format!("/grants/{}/revoke", g.id)) {
                            (csrf_field(&header.csrf))
                            input type="hidden" name="next" value="/";
                            button.secondary type="submit" { "I'm done — end access now" }
                        }
                        " " a href=(format!("/grants/{}/extend", g.id)) { "Ask for more time" }
                    }
                } else if let Some(r) = ctx
                    .store
                    .pending_request_of(me.as_str(), &app.slug, now)
                    .await?
                {
                    html! { span { "Waiting for approval. " a href=(format!("/requests/{}", r.id)) { "See the request" } } }
                } else {
                    html! { a href=(format!("/request/{}", app.slug)) { "Request access" } }
                }
            }
        };
        rows.push(html! { li { strong { (app.name) } " " span.hint { (app.host) } br; (status) } });
    }
    // An approver learns here what waits for them: the header's count, or (if that failed) the
    // page's error.
    let waiting = match header.approvals {
        Approvals::None => None,
        Approvals::Waiting(n) => Some(n),
        Approvals::Uncounted => Some(
            crate::web::pages::approvals::waiting_for(&ctx, me)
                .await?
                .len(),
        ),
    };
    let body = html! {
        @if let Some(n) = waiting {
            p { a href="/approvals" { "Approvals" } ": "
                @if n == 0 { "nothing waits for you." } @else { strong { (n) } " waiting for your decision." } }
        }
        @if rows.is_empty() {
            p { "No application is open to " (me) "." }
        } @else {
            ul.apps { @for r in rows { (r) } }
        }
        @if let Some(dir) = &file_dir {
            p.hint { "Emails are written as .eml files to " code { (dir) } " (no mail server is configured)." }
        }
    };
    Ok(page("Your applications", &header, None, body))
}
