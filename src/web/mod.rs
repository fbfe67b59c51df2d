//! HTTP: the pages people use, `/auth` for proxies, and ops endpoints.
mod access_notes;
mod admin_pages;
mod approvals_badge;
mod approvals_page;
mod cookies;
mod csrf;
mod discord_endpoint;
mod error;
mod forward_auth;
mod grant_actions;
mod health;
mod home;
mod id;
mod identity;
mod layout;
mod login_pages;
mod rd;
mod refusal_page;
mod request_pages;
mod review_pages;
mod serve;
mod slack_endpoint;
mod status_page;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::context::Context;

pub use error::{WebError, WebResult};
pub use forward_auth::FrontDoor;
pub use serve::serve;

/// Forms are small; anything bigger is refused with 413 before it is read.
const BODY_LIMIT: usize = 64 * 1024;

/// The site: every route, with a proxy's `GET /auth` answered in front of the router.
pub fn router(ctx: Arc<Context>) -> FrontDoor {
    let pages = Router::new()
        .route("/", get(home::home))
        .route(
            "/login",
            get(login_pages::show_login).post(login_pages::submit_login),
        )
        .route(
            "/login/verify",
            get(login_pages::show_verify).post(login_pages::submit_verify),
        )
        .route("/login/callback", get(login_pages::callback))
        .route("/logout", post(login_pages::logout))
        .route(
            "/request/{slug}",
            get(request_pages::show_form).post(request_pages::submit),
        )
        .route("/requests/{id}", get(status_page::status))
        .route("/approvals", get(approvals_page::show))
        .route("/admin", get(admin_pages::show))
        .route("/admin/audit", get(admin_pages::audit))
        .route("/admin/requests", get(admin_pages::requests))
        .route("/admin/grants/{id}/revoke", post(admin_pages::revoke))
        .route("/admin/sessions/end", post(admin_pages::end_sessions))
        .route("/approvals/{id}", post(approvals_page::decide))
        .route("/requests/{id}/cancel", post(request_pages::cancel))
        .route("/grants/{id}/revoke", post(grant_actions::revoke))
        .route(
            "/grants/{id}/extend",
            get(grant_actions::show_extend).post(grant_actions::submit_extend),
        )
        .route(
            "/review/{token}",
            get(review_pages::show_review).post(review_pages::submit_review),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(ctx.clone(), csrf::layer))
        .layer(middleware::from_fn_with_state(
            ctx.clone(),
            approvals_badge::layer,
        ))
        .layer(middleware::from_fn(page_headers));
    let routes = Router::new()
        .route("/auth", get(forward_auth::auth))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route("/static/daypass.js", get(layout::script))
        .route("/favicon.ico", get(layout::favicon))
        .route(
            "/discord/interactions",
            post(discord_endpoint::interactions),
        )
        .route("/slack/interactions", post(slack_endpoint::interactions))
        .merge(pages)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(ctx.clone());
    // The busiest path, in front of the routes and every layer above: `GET /auth` from the
    // proxies (the `/auth` route answers the rest, such as HEAD, with the same code).
    FrontDoor::new(ctx, routes)
}

async fn not_found() -> WebError {
    WebError::NotFound("There is no such page.".into())
}

/// Pages are personal: never cached, never framed, and their URLs never leak in a Referer.
async fn page_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'",
        ),
    );
    res
}
