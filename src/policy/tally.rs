//! Counting approvals: only people who may decide under the config as it is now count, each
//! person once, never the requester.
use super::may_decide;
use super::quorum::covers;
use crate::config::{Config, Temporary};
use crate::domain::Email;
use crate::store::{ApprovalRow, RequestRow};

/// Where a quorum stands: only approvals by people who may decide under the config as it is
/// now count, each person once, never the requester.
#[derive(Debug, Clone)]
pub struct Tally<'a> {
    /// The approvals that count, in the order given.
    pub counted: Vec<&'a ApprovalRow>,
    pub needed: i64,
    /// With `approval_groups`: whether distinct approvers cover every group's share.
    pub groups_met: bool,
}

impl Tally<'_> {
    pub fn count(&self) -> i64 {
        self.counted.len() as i64
    }

    pub fn complete(&self) -> bool {
        self.count() >= self.needed && self.groups_met
    }

    /// The duration the grant gets once complete: the shortest that anyone counted chose.
    pub fn duration_ms(&self) -> Option<i64> {
        self.counted.iter().map(|a| a.duration_ms).min()
    }
}

/// The approvals of `request` that count now (for "1 of 2" on pages and messages).
pub fn counted(
    config: &Config,
    request: &RequestRow,
    approvals: &[ApprovalRow],
) -> Vec<ApprovalRow> {
    let Some((_, t)) = config.temporary(&request.app_slug, &request.policy_name) else {
        return Vec::new();
    };
    tally(
        t,
        &request.requester,
        request.escalated_at.is_some(),
        request.approvals_needed,
        approvals,
    )
    .counted
    .into_iter()
    .cloned()
    .collect()
}

pub fn tally<'a>(
    temporary: &Temporary,
    requester: &Email,
    escalated: bool,
    needed: i64,
    approvals: &'a [ApprovalRow],
) -> Tally<'a> {
    let mut counted: Vec<&ApprovalRow> = Vec::new();
    let mut people: Vec<Email> = Vec::new();
    for a in approvals {
        let who = &a.approver;
        if may_decide(temporary, who, requester, escalated).is_err()
            || people.iter().any(|p| p.same_person(who))
        {
            continue;
        }
        people.push(who.clone());
        counted.push(a);
    }
    let groups_met = covers(&temporary.approval_groups, &people);
    Tally {
        counted,
        needed,
        groups_met,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temporary() -> Temporary {
        let toml = r#"
            [[approvers]]
            email = "alice@example.com"
            [[approvers]]
            email = "bob@example.com"
            [[approvers]]
            email = "esc@example.com"
            [[applications]]
            slug = "grafana"
            host = "grafana.example.com"
              [[applications.policies]]
              name = "contractors"
              decision = "allow"
              include = { email_domains = ["contractor.example"] }
              temporary = { approvers = ["alice@example.com", "bob@example.com"], escalate_to = ["esc@example.com"], max_duration = "8h" }
        "#;
        let mut config = Config::from_toml(toml, []).unwrap();
        config
            .applications
            .remove(0)
            .policies
            .remove(0)
            .temporary
            .unwrap()
    }

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    fn approval(who: &str, minutes: i64) -> ApprovalRow {
        ApprovalRow {
            approver: email(who),
            duration_ms: minutes * 60_000,
            approved_at: 0,
            channel: crate::store::Via::Email,
        }
    }

    #[test]
    fn a_quorum_counts_only_people_who_may_decide_now() {
        let t = temporary();
        let requester = email("carol@contractor.example");
        let rows = |list: &[(&str, i64)]| -> Vec<ApprovalRow> {
            list.iter().map(|(w, m)| approval(w, *m)).collect()
        };
        // (approvals, escalated, counted, complete, duration in minutes)
        type Case<'a> = (&'a [(&'a str, i64)], bool, i64, bool, Option<i64>);
        let table: &[Case] = &[
            (&[], false, 0, false, None),
            (&[("alice@example.com", 60)], false, 1, false, Some(60)),
            (
                &[("alice@example.com", 60), ("bob@example.com", 30)],
                false,
                2,
                true,
                Some(30),
            ),
            // Removed from the config since: does not count.
            (
                &[("gone@example.com", 10), ("bob@example.com", 30)],
                false,
                1,
                false,
                Some(30),
            ),
            // The same person twice under two spellings counts once.
            (
                &[("alice@example.com", 60), ("alice+x@example.com", 5)],
                false,
                1,
                false,
                Some(60),
            ),
            // The escalation list counts only once escalated.
            (
                &[("alice@example.com", 60), ("esc@example.com", 20)],
                false,
                1,
                false,
                Some(60),
            ),
            (
                &[("alice@example.com", 60), ("esc@example.com", 20)],
                true,
                2,
                true,
                Some(20),
            ),
            // The requester never counts.
            (&[("carol+x@contractor.example", 60)], false, 0, false, None),
        ];
        for (list, escalated, count, complete, minutes) in table {
            let approvals = rows(list);
            let tally = tally(&t, &requester, *escalated, 2, &approvals);
            assert_eq!(tally.count(), *count, "{list:?}");
            assert_eq!(tally.complete(), *complete, "{list:?}");
            assert_eq!(tally.duration_ms(), minutes.map(|m| m * 60_000), "{list:?}");
        }
    }
}
