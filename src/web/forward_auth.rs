//! `GET /auth`: the reverse proxy's question, answered from memory.
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::identity::{identify_shared, peer};
use super::rd;
use crate::context::Context;
use crate::policy::{evaluate, Access};

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Which host the person was trying to open, from the proxy's headers (no allocation).
fn original_host(headers: &HeaderMap) -> Option<&str> {
    if let Some(host) = header_str(headers, "x-forwarded-host") {
        return Some(host.split(',').next().unwrap_or(host).trim());
    }
    let original = header_str(headers, "x-original-url")?;
    let rest = original.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty() && !authority.contains('@')).then_some(authority)
}

/// The whole URL the person was trying to open, for the redirect to the request page.
fn original_url(headers: &HeaderMap, host: &str) -> String {
    if header_str(headers, "x-forwarded-host").is_none() {
        if let Some(u) = header_str(headers, "x-original-url").and_then(|u| url::Url::parse(u).ok())
        {
            return u.to_string();
        }
    }
    let proto = header_str(headers, "x-forwarded-proto").unwrap_or("http");
    let proto = if proto.eq_ignore_ascii_case("https") {
        "https"
    } else {
        "http"
    };
    let uri = header_str(headers, "x-forwarded-uri")
        .filter(|u| u.starts_with('/'))
        .unwrap_or("/");
    format!("{proto}://{host}{uri}")
}

pub async fn auth(State(ctx): State<Arc<Context>>, request: axum::extract::Request) -> Response {
    let headers = request.headers();
    let redirect = request.uri().query().is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .any(|(k, v)| k == "redirect" && matches!(v.as_ref(), "1" | "true" | "yes"))
    });
    let mut response = decide(&ctx, headers, peer(request.extensions()), redirect);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn decide(
    ctx: &Context,
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
    redirect: bool,
) -> Response {
    let Some(host) = original_host(headers) else {
        return (
            StatusCode::FORBIDDEN,
            "no X-Forwarded-Host or X-Original-URL: daypass cannot tell which application this is\n",
        )
            .into_response();
    };
    let Some(app) = ctx.config.application_for_host(host) else {
        return (
            StatusCode::FORBIDDEN,
            "this host is not an application daypass protects\n",
        )
            .into_response();
    };
    let unauthorized = || {
        if !redirect {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let rd = rd::checked(app, &original_url(headers, host)).unwrap_or_default();
        let target = format!(
            "{}/request/{}?{}",
            ctx.config.server.origin(),
            app.slug,
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("rd", &rd)
                .finish()
        );
        match HeaderValue::from_str(&target) {
            Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
            Err(_) => StatusCode::UNAUTHORIZED.into_response(),
        }
    };
    let Some(who) = identify_shared(ctx, headers, peer) else {
        return unauthorized();
    };
    let granted = |expires: Option<HeaderValue>| {
        let mut r = StatusCode::OK.into_response();
        if let Some(u) = who.header.clone() {
            r.headers_mut().insert("x-daypass-user", u);
        }
        if let Some(exp) = expires {
            r.headers_mut().insert("x-daypass-grant-expires", exp);
        }
        r
    };
    match evaluate(app, &who.email) {
        Access::Denied(_) => StatusCode::FORBIDDEN.into_response(),
        Access::Persistent(_) => granted(None),
        Access::OnRequest(..) => {
            match ctx
                .cache
                .grant(who.email.as_str(), &app.slug, ctx.clock.now_ms())
            {
                Some(g) => granted(g.expires_header),
                None => unauthorized(),
            }
        }
    }
}
