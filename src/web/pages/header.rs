//! A page's header, read from the request: who is looking (a session or the proxy's header), the
//! token of the sign-out form, and for an approver how many requests wait for them. Only an
//! approver's page counts them; nobody else's costs a query.
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::domain::Email;
use crate::server::context::Context;
use crate::web::csrf::CsrfToken;
use crate::web::error::WebError;
use crate::web::identity::{identify_or_look_up, peer};
use crate::web::pages::approvals::waiting_for;
use crate::web::pages::layout::{Approvals, PageHeader};

impl FromRequestParts<Arc<Context>> for PageHeader {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<Context>) -> Result<Self, WebError> {
        let CsrfToken(csrf) = CsrfToken::from_request_parts(parts, ctx).await?;
        let viewer = identify_or_look_up(ctx, &parts.headers, peer(&parts.extensions)).await;
        let approvals = match &viewer {
            Some(me) if ctx.config.decides_anywhere(me) => count(ctx, me).await,
            _ => Approvals::None,
        };
        Ok(Self {
            viewer,
            csrf,
            approvals,
        })
    }
}

/// A count that fails leaves the page up, with the link and no number.
async fn count(ctx: &Context, me: &Email) -> Approvals {
    match waiting_for(ctx, me).await {
        Ok(waiting) => Approvals::Waiting(waiting.len()),
        Err(e) => {
            tracing::warn!(error = %e, "cannot count the waiting requests");
            Approvals::Uncounted
        }
    }
}
