//! The count of waiting requests in the header of every page an approver sees. `layout::page`
//! leaves a marker in the header; this layer fills it in for approvers and drops it for everyone
//! else. User text cannot forge the marker: the pages escape `<`.
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use crate::server::context::Context;
use crate::web::identity::{identify_or_look_up, peer};
use crate::web::pages::layout::APPROVALS_MARKER;

/// Pages are small; a larger body is passed on untouched.
const MAX_PAGE: usize = 4 * 1024 * 1024;

pub async fn layer(State(ctx): State<Arc<Context>>, req: Request, next: Next) -> Response {
    let approver = identify_or_look_up(&ctx, req.headers(), peer(req.extensions()))
        .await
        .filter(|me| ctx.config.decides_anywhere(me));
    let res = next.run(req).await;
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PAGE).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let page = String::from_utf8_lossy(&bytes);
    if !page.contains(APPROVALS_MARKER) {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let badge = match approver {
        Some(me) => match crate::web::pages::approvals::waiting_for(&ctx, &me).await {
            Ok(waiting) => format!(
                "<a class=\"badge\" href=\"/approvals\">Approvals ({})</a>",
                waiting.len()
            ),
            Err(e) => {
                tracing::warn!(error = %e, "cannot count the waiting requests");
                "<a class=\"badge\" href=\"/approvals\">Approvals</a>".to_string()
            }
        },
        None => String::new(),
    };
    let filled = page.replacen(APPROVALS_MARKER, &badge, 1);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(filled))
}
