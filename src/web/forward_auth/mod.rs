//! `GET /auth`: the reverse proxy's question, answered from memory.

pub mod timing;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use tower_service::Service;

use crate::config::{Application, Config, IdentityConfig, TargetHeader};
use crate::policy::{evaluate, Access, Who};
use crate::server::access_cache::{Identity, Maps};
use crate::server::context::Context;
use crate::tokens;
use crate::web::cookies;
use crate::web::identity::{identify, peer};
use crate::web::rd;

const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_ORIGINAL_URL: HeaderName = HeaderName::from_static("x-original-url");
const X_DAYPASS_USER: HeaderName = HeaderName::from_static("x-daypass-user");
const X_DAYPASS_GRANT_EXPIRES: HeaderName = HeaderName::from_static("x-daypass-grant-expires");
const X_DAYPASS_GROUPS: HeaderName = HeaderName::from_static("x-daypass-groups");

fn header_str(headers: &HeaderMap, name: HeaderName) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The authority of an absolute http(s) URL, without allocating.
fn url_authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty() && !authority.contains('@')).then_some(authority)
}

/// Which host the person was trying to open: read from the one header `server.target_header`
/// names. Any other forwarded header that names a different application makes it a refusal,
/// whoever wrote it: proxies differ in which headers they overwrite and which they pass through
/// from the client.
fn target<'h>(config: &Config, headers: &'h HeaderMap) -> Result<&'h str, &'static str> {
    let forwarded = header_str(headers, X_FORWARDED_HOST);
    let original = header_str(headers, X_ORIGINAL_URL);
    let (host, other) = match config.server.target_header {
        TargetHeader::ForwardedHost => {
            let Some(list) = forwarded else {
                return Err("no X-Forwarded-Host: daypass cannot tell which application this is\n");
            };
            let mut hosts = list.split(',').map(str::trim);
            let host = hosts.next().unwrap_or(list);
            if hosts.any(|h| !same_target(config, host, h)) {
                return Err(CONFLICT);
            }
            let other = match original {
                Some(url) => Some(url_authority(url).ok_or(CONFLICT)?),
                None => None,
            };
            (host, other)
        }
        TargetHeader::OriginalUrl => {
            let Some(url) = original else {
                return Err("no X-Original-URL: daypass cannot tell which application this is\n");
            };
            let host = url_authority(url).ok_or("X-Original-URL is not an absolute URL\n")?;
            (host, forwarded)
        }
    };
    if let Some(other) = other {
        if other
            .split(',')
            .any(|h| !same_target(config, host, h.trim()))
        {
            return Err(CONFLICT);
        }
    }
    Ok(host)
}

const CONFLICT: &str = "the forwarded headers name different hosts\n";

/// Do two authorities lead to the same place: the same application, or the same unknown host?
fn same_target(config: &Config, a: &str, b: &str) -> bool {
    match (
        config.application_for_host(a),
        config.application_for_host(b),
    ) {
        (Some(x), Some(y)) => std::ptr::eq(x, y),
        (None, None) => a.eq_ignore_ascii_case(b),
        _ => false,
    }
}

/// The whole URL the person was trying to open, for the redirect to the request page.
fn original_url(config: &Config, headers: &HeaderMap, host: &str) -> String {
    if config.server.target_header == TargetHeader::OriginalUrl {
        if let Some(u) = header_str(headers, X_ORIGINAL_URL).and_then(|u| url::Url::parse(u).ok()) {
            return u.to_string();
        }
    }
    let proto = header_str(headers, X_FORWARDED_PROTO).unwrap_or("http");
    let proto = if proto.eq_ignore_ascii_case("https") {
        "https"
    } else {
        "http"
    };
    let uri = header_str(headers, X_FORWARDED_URI)
        .filter(|u| u.starts_with('/'))
        .unwrap_or("/");
    format!("{proto}://{host}{uri}")
}

/// The site: the router, with a proxy's `GET /auth` answered in front of it. That question comes
/// with every request to every protected application, so it skips routing, request extensions
/// and boxed futures: the answer is ready at once. Everything else goes to the router, with the
/// peer address as `ConnectInfo`. Built in `web::router`, beside the routes.
#[derive(Clone)]
pub struct FrontDoor {
    ctx: Arc<Context>,
    router: Router,
}

impl FrontDoor {
    pub fn new(ctx: Arc<Context>, router: Router) -> Self {
        Self { ctx, router }
    }

