//! Which policy applies to a person at an application: first match wins, nothing matches = deny.
//! And who may decide, view or end what it lets people ask for.
pub mod quorum;
pub mod tally;

use crate::config::{Application, Decision, Include, Policy, Temporary};
use crate::domain::Email;

/// What a person may do at an application.
#[derive(Debug, Clone, Copy)]
pub enum Access<'a> {
    /// Always let through.
    Persistent(&'a Policy),
    /// Must ask, and be let through only with a live grant.
    OnRequest(&'a Policy, &'a Temporary),
    /// Refused; `None` when no policy matched.
    Denied(Option<&'a Policy>),
}

/// The person a policy is checked against: their email and every group they are in (from the
/// identity provider, the proxy's header and `[[groups]]`).
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    pub email: &'a Email,
    pub groups: &'a [String],
}

impl<'a> Who<'a> {
    pub fn new(email: &'a Email, groups: &'a [String]) -> Self {
        Self { email, groups }
    }
}

pub fn evaluate<'a>(app: &'a Application, who: Who<'_>) -> Access<'a> {
    let Some(policy) = app.policies.iter().find(|p| applies(p, who)) else {
        return Access::Denied(None);
    };
    match (policy.decision, &policy.temporary) {
        (Decision::Deny, _) => Access::Denied(Some(policy)),
        (Decision::Allow, None) => Access::Persistent(policy),
        (Decision::Allow, Some(t)) => Access::OnRequest(policy, t),
    }
}

/// A policy applies when its include matches (any of it), its require matches (all of it) and
/// its exclude does not (none of it), as Cloudflare Access reads them.
fn applies(policy: &Policy, who: Who<'_>) -> bool {
    any_of(&policy.include, who)
        && policy.require.as_ref().is_none_or(|r| all_of(r, who))
        && !policy.exclude.as_ref().is_some_and(|x| any_of(x, who))
}

fn any_of(m: &Include, who: Who<'_>) -> bool {
    m.everyone
        || m.emails.iter().any(|e| e.same_person(who.email))
        || m.email_domains.iter().any(|d| d == who.email.domain())
        || m.groups.iter().any(|g| who.groups.contains(g))
}

/// Every matcher given: one of the emails, one of the domains, and every group.
fn all_of(m: &Include, who: Who<'_>) -> bool {
    (m.emails.is_empty() || m.emails.iter().any(|e| e.same_person(who.email)))
        && (m.email_domains.is_empty() || m.email_domains.iter().any(|d| d == who.email.domain()))
        && m.groups.iter().all(|g| who.groups.contains(g))
}

/// May `approver` decide a request that `requester` made under `temporary`? The `escalate_to`
/// approvers may once the request has been escalated.
pub fn may_decide(
    temporary: &Temporary,
    approver: &Email,
    requester: &Email,
    escalated: bool,
) -> Result<(), &'static str> {
    if approver.same_person(requester) {
        return Err("You cannot approve or deny your own request.");
    }
    let escalation = escalated && temporary.escalate_to.contains(approver);
    if !temporary.approvers.contains(approver) && !escalation {
        return Err("You are not an approver for this application.");
    }
    Ok(())
}

/// Is `who` named on the policy at all: an approver, or on its escalation list?
fn named(temporary: &Temporary, who: &Email) -> bool {
    temporary.approvers.contains(who) || temporary.escalate_to.contains(who)
}

/// May `who` see a request that `requester` made under `temporary` (`None`: the policy is gone)?
/// The requester, and everyone the policy names as an approver.
pub fn may_view(temporary: Option<&Temporary>, requester: &Email, who: &Email) -> bool {
    who.same_person(requester) || temporary.is_some_and(|t| named(t, who))
}

/// May `who` end a grant held by `holder` under `temporary` early? The holder ("I'm done"),
/// and everyone the policy names as an approver: on every channel the same rule.
pub fn may_revoke(temporary: Option<&Temporary>, holder: &Email, who: &Email) -> bool {
    who.same_person(holder) || temporary.is_some_and(|t| named(t, who))
}

