//! Approving and denying: one code path for every channel. The first decision wins.
use crate::clock::show;
use crate::config::Temporary;
use crate::context::Context;
use crate::domain::{Email, GrantDuration, Reason};
use crate::notify::{self, Event};
use crate::policy;
use crate::store::{GrantRow, NewAudit, NewGrant, RequestRow, Store};

/// Where a decision or revocation came from, for the audit log.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    /// `email` (a review link), `discord`, `web`, `cli`.
    pub channel: &'a str,
    pub client_ip: Option<&'a str>,
    pub discord_user: Option<&'a str>,
}

impl<'a> Origin<'a> {
    pub fn new(channel: &'a str) -> Self {
        Self {
            channel,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone)]
pub enum Verdict {
    Approve(GrantDuration),
    Deny(Reason),
}

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("There is no such request.")]
    NotFound,
    #[error("{}", already(.0))]
    AlreadyDecided(Box<RequestRow>),
    #[error("{0}")]
    NotAllowed(&'static str),
    #[error("The longest access this application allows is {max}.")]
    TooLong { max: GrantDuration },
    #[error(
        "The policy this request was made under no longer exists; the requester must ask again."
    )]
    PolicyGone,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn already(r: &RequestRow) -> String {
    match (r.state.as_str(), &r.decided_by, r.decided_at) {
        ("expired", _, _) => "This request expired before anyone answered it.".into(),
        ("cancelled", _, _) => "The requester cancelled this request.".into(),
        (state, Some(by), Some(at)) => {
            format!("This request was already {state} by {by} at {}.", show(at))
        }
        _ => "This request is no longer waiting for a decision.".into(),
    }
}

pub struct Decided {
    pub request: RequestRow,
    pub grant: Option<GrantRow>,
}

/// The temporary block of the policy a request was made under, as the config says now.
pub fn temporary_for<'c>(
    ctx: &'c Context,
    request: &RequestRow,
) -> Option<(&'c str, &'c Temporary)> {
    let app = ctx.config.application(&request.app_slug)?;
    app.policies
        .iter()
        .find(|p| p.name == request.policy_name)
        .and_then(|p| p.temporary.as_ref().map(|t| (app.name.as_str(), t)))
}

/// Decides `request_id` as `approver` through `channel` (`email`, `discord`).
pub async fn decide(
    ctx: &Context,
    request_id: i64,
    approver: &Email,
    origin: Origin<'_>,
    verdict: Verdict,
) -> Result<Decided, DecideError> {
    let channel = origin.channel;
    let request = Store::request(ctx.store.reader(), request_id)
        .await?
        .ok_or(DecideError::NotFound)?;
    let (app_name, temporary) = temporary_for(ctx, &request).ok_or(DecideError::PolicyGone)?;
    let requester = Email::parse(&request.requester).map_err(|_| DecideError::NotFound)?;
    policy::may_decide(temporary, approver, &requester).map_err(DecideError::NotAllowed)?;
    if let Verdict::Approve(d) = verdict {
        if d > temporary.max_duration {
            return Err(DecideError::TooLong {
                max: temporary.max_duration,
            });
        }
    }
    let now = ctx.clock.now_ms();
    let (state, reason, duration_ms) = match &verdict {
        Verdict::Approve(d) => ("approved", None, Some(d.as_millis())),
        Verdict::Deny(r) => ("denied", r.as_option(), None),
    };
    let mut tx = ctx.store.begin().await?;
    let audit = NewAudit {
        at: now,
        actor: approver.as_str(),
        channel,
        request_id: Some(request_id),
        app_slug: Some(&request.app_slug),
        subject: Some(&request.requester),
        justification: Some(&request.justification),
        duration_ms,
        reason,
        client_ip: origin.client_ip,
        discord_user: origin.discord_user,
        ..Default::default()
    };
    let Some(decided) = Store::decide_request(
        &mut tx,
        request_id,
        state,
        approver.as_str(),
        channel,
        reason,
        now,
    )
    .await?
    else {
        Store::append_audit(
            &mut tx,
            &NewAudit {
                action: "decision_refused",
                ..audit
            },
        )
        .await?;
        let current = Store::request(&mut *tx, request_id)
            .await?
            .ok_or(DecideError::NotFound)?;
        tx.commit().await?;
        return Err(DecideError::AlreadyDecided(Box::new(current)));
    };
    let grant = match verdict {
        Verdict::Approve(d) => {
            let new = NewGrant {
                request_id,
                app_slug: &decided.app_slug,
                email: &decided.requester,
                approved_by: approver.as_str(),
                approved_at: now,
                expires_at: now + d.as_millis(),
                max_ms: temporary.max_duration.as_millis(),
            };
            Some(Store::insert_grant(&mut tx, &new).await?)
        }
        Verdict::Deny(_) => None,
    };
    Store::use_review_tokens(&mut tx, request_id, now).await?;
    let action = if grant.is_some() {
        "request_approved"
    } else {
        "request_denied"
    };
    Store::append_audit(
        &mut tx,
        &NewAudit {
            action,
            grant_id: grant.as_ref().map(|g| g.id),
            ..audit
        },
    )
    .await?;
    notify::enqueue(
        &mut tx,
        &ctx.config,
        Event::RequestDecided {
            request: &decided,
            app_name,
            grant: grant.as_ref(),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    if let Some(g) = &grant {
        ctx.cache.put_grant(g);
    }
    ctx.wake_outbox();
    tracing::info!(request = request_id, %approver, channel, state, "request decided");
    Ok(Decided {
        request: decided,
        grant,
    })
}
