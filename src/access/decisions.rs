//! Approving and denying: one code path for every channel. The first decision wins.
use crate::access::change::{Change, Outcome};
use crate::access::grants;
use crate::clock::show;
use crate::config::{Config, Temporary};
use crate::domain::{Email, GrantDuration, Reason};
use crate::notify::{self, webhooks, Event};
use crate::policy;
use crate::store::{AuditAction, GrantRow, NewAudit, Origin, RequestRow, RequestState, Store, Tx};

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
    #[error("You have already approved this request; it is waiting for other approvals.")]
    AlreadyApproved,
    #[error("The access this extension was for has already ended; the requester must ask again.")]
    GrantEnded,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn already(r: &RequestRow) -> String {
    match (r.state, &r.decided_by, r.decided_at) {
        (RequestState::Expired, _, _) => "This request expired before anyone answered it.".into(),
        (RequestState::Cancelled, _, _) => "The requester cancelled this request.".into(),
        (state, Some(by), Some(at)) => {
            format!("This request was already {state} by {by} at {}.", show(at))
        }
        _ => "This request is no longer waiting for a decision.".into(),
    }
}

#[derive(Debug)]
pub struct Decided {
    pub request: RequestRow,
    /// The grant made, or extended, by this decision.
    pub grant: Option<GrantRow>,
    /// For a request that needs several approvals and is still waiting: (approvals so far, needed).
    pub waiting: Option<(i64, i64)>,
}

/// What a verdict does to a request, decided without I/O from what is known before writing.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// Record this approval; the quorum decides whether it completes the request.
    CountApproval {
        duration_ms: i64,
    },
    /// Approve at once for this long.
    Approve {
        duration_ms: i64,
    },
    Deny,
}

/// Checks `verdict` by `approver` against the request and its policy as configured now.
fn plan(
    request: &RequestRow,
    temporary: &Temporary,
    approver: &Email,
    verdict: &Verdict,
) -> Result<Plan, DecideError> {
    policy::may_decide(
        temporary,
        approver,
        &request.requester,
        request.escalated_at.is_some(),
    )
    .map_err(DecideError::NotAllowed)?;
    match verdict {
        Verdict::Approve(d) if *d > temporary.max_duration => Err(DecideError::TooLong {
            max: temporary.max_duration,
        }),
        Verdict::Approve(d) if request.approvals_needed > 1 => Ok(Plan::CountApproval {
            duration_ms: d.as_millis(),
        }),
        Verdict::Approve(d) => Ok(Plan::Approve {
            duration_ms: d.as_millis(),
        }),
        Verdict::Deny(_) => Ok(Plan::Deny),
    }
}