    /// One request on a connection from `peer`.
    pub fn answer(&self, peer: SocketAddr, req: Request<Incoming>) -> Answer {
        if req.method() == Method::GET && req.uri().path() == "/auth" {
            return match try_answer(&self.ctx, req.headers(), req.uri(), Some(peer)) {
                Ok(response) => Answer::Ready(std::future::ready(Ok(response))),
                Err(unknown) => {
                    let ctx = self.ctx.clone();
                    let (parts, _) = req.into_parts();
                    Answer::LookedUp(Box::pin(async move {
                        Ok(
                            answer_after(&ctx, unknown, &parts.headers, &parts.uri, Some(peer))
                                .await,
                        )
                    }))
                }
            };
        }
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        Answer::Routed(self.router.clone().call(req))
    }
}

/// The response future: ready at once for `/auth` when memory knows the answer, a database
/// look-up when it does not, the router's otherwise.
pub enum Answer {
    Ready(std::future::Ready<Result<Response, Infallible>>),
    LookedUp(Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>),
    Routed(<Router as Service<Request<Body>>>::Future),
}

impl Future for Answer {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        // Both futures are `Unpin`, so the enum is too.
        match self.get_mut() {
            Answer::Ready(f) => Pin::new(f).poll(cx),
            Answer::LookedUp(f) => f.as_mut().poll(cx),
            Answer::Routed(f) => Pin::new(f).poll(cx),
        }
    }
}

/// The router's `/auth` (HEAD and the like; `FrontDoor` answers `GET` itself).
pub async fn auth(State(ctx): State<Arc<Context>>, request: axum::extract::Request) -> Response {
    let peer = peer(request.extensions());
    match try_answer(&ctx, request.headers(), request.uri(), peer) {
        Ok(response) => response,
        Err(unknown) => answer_after(&ctx, unknown, request.headers(), request.uri(), peer).await,
    }
}

/// What memory did not know for an answer: a session or a grant another replica (or the CLI)
/// wrote a moment ago, to look up in the database.
pub enum Unknown {
    Session([u8; 32]),
    Grant { email: String, slug: String },
}

/// The answer to a proxy asking whether this request may pass (see DESIGN.md, `GET /auth`),
/// from memory; `Err` when it takes a database look-up first (`answer_after`).
pub fn try_answer(
    ctx: &Context,
    headers: &HeaderMap,
    uri: &Uri,
    peer: Option<std::net::SocketAddr>,
) -> Result<Response, Unknown> {
    let started = std::time::Instant::now();
    let response = decide(ctx, headers, peer, wants_redirect(uri), true)?;
    crate::web::forward_auth::timing::record(started.elapsed());
    Ok(no_store(response))
}

/// The answer once `unknown` was looked up: whatever the database said is now in memory.
pub async fn answer_after(
    ctx: &Context,
    unknown: Unknown,
    headers: &HeaderMap,
    uri: &Uri,
    peer: Option<std::net::SocketAddr>,
) -> Response {
    let now = ctx.clock.now_ms();
    let looked_up = match &unknown {
        Unknown::Session(id_hash) => ctx
            .cache
            .look_up_session(&ctx.store, &ctx.config, id_hash, now)
            .await
            .map(|_| ()),
        Unknown::Grant { email, slug } => ctx
            .cache
            .look_up_grant(&ctx.store, email, slug, now)
            .await
            .map(|_| ()),
    };
    if let Err(e) = looked_up {
        tracing::error!(error = %e, "cannot look up a session or grant for /auth");
        return no_store(StatusCode::SERVICE_UNAVAILABLE.into_response());
    }
    // A session just found may hold a grant memory does not know yet either: one more look.
    if let (Unknown::Session(_), Err(Unknown::Grant { email, slug })) = (
        &unknown,
        decide(ctx, headers, peer, wants_redirect(uri), true),
    ) {
        if let Err(e) = ctx
            .cache
            .look_up_grant(&ctx.store, &email, &slug, now)
            .await
        {
            tracing::error!(error = %e, "cannot look up a grant for /auth");
            return no_store(StatusCode::SERVICE_UNAVAILABLE.into_response());
        }
    }
    // Without look-ups `decide` answers from memory alone, never with `Err`.
    let response = decide(ctx, headers, peer, wants_redirect(uri), false)
        .unwrap_or_else(|_| StatusCode::UNAUTHORIZED.into_response());
    no_store(response)
}

