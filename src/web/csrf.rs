//! CSRF: a random cookie, and in every form an HMAC of it; plus refusing cross-site posts.
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::server::context::Context;
use crate::tokens;
use crate::web::cookies;
use crate::web::error::WebError;
use crate::web::identity::local_path;
use crate::web::pages::refusal;

/// The per-browser random value behind the form tokens, and whether this request brought it.
#[derive(Clone)]
struct CsrfSeed {
    value: String,
    sent: bool,
}

/// The token a page puts into its forms.
pub struct CsrfToken(pub String);

fn form_token(ctx: &Context, seed: &str) -> String {
    hex::encode(tokens::hmac(&ctx.secret, &[b"csrf", seed.as_bytes()]))
}

/// Refuses cross-site unsafe requests, and gives every browser a CSRF seed cookie.
pub async fn layer(State(ctx): State<Arc<Context>>, mut req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        if let Some(from) = cross_site(&ctx, req.headers()) {
            let back = back_link(req.uri().path(), &BackFields::default());
            tracing::info!(
                reason = "cross-site origin",
                path = req.uri().path(),
                from,
                "form refused"
            );
            return refusal::cross_site(&back);
        }
    }
    let existing = cookies::get(req.headers(), cookies::CSRF).map(str::to_string);
    let sent = existing.is_some();
    let seed = existing.unwrap_or_else(tokens::new_token);
    req.extensions_mut().insert(CsrfSeed {
        value: seed.clone(),
        sent,
    });
    let mut response = next.run(req).await;
    if !sent {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::set(&ctx, cookies::CSRF, &seed, None),
        );
    }
    response
}

/// Where a cross-site unsafe request came from (`Sec-Fetch-Site` or `Origin`), if it did.
fn cross_site(ctx: &Context, headers: &HeaderMap) -> Option<String> {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if let Some(site) = fetch_site.filter(|s| *s != "same-origin" && *s != "none") {
        return Some(format!("sec-fetch-site: {site}"));
    }
    // Browsers send `Origin: null` under `Referrer-Policy: no-referrer`; the token and
    // Sec-Fetch-Site still decide then.
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")?;
    let ours = ctx.config.server.public_url.origin().ascii_serialization();
    (origin != ours).then(|| format!("origin: {origin}"))
}

impl FromRequestParts<Arc<Context>> for CsrfToken {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<Context>) -> Result<Self, WebError> {
        let seed = parts
            .extensions
            .get::<CsrfSeed>()
            .ok_or_else(|| WebError::Internal(anyhow::anyhow!("CSRF layer missing")))?;
        Ok(Self(form_token(ctx, &seed.value)))
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// The fields of a refused form that say where its sender was going.
#[derive(Deserialize, Default)]
struct BackFields {
    next: Option<String>,
    rd: Option<String>,
}

/// A urlencoded form whose CSRF token has been checked.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<Context>> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, ctx: &Arc<Context>) -> Result<Self, Response> {
        let seed = req.extensions().get::<CsrfSeed>().cloned();
        let path = req.uri().path().to_string();
        let any_cookie = [cookies::CSRF, cookies::SESSION, cookies::LOGIN]
            .iter()
            .any(|name| cookies::get(req.headers(), name).is_some());
        let bytes = Bytes::from_request(req, ctx)
            .await
            .map_err(IntoResponse::into_response)?;
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
            WebError::BadRequest("The form could not be read.".into()).into_response()
        })?;
        let refused = match seed {
            Some(seed) if !seed.sent => Some("missing cookie"),
            Some(seed)
                if field.csrf.is_empty()
                    || !tokens::equal(
                        field.csrf.as_bytes(),
                        form_token(ctx, &seed.value).as_bytes(),
                    ) =>
            {
                Some("bad token")
            }
            Some(_) => None,
            None => Some("missing cookie"),
        };
        if let Some(reason) = refused {
            let back = back_link(
                &path,
                &serde_urlencoded::from_bytes(&bytes).unwrap_or_default(),
            );
            tracing::info!(
                reason,
                path,
                any_daypass_cookie = any_cookie,
                cookie_domain = ctx.config.server.cookie_domain.as_deref().unwrap_or("-"),
                "form refused"
            );
            return Err(if any_cookie {
                refusal::stale(&back)
            } else {
                refusal::no_cookies(ctx, &back)
            });
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|e| {
                WebError::BadRequest(format!("The form could not be read: {e}")).into_response()
            })
    }
}

/// Where "Back" goes from a refused form: the page the person was on, or was going to.
fn back_link(path: &str, fields: &BackFields) -> String {
    if let Some(next) = fields.next.as_deref().filter(|n| !n.is_empty()) {
        return local_path(Some(next));
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["request", _] => match fields.rd.as_deref().filter(|r| !r.is_empty()) {
            Some(rd) => format!(
                "{path}?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("rd", rd)
                    .finish()
            ),
            None => path.to_string(),
        },
        ["login"] | ["login", "verify"] | ["review", _] | ["grants", _, "extend"] => {
            path.to_string()
        }
        ["requests", id, "cancel"] => format!("/requests/{id}"),
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{back_link, BackFields};

    fn fields(next: Option<&str>, rd: Option<&str>) -> BackFields {
        BackFields {
            next: next.map(str::to_string),
            rd: rd.map(str::to_string),
        }
    }

    #[test]
    fn back_returns_to_where_the_person_was_going() {
        let none = fields(None, None);
        for (path, f, want) in [
            (
                "/login",
                fields(Some("/request/demo?rd=http%3A%2F%2Fapp%2F"), None),
                "/request/demo?rd=http%3A%2F%2Fapp%2F",
            ),
            (
                "/login/verify",
                fields(Some("/review/abc"), None),
                "/review/abc",
            ),
            ("/login", fields(Some("//evil.example"), None), "/"),
            ("/login", fields(Some(""), None), "/login"),
            (
                "/request/demo",
                fields(None, Some("http://app.demo.localhost:8000/x?y=1")),
                "/request/demo?rd=http%3A%2F%2Fapp.demo.localhost%3A8000%2Fx%3Fy%3D1",
            ),
            ("/request/demo", fields(None, Some("")), "/request/demo"),
            ("/review/abc", fields(None, None), "/review/abc"),
            ("/requests/7/cancel", fields(None, None), "/requests/7"),
            ("/grants/3/extend", fields(None, None), "/grants/3/extend"),
        ] {
            assert_eq!(back_link(path, &f), want, "{path}");
        }
        assert_eq!(back_link("/logout", &none), "/");
        assert_eq!(back_link("/grants/3/revoke", &none), "/");
    }
}
