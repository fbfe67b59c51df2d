//! CSRF: a random cookie, and in every form an HMAC of it; plus refusing cross-site posts.
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::cookies;
use super::error::WebError;
use crate::context::Context;
use crate::tokens;

/// The per-browser random value behind the form tokens.
#[derive(Clone)]
struct CsrfSeed(String);

/// The token a page puts into its forms.
pub struct CsrfToken(pub String);

fn form_token(ctx: &Context, seed: &str) -> String {
    hex::encode(tokens::hmac(&ctx.secret, &[b"csrf", seed.as_bytes()]))
}

const CROSS_SITE: &str = "This form was not sent from daypass itself, so it was refused.";
const STALE: &str =
    "This form has expired or was not sent from daypass. Go back, reload the page and try again.";

/// Refuses cross-site unsafe requests, and gives every browser a CSRF seed cookie.
pub async fn layer(State(ctx): State<Arc<Context>>, mut req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let headers = req.headers();
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        if fetch_site.is_some_and(|s| s != "same-origin" && s != "none") {
            return WebError::Forbidden(CROSS_SITE.into()).into_response();
        }
        // Browsers send `Origin: null` under `Referrer-Policy: no-referrer`; the token and
        // Sec-Fetch-Site still decide then.
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .filter(|o| *o != "null");
        if let Some(origin) = origin {
            let ours = ctx.config.server.public_url.origin().ascii_serialization();
            if origin != ours {
                return WebError::Forbidden(CROSS_SITE.into()).into_response();
            }
        }
    }
    let existing = cookies::get(req.headers(), cookies::CSRF).map(str::to_string);
    let fresh = existing.is_none();
    let seed = existing.unwrap_or_else(tokens::new_token);
    req.extensions_mut().insert(CsrfSeed(seed.clone()));
    let mut response = next.run(req).await;
    if fresh {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookies::set(&ctx, cookies::CSRF, &seed, None),
        );
    }
    response
}

impl FromRequestParts<Arc<Context>> for CsrfToken {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<Context>) -> Result<Self, WebError> {
        let seed = parts
            .extensions
            .get::<CsrfSeed>()
            .ok_or_else(|| WebError::Internal(anyhow::anyhow!("CSRF layer missing")))?;
        Ok(Self(form_token(ctx, &seed.0)))
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A urlencoded form whose CSRF token has been checked.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<Context>> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, ctx: &Arc<Context>) -> Result<Self, Response> {
        let seed = req.extensions().get::<CsrfSeed>().cloned();
        let bytes = Bytes::from_request(req, ctx)
            .await
            .map_err(IntoResponse::into_response)?;
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
            WebError::BadRequest("The form could not be read.".into()).into_response()
        })?;
        let expected = seed.map(|s| form_token(ctx, &s.0)).unwrap_or_default();
        if field.csrf.is_empty() || !tokens::equal(field.csrf.as_bytes(), expected.as_bytes()) {
            return Err(WebError::Forbidden(STALE.into()).into_response());
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|e| {
                WebError::BadRequest(format!("The form could not be read: {e}")).into_response()
            })
    }
}
