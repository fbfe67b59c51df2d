//! `[[approvers]]`, `[[groups]]` and `[[admins]]`: the people daypass knows by name, and how a
//! policy's list of approvers (emails and `group:NAME`) resolves to them.
use std::collections::HashSet;

use serde::Deserialize;

use super::{emails, is_slack_id, is_snowflake, ConfigError, Result};
use crate::domain::Email;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApprover {
    pub email: String,
    pub discord_id: Option<String>,
    pub slack_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    pub name: String,
    /// Who is in it, for email-code sign-in (the identity provider or proxy says so otherwise).
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approver {
    pub email: Email,
    pub discord_id: Option<String>,
    /// A Slack user id such as `U0123ABCD`: how daypass knows who clicked in Slack.
    pub slack_id: Option<String>,
}

/// A group of people: named in policies; its members listed here count for email-code sign-in
/// (the identity provider's claim or the proxy's header says who is in it otherwise, too).
#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub members: Vec<Email>,
}

pub(super) fn approvers(raw: Vec<RawApprover>) -> Result<Vec<Approver>> {
    let mut out = Vec::new();
    for (i, a) in raw.into_iter().enumerate() {
        let email = Email::parse(&a.email)
            .map_err(|m| ConfigError::new(format!("approvers[{i}].email"), m))?;
        if let Some(j) = out
            .iter()
            .position(|a: &Approver| a.email.same_person(&email))
        {
            return Err(ConfigError::new(
                format!("approvers[{i}].email"),
                format!(
                    "`{email}` is the same person as approvers[{j}].email `{}` (a +tag reaches the same mailbox); list each approver once",
                    out[j].email
                ),
            ));
        }
        if let Some(id) = &a.discord_id {
            if !is_snowflake(id) {
                return Err(ConfigError::new(
                    format!("approvers[{i}].discord_id"),
                    format!("`{id}` is not a Discord user id (digits)"),
                ));
            }
        }
        if let Some(id) = &a.slack_id {
            if !is_slack_id(id) {
                return Err(ConfigError::new(
                    format!("approvers[{i}].slack_id"),
                    format!("`{id}` is not a Slack user id (like U0123ABCD)"),
                ));
            }
        }
        // A chat id names one approver: a second would let a click decide as either.
        for (field, id, of) in [
            (
                "discord_id",
                &a.discord_id,
                (|x: &Approver| x.discord_id.clone()) as fn(&Approver) -> Option<String>,
            ),
            ("slack_id", &a.slack_id, |x: &Approver| x.slack_id.clone()),
        ] {
            if let Some(j) = id
                .as_ref()
                .and_then(|id| out.iter().position(|x| of(x).as_ref() == Some(id)))
            {
                return Err(ConfigError::new(
                    format!("approvers[{i}].{field}"),
                    format!("is also approvers[{j}].{field}; each chat id belongs to one approver"),
                ));
            }
        }
        out.push(Approver {
            email,
            discord_id: a.discord_id,
            slack_id: a.slack_id,
        });
    }
    Ok(out)
}

pub(super) fn admins(raw: &[RawAdmin]) -> Result<Vec<Email>> {
    raw.iter()
        .enumerate()
        .map(|(i, a)| {
            Email::parse(&a.email).map_err(|m| ConfigError::new(format!("admins[{i}].email"), m))
        })
        .collect()
}

pub(super) fn groups(raw: &[RawGroup]) -> Result<Vec<Group>> {
    let mut out: Vec<Group> = Vec::new();
    for (i, g) in raw.iter().enumerate() {
        let name = g.name.trim();
        if name.is_empty() || name.contains(',') || name.chars().any(char::is_control) {
            return Err(ConfigError::new(
                format!("groups[{i}].name"),
                "a group needs a name without commas",
            ));
        }
        if out.iter().any(|o| o.name == name) {
            return Err(ConfigError::new(
                format!("groups[{i}].name"),
                format!("`{name}` is the name of another group"),
            ));
        }
        out.push(Group {
            name: name.to_string(),
            members: emails(&format!("groups[{i}].members"), &g.members)?,
        });
    }
    Ok(out)
}

/// Approvers as written: emails, each in `[[approvers]]`, and `group:NAME` for every member of
/// that group (who need not be in `[[approvers]]`).
pub(super) fn approver_list(
    key: &str,
    raw: &[String],
    known: &HashSet<&Email>,
    groups: &[Group],
) -> Result<Vec<Email>> {
    let mut out: Vec<Email> = Vec::new();
    for (i, a) in raw.iter().enumerate() {
        let entry_key = format!("{key}[{i}]");
        let found: Vec<Email> = match a.trim().strip_prefix("group:") {
            Some(name) => {
                let g = groups.iter().find(|g| g.name == name).ok_or_else(|| {
                    ConfigError::new(
                        &entry_key,
                        format!("`{name}` is not a group: add it to [[groups]]"),
                    )
                })?;
                if g.members.is_empty() {
                    return Err(ConfigError::new(
                        &entry_key,
                        format!(
                            "group `{name}` has no members in [[groups]], so nobody could decide"
                        ),
                    ));
                }
                g.members.clone()
            }
            None => {
                let e = Email::parse(a).map_err(|m| ConfigError::new(&entry_key, m))?;
                if !known.contains(&e) {
                    return Err(ConfigError::new(
                        &entry_key,
                        format!("`{e}` is not an approver: add it to [[approvers]]"),
                    ));
                }
                vec![e]
            }
        };
        for e in found {
            if !out.iter().any(|o| o.same_person(&e)) {
                out.push(e);
            }
        }
    }
    Ok(out)
}