/// Decides `request_id` as `approver` at `now`. With a quorum (`approvals_needed` > 1), an
/// approval is recorded until enough people who may decide now agree (`policy::tally`); the
/// shortest chosen duration wins; one deny denies. Approving an extension moves the live grant's
/// end instead of making a new grant.
#[tracing::instrument(name = "access", skip_all, fields(request = request_id, person = %approver))]
pub async fn decide(
    store: &Store,
    config: &Config,
    request_id: i64,
    approver: &Email,
    origin: Origin<'_>,
    verdict: Verdict,
    now: i64,
) -> Result<Outcome<Decided>, DecideError> {
    let request = Store::request(store.reader(), request_id)
        .await?
        .ok_or(DecideError::NotFound)?;
    let (app, temporary) = config
        .temporary(&request.app_slug, &request.policy_name)
        .ok_or(DecideError::PolicyGone)?;
    let plan = plan(&request, temporary, approver, &verdict)?;
    let reason = match &verdict {
        Verdict::Approve(_) => None,
        Verdict::Deny(r) => r.as_option(),
    };
    let mut tx = store.begin().await?;
    let refused = NewAudit {
        request_id: Some(request_id),
        grant_id: request.extends_grant_id,
        app_slug: Some(&request.app_slug),
        subject: Some(request.requester.as_str()),
        justification: Some(&request.justification),
        duration_ms: match verdict {
            Verdict::Approve(d) => Some(d.as_millis()),
            Verdict::Deny(_) => None,
        },
        reason,
        ..NewAudit::new(now, AuditAction::DecisionRefused, approver.as_str(), origin)
    };
    let duration_ms = match plan {
        Plan::CountApproval { duration_ms } => {
            let counted = count_approval(
                &mut tx,
                config,
                &request,
                temporary,
                approver,
                origin,
                duration_ms,
                &refused,
                now,
            )
            .await?;
            match counted {
                Counted::Complete { duration_ms } => Some(duration_ms),
                Counted::Waiting(outcome) => {
                    tx.commit().await?;
                    return Ok(*outcome);
                }
            }
        }
        Plan::Approve { duration_ms } => Some(duration_ms),
        Plan::Deny => None,
    };
    let state = match duration_ms {
        Some(_) => RequestState::Approved,
        None => RequestState::Denied,
    };
    let Some(decided) = Store::decide_request(
        &mut tx,
        request_id,
        state,
        approver.as_str(),
        origin.via,
        reason,
        now,
    )
    .await?
    else {
        Store::append_audit(&mut tx, &refused).await?;
        let current = Store::request(&mut *tx, request_id)
            .await?
            .ok_or(DecideError::NotFound)?;
        tx.commit().await?;
        return Err(DecideError::AlreadyDecided(Box::new(current)));
    };
    let grant = match (duration_ms, decided.extends_grant_id) {
        (Some(ms), Some(grant_id)) => Some(
            grants::extend(&mut tx, grant_id, temporary, ms, now)
                .await?
                .ok_or(DecideError::GrantEnded)?,
        ),
        (Some(ms), None) => {
            Some(grants::start(&mut tx, &decided, temporary, approver.as_str(), ms, now).await?)
        }
        (None, _) => None,
    };
    Store::use_review_tokens(&mut tx, request_id, now).await?;
    let action = match (&grant, decided.extends_grant_id) {
        (Some(_), Some(_)) => AuditAction::GrantExtended,
        (Some(_), None) => AuditAction::RequestApproved,
        (None, _) => AuditAction::RequestDenied,
    };
    let audit = NewAudit {
        action,
        grant_id: grant.as_ref().map(|g| g.id),
        duration_ms,
        ..refused
    };
    let mut queued = webhooks::record(&mut tx, config, &[audit], now).await?;
    let event = Event::RequestDecided {
        request: &decided,
        app_name: &app.name,
        grant: grant.as_ref(),
    };
    queued.extend(notify::enqueue(&mut tx, config, event, now).await?);
    tx.commit().await?;
    tracing::info!(via = %origin.via, %action, "request decided");
    let change = Change::queued(queued).with_grant(grant.as_ref());
    Ok(Outcome::new(
        Decided {
            request: decided,
            grant,
            waiting: None,
        },
        change,
    ))
}

enum Counted {
    /// Enough people agree: the grant gets the shortest duration any of them chose.
    Complete { duration_ms: i64 },
    /// Recorded; the request waits for more approvals.
    Waiting(Box<Outcome<Decided>>),
}

