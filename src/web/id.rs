//! `{id}` in a path: a number, or the page does not exist (404, never a 400 or a 500).
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use crate::server::context::Context;
use crate::web::error::WebError;

/// The numeric id in the path.
pub struct Id(pub i64);

impl FromRequestParts<Arc<Context>> for Id {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &Arc<Context>,
    ) -> Result<Self, Self::Rejection> {
        let not_found = || WebError::NotFound("There is no such page.".into());
        let Path(raw) = Path::<String>::from_request_parts(parts, ctx)
            .await
            .map_err(|_| not_found())?;
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(Id)
            .ok_or_else(not_found)
    }
}
