//! Which policy applies to a person at an application: first match wins, nothing matches = deny.
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

pub fn evaluate<'a>(app: &'a Application, email: &Email) -> Access<'a> {
    let Some(policy) = app.policies.iter().find(|p| includes(&p.include, email)) else {
        return Access::Denied(None);
    };
    match (policy.decision, &policy.temporary) {
        (Decision::Deny, _) => Access::Denied(Some(policy)),
        (Decision::Allow, None) => Access::Persistent(policy),
        (Decision::Allow, Some(t)) => Access::OnRequest(policy, t),
    }
}

fn includes(include: &Include, email: &Email) -> bool {
    include.everyone
        || include.emails.contains(email)
        || include.email_domains.iter().any(|d| d == email.domain())
}

/// May `approver` decide a request that `requester` made under `temporary`? The `escalate_to`
/// approvers may once the request has been escalated.
pub fn may_decide(
    temporary: &Temporary,
    approver: &Email,
    requester: &Email,
    escalated: bool,
) -> Result<(), &'static str> {
    if approver == requester {
        return Err("You cannot approve or deny your own request.");
    }
    let escalation = escalated && temporary.escalate_to.contains(approver);
    if !temporary.approvers.contains(approver) && !escalation {
        return Err("You are not an approver for this application.");
    }
    Ok(())
}

/// Everyone who may decide the request now, except the requester.
pub fn deciders<'t>(temporary: &'t Temporary, requester: &str, escalated: bool) -> Vec<&'t Email> {
    let extra = if escalated {
        temporary.escalate_to.as_slice()
    } else {
        &[]
    };
    let mut out: Vec<&Email> = Vec::new();
    for a in temporary.approvers.iter().chain(extra) {
        if a.as_str() != requester && !out.contains(&a) {
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
        ];
        for (who, want) in table {
            let got = match evaluate(&app, &email(who)) {
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
            evaluate(&app, &email("x@y.example")),
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
        assert!(may_decide(
            t,
            &email("bob@contractor.example"),
            &email("c@contractor.example"),
            true
        )
        .is_err());
    }
}