fn wants_redirect(uri: &Uri) -> bool {
    uri.query().is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .any(|(k, v)| k == "redirect" && matches!(v.as_ref(), "1" | "true" | "yes"))
    })
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The answer, from memory. With `look_up`, what memory does not hold is `Err`, to be looked
/// up in the database; without it (after the look-up), missing means no.
fn decide(
    ctx: &Context,
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
    redirect: bool,
    look_up: bool,
) -> Result<Response, Unknown> {
    let host = match target(&ctx.config, headers) {
        Ok(host) => host,
        Err(why) => return Ok((StatusCode::FORBIDDEN, why).into_response()),
    };
    let Some(app) = ctx.config.application_for_host(host) else {
        return Ok((
            StatusCode::FORBIDDEN,
            "this host is not an application daypass protects\n",
        )
            .into_response());
    };
    let unauthorized = || {
        if !redirect {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let rd = rd::checked(app, &original_url(&ctx.config, headers, host)).unwrap_or_default();
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
    let now = ctx.clock.now_ms();
    let decision = match &ctx.config.identity {
        IdentityConfig::EmailCode | IdentityConfig::Oidc(_) => {
            let Some(token) = cookies::get(headers, cookies::SESSION) else {
                return Ok(unauthorized());
            };
            let id_hash = tokens::hash(token);
            // The email is copied only when the grant is to be looked up (not on a hit).
            let decision = ctx.cache.with_session(&id_hash, now, |who, maps| {
                let d = access(app, who, maps, now);
                let look_for = (look_up && matches!(d, Decision::NoGrant))
                    .then(|| who.email.as_str().to_string());
                (d, look_for)
            });
            match decision {
                None if look_up => return Err(Unknown::Session(id_hash)),
                Some((_, Some(email))) => {
                    return Err(Unknown::Grant {
                        email,
                        slug: app.slug.clone(),
                    })
                }
                other => other.map(|(d, _)| d),
            }
        }
        IdentityConfig::Header { .. } => match identify(ctx, headers, peer).map(|email| {
            let groups = crate::web::identity::header_groups(ctx, headers, &email);
            Identity::new(email, groups)
        }) {
            Some(who) => {
                let d = ctx.cache.with_maps(|maps| access(app, &who, maps, now));
                if look_up && matches!(d, Decision::NoGrant) {
                    return Err(Unknown::Grant {
                        email: who.email.as_str().to_string(),
                        slug: app.slug.clone(),
                    });
                }
                Some(d)
            }
            None => None,
        },
    };
    Ok(match decision {
        None | Some(Decision::NoGrant) => unauthorized(),
        Some(Decision::Denied) => StatusCode::FORBIDDEN.into_response(),
        Some(Decision::Granted {
            user,
            expires,
            groups,
        }) => {
            let mut r = StatusCode::OK.into_response();
            let h = r.headers_mut();
            if let Some(u) = user {
                h.insert(X_DAYPASS_USER, u);
            }
            // Always there (empty for no group), so no proxy passes a client's own on.
            h.insert(
                X_DAYPASS_GROUPS,
                groups.unwrap_or(HeaderValue::from_static("")),
            );
            if let Some(exp) = expires {
                h.insert(X_DAYPASS_GRANT_EXPIRES, exp);
            }
            // What the application may see of the browser's cookies (see `cookies::without_ours`).
            h.insert(header::COOKIE, cookies::without_ours(headers));
            r
        }
    })
}

enum Decision {
    Granted {
        user: Option<HeaderValue>,
        expires: Option<HeaderValue>,
        groups: Option<HeaderValue>,
    },
    NoGrant,
    Denied,
}

/// What `who` may do at `app` right now. Called under the session cache's read lock, so it
/// copies what it keeps instead of sharing it.
fn access(app: &Application, who: &Identity, maps: &Maps, now: i64) -> Decision {
    let copy = |h: &Option<HeaderValue>| {
        h.as_ref()
            .and_then(|h| HeaderValue::from_bytes(h.as_bytes()).ok())
    };
    match evaluate(app, Who::new(&who.email, &who.groups)) {
        Access::Denied(_) => Decision::Denied,
        Access::Persistent(_) => Decision::Granted {
            user: copy(&who.header),
            expires: None,
            groups: copy(&who.groups_header),
        },
        Access::OnRequest(..) => match maps.grant(who.email.as_str(), &app.slug, now) {
            Some(g) => Decision::Granted {
                user: copy(&who.header),
                groups: copy(&who.groups_header),
                expires: g
                    .expires_header
                    .as_ref()
                    .and_then(|h| HeaderValue::from_bytes(h.as_bytes()).ok()),
            },
            None => Decision::NoGrant,
        },
    }
}
