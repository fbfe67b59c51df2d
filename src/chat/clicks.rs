//! A click in a chat message, whatever the service: who may do what, then the same use-cases
//! as review links and pages, applied by the server. The service reads its own payload into a
//! `Click` and renders the `Answer` its own way.
use crate::access::decisions::{self, DecideError, Verdict};
use crate::access::grants::{self, RevokeError};
use crate::config::Approver;
use crate::domain::{GrantDuration, Reason};
use crate::policy;
use crate::server::context::Context;
use crate::store::{Origin, Store};

#[derive(Debug, Clone)]
pub enum Action {
    /// Show the request's message again (a duration picked in the menu).
    Show(i64),
    Approve(i64, GrantDuration),
    Deny(i64, Reason),
    /// End grant `id` early.
    Revoke(i64),
}

pub struct Click<'a> {
    /// The configured approver the service says clicked (by their chat user id).
    pub approver: &'a Approver,
    pub action: Action,
    /// The service's id of this interaction: a replay shows the state and changes nothing.
    pub interaction_id: &'a str,
    pub origin: Origin<'a>,
}

#[derive(Debug)]
pub enum Answer {
    /// Show the clicker request `id`'s message as it is now.
    Current(i64),
    /// Tell only the clicker why nothing changed.
    Refused(String),
}

/// Acts on one click. Errors are the database's; refusals are answers.
pub async fn handle(ctx: &Context, click: Click<'_>) -> sqlx::Result<Answer> {
    let refuse = |m: String| Ok(Answer::Refused(m));
    let grant = match click.action {
        Action::Revoke(grant_id) => match Store::grant(ctx.store.reader(), grant_id).await? {
            Some(g) => Some(g),
            None => return refuse("There is no such grant.".into()),
        },
        _ => None,
    };
    let request_id = match (&click.action, &grant) {
        (_, Some(g)) => g.request_id,
        (Action::Show(id) | Action::Approve(id, _) | Action::Deny(id, _), _) => *id,
        (Action::Revoke(_), None) => return refuse("There is no such grant.".into()),
    };
    let Some(request) = Store::request(ctx.store.reader(), request_id).await? else {
        return refuse("There is no such request.".into());
    };
    let temporary = ctx
        .config
        .temporary(&request.app_slug, &request.policy_name)
        .map(|(_, t)| t);
    let who = &click.approver.email;
    match (&grant, temporary) {
        (Some(g), t) => {
            if !policy::may_revoke(t, &g.email, who) {
                return refuse("You may not end this access. Nothing changed.".into());
            }
        }
        (None, None) => return refuse("The policy of this request no longer exists.".into()),
        (None, Some(t)) => {
            if let Err(why) =
                policy::may_decide(t, who, &request.requester, request.escalated_at.is_some())
            {
                return refuse(format!("{why} Nothing changed."));
            }
        }
    }
    let now = ctx.clock.now_ms();
    let fresh = click.interaction_id.is_empty()
        || ctx
            .store
            .first_sight_of_interaction(click.interaction_id, now)
            .await?;
    if !fresh {
        return Ok(Answer::Current(request_id));
    }
    let verdict = match click.action {
        Action::Show(_) => return Ok(Answer::Current(request_id)),
        Action::Approve(_, d) => Verdict::Approve(d),
        Action::Deny(_, reason) => Verdict::Deny(reason),
        Action::Revoke(grant_id) => {
            let revoked = grants::revoke(
                &ctx.store,
                &ctx.config,
                grant_id,
                who.as_str(),
                click.origin,
                None,
                now,
            )
            .await;
            return match revoked {
                Ok(outcome) => {
                    ctx.apply(outcome);
                    Ok(Answer::Current(request_id))
                }
                Err(RevokeError::Db(e)) => Err(e),
                Err(e) => refuse(e.to_string()),
            };
        }
    };
    match decisions::decide(
        &ctx.store,
        &ctx.config,
        request_id,
        who,
        click.origin,
        verdict,
        now,
    )
    .await
    {
        Ok(outcome) => {
            ctx.apply(outcome);
            Ok(Answer::Current(request_id))
        }
        Err(DecideError::Db(e)) => Err(e),
        Err(e) => refuse(e.to_string()),
    }
}
