//! Asking for access: one pending request per person and application, its approvers told at once.
use crate::config::{Application, Temporary};
use crate::context::Context;
use crate::domain::{Email, GrantDuration, Justification};
use crate::notify::{self, Event};
use crate::store::{NewAudit, NewRequest, Store};
use crate::tokens;

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("You can ask for at most {max}.")]
    TooLong { max: GrantDuration },
    #[error("Nobody but you can approve access to this application; ask an administrator.")]
    NoApprover,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub struct NewAccessRequest<'a> {
    pub requester: &'a Email,
    pub app: &'a Application,
    pub policy_name: &'a str,
    pub temporary: &'a Temporary,
    pub justification: &'a Justification,
    pub wished: Option<GrantDuration>,
    pub redirect_to: Option<&'a str>,
    pub client_ip: Option<&'a str>,
}

/// Records the request and queues a review link for each approver. A second submit while one
/// is pending (a double click) returns the pending request instead of making another.
pub async fn create(ctx: &Context, r: NewAccessRequest<'_>) -> Result<i64, RequestError> {
    let max = r.temporary.max_duration;
    if r.wished.is_some_and(|w| w > max) {
        return Err(RequestError::TooLong { max });
    }
    let approvers: Vec<&Email> = r
        .temporary
        .approvers
        .iter()
        .filter(|a| *a != r.requester)
        .collect();
    if approvers.is_empty() {
        return Err(RequestError::NoApprover);
    }
    let now = ctx.clock.now_ms();
    let mut tx = ctx.store.begin().await?;
    if let Some(existing) = pending_in(&mut tx, r.requester.as_str(), &r.app.slug, now).await? {
        return Ok(existing);
    }
    let new = NewRequest {
        app_slug: &r.app.slug,
        policy_name: r.policy_name,
        requester: r.requester.as_str(),
        justification: r.justification.as_str(),
        wished_ms: r.wished.map(GrantDuration::as_millis),
        max_ms: max.as_millis(),
        redirect_to: r.redirect_to,
        created_at: now,
        expires_at: now + ctx.config.server.request_ttl.as_millis() as i64,
        client_ip: r.client_ip,
    };
    let id = Store::insert_request(&mut tx, &new).await?;
    let origin = ctx.config.server.origin();
    let mut links = Vec::new();
    for approver in approvers {
        let token = tokens::new_token();
        Store::insert_review_token(&mut tx, &tokens::hash(&token), id, approver.as_str(), now)
            .await?;
        links.push((approver.to_string(), format!("{origin}/review/{token}")));
    }
    Store::append_audit(
        &mut tx,
        &NewAudit {
            at: now,
            action: "request_created",
            actor: r.requester.as_str(),
            channel: "web",
            request_id: Some(id),
            app_slug: Some(&r.app.slug),
            subject: Some(r.requester.as_str()),
            justification: Some(r.justification.as_str()),
            duration_ms: new.wished_ms,
            client_ip: r.client_ip,
            ..Default::default()
        },
    )
    .await?;
    let request = Store::request(&mut *tx, id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    notify::enqueue(
        &mut tx,
        &ctx.config,
        Event::RequestCreated {
            request: &request,
            app_name: &r.app.name,
            links: &links,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    ctx.wake_outbox();
    tracing::info!(request = id, app = %r.app.slug, requester = %r.requester, "access requested");
    Ok(id)
}

async fn pending_in(
    conn: &mut sqlx::SqliteConnection,
    requester: &str,
    slug: &str,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    Store::pending_request_id(conn, requester, slug, now).await
}
