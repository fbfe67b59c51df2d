//! `[[applications.policies]]`: who a policy matches (include, require, exclude), what it
//! decides, and its `temporary` block (approvers, quorum, limits, reminders).
use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;

use super::approvers::{approver_list, Group};
use super::chat::{notify, Notify, RawNotify};
use super::{emails, positive, ConfigError, Result};
use crate::domain::{parse_duration, Email, GrantDuration};
use crate::policy::quorum::{groups_can_agree, ApprovalGroup};

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Deny,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub name: String,
    pub decision: Decision,
    #[serde(default)]
    pub include: RawInclude,
    /// Every matcher given must match (include: any of them).
    pub require: Option<RawInclude>,
    /// None of the matchers may match.
    pub exclude: Option<RawInclude>,
    pub temporary: Option<RawTemporary>,
    #[serde(default)]
    pub notify: Option<RawNotify>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawInclude {
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub email_domains: Vec<String>,
    #[serde(default)]
    pub everyone: bool,
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTemporary {
    /// Emails, and `group:NAME` for every member of a `[[groups]]` group.
    #[serde(default)]
    pub approvers: Vec<String>,
    pub max_duration: String,
    #[serde(default = "yes")]
    pub purpose_justification: bool,
    pub prompt: Option<String>,
    /// 1 by default; with `approval_groups`, the sum of theirs.
    pub approvals_needed: Option<u32>,
    /// A quorum per group: the grant comes when every one has its approvals.
    pub approval_groups: Option<Vec<RawApprovalGroup>>,
    pub remind_after: Option<String>,
    pub escalate_after: Option<String>,
    #[serde(default)]
    pub escalate_to: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApprovalGroup {
    pub approvers: Vec<String>,
    #[serde(default = "one")]
    pub approvals_needed: u32,
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

#[derive(Clone, Debug)]
pub struct Policy {
    pub name: String,
    pub decision: Decision,
    /// Any of its matchers.
    pub include: Include,
    /// Every one of its matchers (every group listed).
    pub require: Option<Include>,
    /// None of its matchers.
    pub exclude: Option<Include>,
    pub temporary: Option<Temporary>,
    pub notify: Notify,
}

#[derive(Clone, Debug, Default)]
pub struct Include {
    pub emails: Vec<Email>,
    pub email_domains: Vec<String>,
    pub everyone: bool,
    pub groups: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Temporary {
    pub approvers: Vec<Email>,
    pub max_duration: GrantDuration,
    pub purpose_justification: bool,
    pub prompt: Option<String>,
    pub approvals_needed: u32,
    /// A quorum per group (empty: none); `approvers` holds all their members too.
    pub approval_groups: Vec<ApprovalGroup>,
    pub remind_after: Option<Duration>,
    pub escalate_after: Option<Duration>,
    pub escalate_to: Vec<Email>,
}

pub(super) fn policy(
    key: &str,
    raw: RawPolicy,
    known: &HashSet<&Email>,
    groups: &[Group],
) -> Result<Policy> {
    let include = matchers(&format!("{key}.include"), &raw.include, groups)?;
    if include.emails.is_empty()
        && include.email_domains.is_empty()
        && include.groups.is_empty()
        && !include.everyone
    {
        return Err(ConfigError::new(
            format!("{key}.include"),
            "a policy needs at least one of emails, email_domains, groups or everyone = true",
        ));
    }
    let require = raw
        .require
        .as_ref()
        .map(|r| matchers(&format!("{key}.require"), r, groups))
        .transpose()?;
    let exclude = raw
        .exclude
        .as_ref()
        .map(|r| matchers(&format!("{key}.exclude"), r, groups))
        .transpose()?;
    let temporary = match raw.temporary {
        None => None,
        Some(_) if raw.decision == Decision::Deny => {
            return Err(ConfigError::new(
                format!("{key}.temporary"),
                "a deny policy cannot have a temporary block",
            ))
        }
        Some(t) => Some(temporary(&format!("{key}.temporary"), t, known, groups)?),
    };
    Ok(Policy {
        name: raw.name,
        decision: raw.decision,
        include,
        require,
        exclude,
        temporary,
        notify: notify(&format!("{key}.notify"), raw.notify)?,
    })
}

fn temporary(
    key: &str,
    raw: RawTemporary,
    known: &HashSet<&Email>,
    groups: &[Group],
) -> Result<Temporary> {
    let mut approvers = approver_list(&format!("{key}.approvers"), &raw.approvers, known, groups)?;
    let mut approval_groups = Vec::new();
    for (i, g) in raw.approval_groups.iter().flatten().enumerate() {
        let gkey = format!("{key}.approval_groups[{i}]");
        let members = approver_list(&format!("{gkey}.approvers"), &g.approvers, known, groups)?;
        if g.approvals_needed == 0 || g.approvals_needed as usize > members.len() {
            return Err(ConfigError::new(
                format!("{gkey}.approvals_needed"),
                format!(
                    "must be between 1 and the number of people who may approve ({}): the quorum could never be reached",
                    members.len()
                ),
            ));
        }
        for m in &members {
            if !approvers.iter().any(|a| a.same_person(m)) {
                approvers.push(m.clone());
            }
        }
        approval_groups.push(ApprovalGroup {
            members,
            needed: g.approvals_needed,
        });
    }
    if approvers.is_empty() {
        return Err(ConfigError::new(
            format!("{key}.approvers"),
            "name at least one approver",
        ));
    }
    let per_group: u32 = approval_groups.iter().map(|g| g.needed).sum();
    let approvals_needed = raw
        .approvals_needed
        .unwrap_or(if approval_groups.is_empty() {
            1
        } else {
            per_group
        });
    if approvals_needed < per_group {
        return Err(ConfigError::new(
            format!("{key}.approvals_needed"),
            format!("is less than the approval groups need together ({per_group})"),
        ));
    }
    if !approval_groups.is_empty() && !groups_can_agree(&approval_groups) {
        return Err(ConfigError::new(
            format!("{key}.approval_groups"),
            "the groups share too many people: no set of distinct approvers can satisfy every group",
        ));
    }
    let max_key = format!("{key}.max_duration");
    let max = parse_duration(&raw.max_duration).map_err(|m| ConfigError::new(&max_key, m))?;
    let max_duration = GrantDuration::new(max).map_err(|m| ConfigError::new(&max_key, m))?;
    if approvals_needed == 0 || approvals_needed as usize > approvers.len() {
        return Err(ConfigError::new(
            format!("{key}.approvals_needed"),
            format!(
                "must be between 1 and the number of approvers ({}): the quorum could never be reached",
                approvers.len()
            ),
        ));
    }
    let escalate_to = approver_list(
        &format!("{key}.escalate_to"),
        &raw.escalate_to,
        known,
        groups,
    )?;
    let optional = |field: &str, v: Option<String>| -> Result<Option<Duration>> {
        v.map(|s| positive(&format!("{key}.{field}"), &s))
            .transpose()
    };
    Ok(Temporary {
        approvers,
        max_duration,
        purpose_justification: raw.purpose_justification,
        prompt: raw.prompt.filter(|p| !p.trim().is_empty()),
        approvals_needed,
        approval_groups,
        remind_after: optional("remind_after", raw.remind_after)?,
        escalate_after: optional("escalate_after", raw.escalate_after)?,
        escalate_to,
    })
}

/// An include, require or exclude block: its emails, domains and groups checked.
fn matchers(key: &str, raw: &RawInclude, groups: &[Group]) -> Result<Include> {
    for (i, g) in raw.groups.iter().enumerate() {
        if !groups.iter().any(|x| x.name == *g) {
            return Err(ConfigError::new(
                format!("{key}.groups[{i}]"),
                format!("`{g}` is not a group: add it to [[groups]] (members are optional when the identity provider or proxy names them)"),
            ));
        }
    }
    Ok(Include {
        emails: emails(&format!("{key}.emails"), &raw.emails)?,
        email_domains: raw
            .email_domains
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let d = d.trim().trim_start_matches('@').to_ascii_lowercase();
                Email::parse(&format!("x@{d}")).map(|_| d).map_err(|_| {
                    ConfigError::new(format!("{key}.email_domains[{i}]"), "not a domain name")
                })
            })
            .collect::<Result<_>>()?,
        everyone: raw.everyone,
        groups: raw.groups.clone(),
    })
}
