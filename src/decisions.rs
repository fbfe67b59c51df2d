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
    #[error("You have already approved this request; it is waiting for other approvers.")]
    AlreadyApproved,
    #[error("The access this extension was for has already ended; the requester must ask again.")]
    GrantEnded,
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
    /// The grant made, or extended, by this decision.
    pub grant: Option<GrantRow>,
    /// For a request that needs several approvals and is still waiting: (approvals so far, needed).
    pub waiting: Option<(i64, i64)>,
}

/// The temporary block of the policy a request was made under, as the config says now.
pub fn temporary_for<'c>(
    ctx: &'c Context,
    request: &RequestRow,
) -> Option<(&'c str, &'c Temporary)> {
    let (app, t) = ctx
        .config
        .temporary(&request.app_slug, &request.policy_name)?;
    Some((app.name.as_str(), t))
}

/// Decides `request_id` as `approver`. With a quorum (`approvals_needed` > 1), an approval is
/// recorded until enough distinct approvers agree; the shortest chosen duration wins; one deny
/// denies. Approving an extension moves the live grant's end instead of making a new grant.
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
    policy::may_decide(
        temporary,
        approver,
        &requester,
        request.escalated_at.is_some(),
    )
    .map_err(DecideError::NotAllowed)?;
    if let Verdict::Approve(d) = verdict {
        if d > temporary.max_duration {
            return Err(DecideError::TooLong {
                max: temporary.max_duration,
            });
        }
    }
    let now = ctx.clock.now_ms();
    let (reason, duration_ms) = match &verdict {
        Verdict::Approve(d) => (None, Some(d.as_millis())),
        Verdict::Deny(r) => (r.as_option(), None),
    };
    let mut tx = ctx.store.begin().await?;
    let audit = NewAudit {
        at: now,
        action: "decision_refused",
        actor: approver.as_str(),
        channel,
        request_id: Some(request_id),
        grant_id: request.extends_grant_id,
        app_slug: Some(&request.app_slug),
        subject: Some(&request.requester),
        justification: Some(&request.justification),
        duration_ms,
        reason,
        client_ip: origin.client_ip,
        discord_user: origin.discord_user,
    };
    // The duration the grant gets: this approval's, or with a quorum the shortest of them all.
    let mut duration = duration_ms;
    if let (Verdict::Approve(d), true) = (&verdict, request.approvals_needed > 1) {
        let current = Store::request(&mut *tx, request_id)
            .await?
            .ok_or(DecideError::NotFound)?;
        if current.state != "pending" || current.expires_at <= now {
            Store::append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            return Err(DecideError::AlreadyDecided(Box::new(current)));
        }
        if !Store::insert_approval(
            &mut tx,
            request_id,
            approver.as_str(),
            d.as_millis(),
            now,
            channel,
        )
        .await?
        {
            return Err(DecideError::AlreadyApproved);
        }
        let approvals = Store::approvals(&mut *tx, request_id).await?;
        // Only people who may decide under the config as it is now count, each person once.
        let tally = policy::tally(
            temporary,
            &requester,
            current.escalated_at.is_some(),
            request.approvals_needed,
            &approvals,
        );
        if !tally.complete() {
            let counted: Vec<_> = tally.counted.iter().map(|a| (*a).clone()).collect();
            Store::append_audit(
                &mut tx,
                &NewAudit {
                    action: "approval_recorded",
                    ..audit
                },
            )
            .await?;
            let event = Event::ApprovalRecorded {
                request: &current,
                app_name,
                approvals: &counted,
            };
            notify::enqueue(&mut tx, &ctx.config, event, now).await?;
            tx.commit().await?;
            ctx.wake_outbox();
            return Ok(Decided {
                request: current,
                grant: None,
                waiting: Some((tally.count(), request.approvals_needed)),
            });
        }
        duration = tally.duration_ms();
    }
    let state = if matches!(verdict, Verdict::Approve(_)) {
        "approved"
    } else {
        "denied"
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
        Store::append_audit(&mut tx, &audit).await?;
        let current = Store::request(&mut *tx, request_id)
            .await?
            .ok_or(DecideError::NotFound)?;
        tx.commit().await?;
        return Err(DecideError::AlreadyDecided(Box::new(current)));
    };
    let approve = matches!(verdict, Verdict::Approve(_));
    let grant = match (duration, approve, decided.extends_grant_id) {
        (Some(ms), true, Some(grant_id)) => {
            // Never past the cap counted from this approval: the schema checks it too.
            let until = now + ms.min(temporary.max_duration.as_millis());
            Some(
                Store::extend_grant(&mut tx, grant_id, now, until)
                    .await?
                    .ok_or(DecideError::GrantEnded)?,
            )
        }
        (Some(ms), true, None) => {
            let new = NewGrant {
                request_id,
                app_slug: &decided.app_slug,
                email: &decided.requester,
                approved_by: approver.as_str(),
                approved_at: now,
                expires_at: now + ms,
                max_ms: temporary.max_duration.as_millis(),
            };
            Some(Store::insert_grant(&mut tx, &new).await?)
        }
        _ => None,
    };
    Store::use_review_tokens(&mut tx, request_id, now).await?;
    let action = match (&grant, decided.extends_grant_id) {
        (Some(_), Some(_)) => "grant_extended",
        (Some(_), None) => "request_approved",
        (None, _) => "request_denied",
    };
    let audit = NewAudit {
        action,
        grant_id: grant.as_ref().map(|g| g.id),
        duration_ms: duration,
        ..audit
    };
    Store::append_audit(&mut tx, &audit).await?;
    let event = Event::RequestDecided {
        request: &decided,
        app_name,
        grant: grant.as_ref(),
    };
    notify::enqueue(&mut tx, &ctx.config, event, now).await?;
    tx.commit().await?;
    if let Some(g) = &grant {
        ctx.cache.put_grant(g);
    }
    ctx.wake_outbox();
    tracing::info!(request = request_id, %approver, channel, action, "request decided");
    Ok(Decided {
        request: decided,
        grant,
        waiting: None,
    })
}
