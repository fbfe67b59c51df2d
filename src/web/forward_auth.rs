//! `GET /auth`: the reverse proxy's question, answered from memory.
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::identity::{identify, peer};
use super::rd;
use crate::clock::rfc3339;
use crate::context::Context;
use crate::policy::{evaluate, Access};

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The URL the person was trying to open, from the proxy's headers.
fn original_url(headers: &HeaderMap) -> Option<(String, String)> {
    if let Some(host) = header_str(headers, "x-forwarded-host") {
        let host = host.split(',').next().unwrap_or(host).trim().to_string();
        let proto = header_str(headers, "x-forwarded-proto").unwrap_or("http");
        let proto = if proto.eq_ignore_ascii_case("https") {
            "https"
        } else {
            "http"
        };
        let uri = header_str(headers, "x-forwarded-uri")
            .filter(|u| u.starts_with('/'))
            .unwrap_or("/");
        return Some((host.clone(), format!("{proto}://{host}{uri}")));
    }
    let original = url::Url::parse(header_str(headers, "x-original-url")?).ok()?;
    let host = match original.port() {
        Some(p) => format!("{}:{p}", original.host_str()?),
        None => original.host_str()?.to_string(),
    };
    Some((host, original.to_string()))
}

pub async fn auth(State(ctx): State<Arc<Context>>, request: axum::extract::Request) -> Response {
    let headers = request.headers();
    let redirect = url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .any(|(k, v)| k == "redirect" && matches!(v.as_ref(), "1" | "true" | "yes"));
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
    let Some((host, url)) = original_url(headers) else {
        return (StatusCode::FORBIDDEN, "no X-Forwarded-Host or X-Original-URL: daypass cannot tell which application this is\n").into_response();
    };
    let Some(app) = ctx.config.application_for_host(&host) else {
        return (
            StatusCode::FORBIDDEN,
            "this host is not an application daypass protects\n",
        )
            .into_response();
    };
    let unauthorized = || {
        if redirect {
            let rd = rd::checked(app, &url).unwrap_or_default();
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
        } else {
            StatusCode::UNAUTHORIZED.into_response()
        }
    };
    let Some(email) = identify(ctx, headers, peer) else {
        return unauthorized();
    };
    let granted = |expires: Option<i64>| {
        let mut r = StatusCode::OK.into_response();
        if let Ok(u) = HeaderValue::from_str(email.as_str()) {
            r.headers_mut().insert("x-daypass-user", u);
        }
        if let Some(exp) = expires.and_then(|e| HeaderValue::from_str(&rfc3339(e)).ok()) {
            r.headers_mut().insert("x-daypass-grant-expires", exp);
        }
        r
    };
    match evaluate(app, &email) {
        Access::Denied(_) => StatusCode::FORBIDDEN.into_response(),
        Access::Persistent(_) => granted(None),
        Access::OnRequest(..) => {
            match ctx
                .cache
                .grant(email.as_str(), &app.slug, ctx.clock.now_ms())
            {
                Some(g) => granted(Some(g.expires_at)),
                None => unauthorized(),
            }
        }
    }
}
