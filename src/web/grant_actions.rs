//! `POST /grants/{id}/revoke`: the holder ends their own access ("I'm done"), or an approver ends it.
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::csrf::CsrfForm;
use super::error::{WebError, WebResult};
use super::identity::{local_path, ClientIp, User};
use crate::context::Context;
use crate::decisions::{temporary_for, Origin};
use crate::domain::Reason;
use crate::grants::{self, RevokeError};
use crate::store::Store;

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    reason: String,
    next: Option<String>,
}

pub async fn revoke(
    State(ctx): State<Arc<Context>>,
    User(me): User,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RevokeForm>,
) -> WebResult<Response> {
    let not_found = || WebError::NotFound("There is no such grant.".into());
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let grant = Store::grant(ctx.store.reader(), id)
        .await?
        .ok_or_else(not_found)?;
    let request = Store::request(ctx.store.reader(), grant.request_id)
        .await?
        .ok_or_else(not_found)?;
    let approver = temporary_for(&ctx, &request)
        .is_some_and(|(_, t)| t.approvers.contains(&me) || t.escalate_to.contains(&me));
    if me.as_str() != grant.email && !approver {
        return Err(not_found());
    }
    let reason = Reason::parse(&form.reason).map_err(WebError::BadRequest)?;
    let origin = Origin {
        channel: "web",
        client_ip: ip.as_deref(),
        discord_user: None,
    };
    let now = ctx.clock.now_ms();
    match grants::revoke(
        &ctx.store,
        &ctx.config,
        id,
        me.as_str(),
        origin,
        reason.as_option(),
        now,
    )
    .await
    {
        Ok(g) => {
            ctx.cache.put_grant(&g);
            ctx.wake_outbox();
            Ok(Redirect::to(&local_path(form.next.as_deref())).into_response())
        }
        Err(RevokeError::Db(e)) => Err(e.into()),
        Err(e @ RevokeError::AlreadyEnded(_)) => Err(WebError::Conflict(e.to_string())),
        Err(RevokeError::NotFound(_)) => Err(not_found()),
    }
}
