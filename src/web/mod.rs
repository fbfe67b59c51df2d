//! HTTP: the pages people use, `/auth` for proxies, and ops endpoints.
mod cookies;
mod csrf;
mod endpoints;
mod error;
pub mod forward_auth;
mod front_door;
mod id;
mod identity;
mod pages;
mod rd;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::server::context::Context;

pub use error::{WebError, WebResult};
pub use forward_auth::FrontDoor;
pub use front_door::serve;

/// Forms are small; anything bigger is refused with 413 before it is read.
const BODY_LIMIT: usize = 64 * 1024;

/// The site: every route, with a proxy's `GET /auth` answered in front of the router.
pub fn router(ctx: Arc<Context>) -> FrontDoor {
    let pages = Router::new()
        .route("/", get(pages::home::home))
        .route(
            "/login",
            get(pages::login::show_login).post(pages::login::submit_login),
        )
        .route(
            "/login/verify",
            get(pages::login::show_verify).post(pages::login::submit_verify),
        )
        .route("/login/callback", get(pages::login::callback))
        .route("/logout", post(pages::login::logout))
        .route(
            "/request/{slug}",
            get(pages::request::show_form).post(pages::request::submit),
        )
        .route("/requests/{id}", get(pages::status::status))
        .route("/approvals", get(pages::approvals::show))
        .route("/admin", get(pages::admin::show))
        .route("/admin/audit", get(pages::admin::audit))
        .route("/admin/requests", get(pages::admin::requests))
        .route("/admin/grants/{id}/revoke", post(pages::admin::revoke))
        .route("/admin/sessions/end", post(pages::admin::end_sessions))
        .route("/approvals/{id}", post(pages::approvals::decide))
        .route("/requests/{id}/cancel", post(pages::request::cancel))
        .route("/grants/{id}/revoke", post(pages::grant_actions::revoke))
        .route(
            "/grants/{id}/extend",
            get(pages::grant_actions::show_extend).post(pages::grant_actions::submit_extend),
        )
        .route(
            "/review/{token}",
            get(pages::review::show_review).post(pages::review::submit_review),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(ctx.clone(), csrf::layer))
        .layer(middleware::from_fn(page_headers));
    let routes = Router::new()
        .route("/auth", get(forward_auth::auth))
        .route("/healthz", get(endpoints::health::healthz))
        .route("/metrics", get(endpoints::health::metrics))
        .route("/static/daypass.js", get(pages::layout::script))
        .route("/favicon.ico", get(pages::layout::favicon))
        .route(
            "/discord/interactions",
            post(endpoints::discord::interactions),
        )
        .route("/slack/interactions", post(endpoints::slack::interactions))
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