/// Records one approval of a request that needs several, inside `tx`.
#[allow(clippy::too_many_arguments)]
async fn count_approval(
    tx: &mut Tx,
    config: &Config,
    request: &RequestRow,
    temporary: &Temporary,
    approver: &Email,
    origin: Origin<'_>,
    duration_ms: i64,
    refused: &NewAudit<'_>,
    now: i64,
) -> Result<Counted, DecideError> {
    let current = Store::request(&mut **tx, request.id)
        .await?
        .ok_or(DecideError::NotFound)?;
    if !current.is_open(now) {
        Store::append_audit(tx, refused).await?;
        return Err(DecideError::AlreadyDecided(Box::new(current)));
    }
    if !Store::insert_approval(tx, request.id, approver, duration_ms, now, origin.via).await? {
        return Err(DecideError::AlreadyApproved);
    }
    let approvals = Store::approvals(&mut **tx, request.id).await?;
    // Only people who may decide under the config as it is now count, each person once.
    let tally = policy::tally::tally(
        temporary,
        &request.requester,
        current.escalated_at.is_some(),
        request.approvals_needed,
        &approvals,
    );
    if let Some(duration_ms) = tally.duration_ms().filter(|_| tally.complete()) {
        return Ok(Counted::Complete { duration_ms });
    }
    let counted: Vec<_> = tally.counted.iter().map(|a| (*a).clone()).collect();
    let recorded = NewAudit {
        action: AuditAction::ApprovalRecorded,
        ..refused.clone()
    };
    let mut queued = webhooks::record(tx, config, &[recorded], now).await?;
    let event = Event::ApprovalRecorded {
        request: &current,
        app_name: config.app_name(&request.app_slug),
        approvals: &counted,
    };
    queued.extend(notify::enqueue(tx, config, event, now).await?);
    let waiting = Some((tally.count(), request.approvals_needed));
    Ok(Counted::Waiting(Box::new(Outcome::new(
        Decided {
            request: current,
            grant: None,
            waiting,
        },
        Change::queued(queued),
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let toml = r#"
            [[approvers]]
            email = "alice@example.com"
            [[approvers]]
            email = "bob@example.com"
            [[applications]]
            slug = "grafana"
            host = "grafana.example.com"
              [[applications.policies]]
              name = "p"
              decision = "allow"
              include = { everyone = true }
              temporary = { approvers = ["alice@example.com", "bob@example.com"], max_duration = "8h" }
        "#;
        Config::from_toml(toml, []).unwrap()
    }

    fn request(requester: &str, approvals_needed: i64) -> RequestRow {
        RequestRow {
            id: 1,
            app_slug: "grafana".into(),
            policy_name: "p".into(),
            requester: Email::parse(requester).unwrap(),
            justification: "x".into(),
            wished_ms: None,
            max_ms: 8 * 3_600_000,
            redirect_to: None,
            state: RequestState::Pending,
            created_at: 0,
            expires_at: 3_600_000,
            decided_at: None,
            decided_by: None,
            decided_via: None,
            reason: None,
            discord_message_id: None,
            extends_grant_id: None,
            approvals_needed,
            next_reminder_at: None,
            reminders_sent: 0,
            escalated_at: None,
        }
    }

    #[test]
    fn what_a_verdict_does() {
        let config = config();
        let (_, t) = config.temporary("grafana", "p").unwrap();
        let alice = Email::parse("alice@example.com").unwrap();
        let hour = || Verdict::Approve(GrantDuration::parse("1h").unwrap());
        let table: Vec<(RequestRow, &Email, Verdict, Result<Plan, &str>)> = vec![
            (
                request("carol@x.example", 1),
                &alice,
                hour(),
                Ok(Plan::Approve {
                    duration_ms: 3_600_000,
                }),
            ),
            (
                request("carol@x.example", 2),
                &alice,
                hour(),
                Ok(Plan::CountApproval {
                    duration_ms: 3_600_000,
                }),
            ),
            (
                request("carol@x.example", 2),
                &alice,
                Verdict::Deny(Reason::default()),
                Ok(Plan::Deny),
            ),
            (
                request("carol@x.example", 1),
                &alice,
                Verdict::Approve(GrantDuration::parse("9h").unwrap()),
                Err("TooLong"),
            ),
            (
                request("alice+me@example.com", 1),
                &alice,
                hour(),
                Err("NotAllowed"),
            ),
        ];
        for (r, who, verdict, want) in table {
            let got = plan(&r, t, who, &verdict);
            match (got, want) {
                (Ok(p), Ok(w)) => assert_eq!(p, w),
                (Err(e), Err(w)) => assert!(format!("{e:?}").starts_with(w), "{e:?}"),
                (got, want) => panic!("{got:?} != {want:?}"),
            }
        }
    }
}