/// Everyone who may decide the request now, except the requester (under any spelling).
pub fn deciders<'t>(
    temporary: &'t Temporary,
    requester: &Email,
    escalated: bool,
) -> Vec<&'t Email> {
    let extra = if escalated {
        temporary.escalate_to.as_slice()
    } else {
        &[]
    };
    let mut out: Vec<&Email> = Vec::new();
    for a in temporary.approvers.iter().chain(extra) {
        if !requester.same_person(a) && !out.iter().any(|o| o.same_person(a)) {
            out.push(a);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn app() -> Application {
        let toml = r#"
            [[approvers]]
            email = "alice@example.com"
            [[applications]]
            slug = "grafana"
            host = "grafana.example.com"
              [[applications.policies]]
              name = "blocked"
              decision = "deny"
              include = { emails = ["mallory@contractor.example"] }
              [[applications.policies]]
              name = "SRE"
              decision = "allow"
              include = { emails = ["sre@example.com"] }
              [[applications.policies]]
              name = "contractors"
              decision = "allow"
              include = { email_domains = ["contractor.example"] }
              temporary = { approvers = ["alice@example.com"], max_duration = "8h" }
        "#;
        Config::from_toml(toml, []).unwrap().applications.remove(0)
    }

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    #[test]
    fn first_matching_policy_wins() {
        let app = app();
        let table = [
            ("sre@example.com", "persistent SRE"),
            ("SRE@Example.com", "persistent SRE"),
            ("bob@contractor.example", "request contractors"),
            ("mallory@contractor.example", "denied blocked"),
            ("eve@elsewhere.example", "denied none"),
            ("bob@sub.contractor.example", "denied none"),
            ("sre+x@example.com", "persistent SRE"),
            ("mallory+anything@contractor.example", "denied blocked"),
        ];
        for (who, want) in table {
            let got = match evaluate(&app, Who::new(&email(who), &[])) {
                Access::Persistent(p) => format!("persistent {}", p.name),
                Access::OnRequest(p, _) => format!("request {}", p.name),
                Access::Denied(Some(p)) => format!("denied {}", p.name),
                Access::Denied(None) => "denied none".to_string(),
            };
            assert_eq!(got, want, "{who}");
        }
    }

    #[test]
    fn everyone_matches_anyone() {
        let mut app = app();
        app.policies[1].include = Include {
            everyone: true,
            ..Default::default()
        };
        assert!(matches!(
            evaluate(&app, Who::new(&email("x@y.example"), &[])),
            Access::Persistent(_)
        ));
    }

    #[test]
    fn approvers_decide_others_requests_only() {
        let app = app();
        let t = app.policies[2].temporary.as_ref().unwrap();
        let alice = email("alice@example.com");
        assert!(may_decide(t, &alice, &email("bob@contractor.example"), false).is_ok());
        assert!(may_decide(t, &alice, &alice, false).is_err());
        assert!(
            may_decide(t, &alice, &email("Alice+x@example.com"), false).is_err(),
            "a sub-address is the same person"
        );
        assert!(may_decide(
            t,
            &email("bob@contractor.example"),
            &email("c@contractor.example"),
            true
        )
        .is_err());
    }

    #[test]
    fn who_may_view_a_request_and_end_a_grant() {
        let t = app().policies[2].temporary.clone().unwrap();
        let carol = email("carol@contractor.example");
        for (who, view, revoke) in [
            ("carol@contractor.example", true, true),
            ("carol+x@contractor.example", true, true),
            ("alice@example.com", true, true),
            ("dave@contractor.example", false, false),
        ] {
            assert_eq!(may_view(Some(&t), &carol, &email(who)), view, "{who}");
            assert_eq!(may_revoke(Some(&t), &carol, &email(who)), revoke, "{who}");
        }
        assert!(!may_revoke(None, &carol, &email("alice@example.com")));
        assert!(
            may_revoke(None, &carol, &carol),
            "the policy is gone; the holder may still end it"
        );
    }

    #[test]
    fn the_requester_under_another_spelling_is_not_asked_to_decide() {
        let t = app().policies[2].temporary.clone().unwrap();
        assert!(deciders(&t, &email("alice+x@example.com"), false).is_empty());
        assert_eq!(deciders(&t, &email("bob@example.com"), false).len(), 1);
    }
}
