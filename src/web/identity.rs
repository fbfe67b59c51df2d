//! Who is asking: a session cookie, or (in header mode) a header from a trusted proxy.
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use crate::config::IdentityConfig;
use crate::domain::Email;
use crate::server::context::Context;
use crate::tokens;
use crate::web::cookies;

/// The signed-in person, if any.
pub struct Viewer(pub Option<Email>);

/// The signed-in person; anyone else is sent to the login page and brought back.
pub struct User(pub Email);

/// The client's address (behind a trusted proxy, the one it forwards), for the audit log and
/// per-address limits.
pub struct ClientIp(pub Option<String>);

/// The key a per-address limit counts `ip` under (an IPv6 client's /64).
pub fn limit_key(ip: Option<&str>) -> String {
    ip.and_then(|s| s.parse().ok())
        .map(crate::client_addr::limit_key)
        .unwrap_or_else(|| "-".into())
}

pub fn peer(parts_ext: &axum::http::Extensions) -> Option<SocketAddr> {
    parts_ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

/// Resolves the person behind a request from its headers and peer address, without I/O.
pub fn identify(ctx: &Context, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<Email> {
    match &ctx.config.identity {
        IdentityConfig::EmailCode | IdentityConfig::Oidc(_) => {
            let token = cookies::get(headers, cookies::SESSION)?;
            ctx.cache.session(&tokens::hash(token), ctx.clock.now_ms())
        }
        IdentityConfig::Header { header, .. } => {
            if !ctx.config.server.is_trusted_proxy(peer?.ip()) {
                return None;
            }
            let value = headers.get(header.as_str())?.to_str().ok()?;
            Email::parse(value).ok()
        }
    }
}

/// As `identify`, and a session memory does not know yet (a sign-in on another replica a
/// moment ago) is looked up in the database.
pub async fn identify_or_look_up(
    ctx: &Context,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> Option<Email> {
    if let Some(email) = identify(ctx, headers, peer) {
        return Some(email);
    }
    if matches!(ctx.config.identity, IdentityConfig::Header { .. }) {
        return None;
    }
    let token = cookies::get(headers, cookies::SESSION)?;
    let now = ctx.clock.now_ms();
    match ctx
        .cache
        .look_up_session(&ctx.store, &ctx.config, &tokens::hash(token), now)
        .await
    {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "cannot look up a session");
            None
        }
    }
}

/// Every group `me` (identified from these headers) is in: what their sign-in said, or the
/// proxy's groups header, and `[[groups]]`.
pub fn groups(ctx: &Context, headers: &HeaderMap, me: &Email) -> Vec<String> {
    match &ctx.config.identity {
        IdentityConfig::Header { .. } => header_groups(ctx, headers, me),
        _ => cookies::get(headers, cookies::SESSION)
            .and_then(|t| {
                ctx.cache
                    .session_groups(&tokens::hash(t), ctx.clock.now_ms())
            })
            .unwrap_or_else(|| ctx.config.groups_of(me, &[])),
    }
}

/// Header mode: the groups in `identity.groups_header` (comma-separated), and `[[groups]]`.
/// Read only for a request whose identity header was believed (it came from a trusted proxy).
pub fn header_groups(ctx: &Context, headers: &HeaderMap, me: &Email) -> Vec<String> {
    let claimed: Vec<String> = match &ctx.config.identity {
        IdentityConfig::Header {
            groups_header: Some(name),
            ..
        } => headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    ctx.config.groups_of(me, &claimed)
}

/// Every group the signed-in person is in (none for a stranger).
pub struct Groups(pub Vec<String>);

impl FromRequestParts<Arc<Context>> for Groups {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &Arc<Context>,
    ) -> Result<Self, Self::Rejection> {
        let me = identify_or_look_up(ctx, &parts.headers, peer(&parts.extensions)).await;
        Ok(Self(
            me.map(|m| groups(ctx, &parts.headers, &m))
                .unwrap_or_default(),
        ))
    }
}

impl FromRequestParts<Arc<Context>> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &Arc<Context>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            identify_or_look_up(ctx, &parts.headers, peer(&parts.extensions)).await,
        ))
    }
}

impl FromRequestParts<Arc<Context>> for User {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<Context>) -> Result<Self, Response> {
        if let Some(email) = identify_or_look_up(ctx, &parts.headers, peer(&parts.extensions)).await
        {
            return Ok(Self(email));
        }
        let here = parts.uri.to_string();
        Err(Redirect::to(&login_url(&here, None)).into_response())
    }
}

impl FromRequestParts<Arc<Context>> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &Arc<Context>,
    ) -> Result<Self, Self::Rejection> {
        let trusted = &ctx.config.server.trusted_proxies;
        Ok(Self(peer(&parts.extensions).map(|p| {
            crate::client_addr::client_ip(trusted, p.ip(), &parts.headers).to_string()
        })))
    }
}

pub fn login_url(next: &str, email: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("next", next);
    if let Some(e) = email {
        q.append_pair("email", e);
    }
    format!("/login?{}", q.finish())
}

/// A `next` target that stays on daypass: a path, never another host.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control() || c == '\\') =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn next_stays_on_daypass() {
        assert_eq!(
            local_path(Some("/request/grafana?rd=x")),
            "/request/grafana?rd=x"
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
    }
}
