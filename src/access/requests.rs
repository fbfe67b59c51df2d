//! Asking for access (or for more time on a live grant): one pending request per person and
//! application, its approvers told at once; and withdrawing a request.
use crate::access::change::{Change, Outcome};
use crate::config::{Application, Config, Temporary};
use crate::domain::{Email, GrantDuration, Justification};
use crate::notify::{self, webhooks, Event};
use crate::policy;
use crate::store::{AuditAction, GrantRow, NewAudit, NewRequest, Origin, RequestRow, Store, Tx};
use crate::tokens;

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("You can ask for at most {max}.")]
    TooLong { max: GrantDuration },
    #[error("Nobody but you can approve access to this application; ask an administrator.")]
    NoApprover,
    #[error("This request is no longer pending, so it cannot be cancelled.")]
    NotPending,
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
    /// The live grant this asks to extend, if any.
    pub extends: Option<&'a GrantRow>,
}

/// Creates a review link for each of `approvers`; returns (approver, link) pairs for the emails.
pub async fn review_links(
    tx: &mut Tx,
    config: &Config,
    secret: &[u8],
    request_id: i64,
    approvers: &[&Email],
    now: i64,
) -> sqlx::Result<Vec<(String, String)>> {
    let origin = config.server.origin();
    let mut links = Vec::new();
    for approver in approvers {
        // The email carries a marker; the token itself is made at sending time from the secret.
        let salt = tokens::new_token();
        let token = tokens::derived(secret, "review", &salt);
        Store::insert_review_token(
            tx,
            &tokens::hash(&token),
            request_id,
            approver.as_str(),
            now,
        )
        .await?;
        links.push((
            approver.to_string(),
            format!("{origin}/review/{}", tokens::review_marker(&salt)),
        ));
    }
    Ok(links)
}

/// Records the request and queues a review link for each approver. A second submit while one
/// is pending (a double click) returns the pending request instead of making another.
#[tracing::instrument(name = "access", skip_all, fields(request = tracing::field::Empty, person = %r.requester, app = %r.app.slug))]
pub async fn create(
    store: &Store,
    config: &Config,
    secret: &[u8],
    r: NewAccessRequest<'_>,
    now: i64,
) -> Result<Outcome<i64>, RequestError> {
    let max = r.temporary.max_duration;
    if r.wished.is_some_and(|w| w > max) {
        return Err(RequestError::TooLong { max });
    }
    let approvers = policy::deciders(r.temporary, r.requester, false);
    if approvers.is_empty() {
        return Err(RequestError::NoApprover);
    }
    let mut tx = store.begin().await?;
    if let Some(existing) =
        Store::pending_request_id(&mut tx, r.requester.as_str(), &r.app.slug, now).await?
    {
        tracing::Span::current().record("request", existing);
        return Ok(Outcome::new(existing, Change::default()));
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
        expires_at: now + config.server.request_ttl.as_millis() as i64,
        client_ip: r.client_ip,
        extends_grant_id: r.extends.map(|g| g.id),
        approvals_needed: i64::from(r.temporary.approvals_needed),
        next_reminder_at: Some(now + config.remind_after(r.temporary).as_millis() as i64),
    };
    let id = Store::insert_request(&mut tx, &new).await?;
    tracing::Span::current().record("request", id);
    let links = review_links(&mut tx, config, secret, id, &approvers, now).await?;
    let action = if r.extends.is_some() {
        AuditAction::ExtensionRequested
    } else {
        AuditAction::RequestCreated
    };
    let audit = NewAudit {
        request_id: Some(id),
        grant_id: r.extends.map(|g| g.id),
        app_slug: Some(&r.app.slug),
        subject: Some(r.requester.as_str()),
        justification: Some(r.justification.as_str()),
        duration_ms: new.wished_ms,
        ..NewAudit::new(now, action, r.requester.as_str(), Origin::web(r.client_ip))
    };
    let mut queued = webhooks::record(&mut tx, config, &[audit], now).await?;
    let request = Store::request(&mut *tx, id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let event = Event::RequestCreated {
        request: &request,
        app_name: &r.app.name,
        links: &links,
        extends: r.extends,
    };
    queued.extend(notify::enqueue(&mut tx, config, event, now).await?);
    tx.commit().await?;
    tracing::info!(extension = r.extends.is_some(), "access requested");
    Ok(Outcome::new(id, Change::queued(queued)))
}

/// The requester withdraws a pending request; its approvers are told and its links stop working.
#[tracing::instrument(name = "access", skip_all, fields(request = id, person = %requester))]
pub async fn cancel(
    store: &Store,
    config: &Config,
    id: i64,
    requester: &Email,
    client_ip: Option<&str>,
    now: i64,
) -> Result<Outcome<RequestRow>, RequestError> {
    let mut tx = store.begin().await?;
    let Some(request) = Store::cancel_request(&mut tx, id, requester.as_str(), now).await? else {
        return Err(RequestError::NotPending);
    };
    Store::use_review_tokens(&mut tx, id, now).await?;
    let audit = NewAudit {
        request_id: Some(id),
        app_slug: Some(&request.app_slug),
        subject: Some(requester.as_str()),
        ..NewAudit::new(
            now,
            AuditAction::RequestCancelled,
            requester.as_str(),
            Origin::web(client_ip),
        )
    };
    let mut queued = webhooks::record(&mut tx, config, &[audit], now).await?;
    let app_name = config.app_name(&request.app_slug);
    let event = Event::RequestCancelled {
        request: &request,
        app_name,
    };
    queued.extend(notify::enqueue(&mut tx, config, event, now).await?);
    tx.commit().await?;
    tracing::info!("request cancelled");
    Ok(Outcome::new(request, Change::queued(queued)))
}
