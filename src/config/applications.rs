//! `[[applications]]`: each protected application, the host it answers for, and its policies.
use std::collections::HashSet;

use serde::Deserialize;

use super::approvers::Group;
use super::chat::{notify, Notify, RawNotify};
use super::policies::{policy, Policy, RawPolicy};
use super::{ConfigError, Result};
use crate::domain::Email;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApplication {
    pub slug: String,
    pub name: Option<String>,
    pub host: String,
    #[serde(default)]
    pub notify: Option<RawNotify>,
    #[serde(default)]
    pub policies: Vec<RawPolicy>,
}

#[derive(Clone, Debug)]
pub struct Application {
    pub slug: String,
    pub name: String,
    /// Lower-cased `host` or `host:port`.
    pub host: String,
    pub notify: Notify,
    pub policies: Vec<Policy>,
}

impl Application {
    /// Does `authority` (from `X-Forwarded-Host` or a URL) name this application?
    pub fn matches_host(&self, authority: &str) -> bool {
        host_matches(&self.host, authority)
    }
}

/// `grafana.example.com` matches `grafana.example.com` and `grafana.example.com:443`
/// style authorities only when the configured host names no port; a configured port must match.
pub fn host_matches(configured: &str, authority: &str) -> bool {
    let authority = authority.trim();
    if configured.contains(':') {
        return authority.eq_ignore_ascii_case(configured);
    }
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    host.eq_ignore_ascii_case(configured)
}

/// Every application, each with its own slug and host.
pub(super) fn applications(
    raw: Vec<RawApplication>,
    known: &HashSet<&Email>,
    groups: &[Group],
) -> Result<Vec<Application>> {
    let mut applications = Vec::new();
    let mut slugs = HashSet::new();
    let mut hosts = HashSet::new();
    for (i, app) in raw.into_iter().enumerate() {
        let key = format!("applications[{i}]");
        let app = application(&key, app, known, groups)?;
        if !slugs.insert(app.slug.clone()) {
            return Err(ConfigError::new(
                format!("{key}.slug"),
                format!("`{}` is used by another application", app.slug),
            ));
        }
        if !hosts.insert(app.host.clone()) {
            return Err(ConfigError::new(
                format!("{key}.host"),
                format!("`{}` is already the host of another application", app.host),
            ));
        }
        host_not_captured(&key, &app, &applications)?;
        applications.push(app);
    }
    Ok(applications)
}

/// A host without a port matches that host on every port, so `svc.example.com` next to
/// `svc.example.com:8443` would silently take the other's requests (whichever comes first wins).
fn host_not_captured(key: &str, app: &Application, before: &[Application]) -> Result<()> {
    let name = |h: &str| -> String {
        match h.rsplit_once(':') {
            Some((n, port)) if port.chars().all(|c| c.is_ascii_digit()) => n.to_string(),
            _ => h.to_string(),
        }
    };
    for (i, other) in before.iter().enumerate() {
        if name(&other.host) == name(&app.host)
            && (other.host.contains(':') != app.host.contains(':'))
        {
            return Err(ConfigError::new(
                format!("{key}.host"),
                format!(
                    "`{}` and applications[{i}].host `{}` are the same host, one with a port and one without; \
                     a host without a port matches every port, so give both a port",
                    app.host, other.host
                ),
            ));
        }
    }
    Ok(())
}

fn application(
    key: &str,
    raw: RawApplication,
    known: &HashSet<&Email>,
    groups: &[Group],
) -> Result<Application> {
    let slug_ok = !raw.slug.is_empty()
        && raw.slug.len() <= 64
        && raw
            .slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !slug_ok {
        return Err(ConfigError::new(
            format!("{key}.slug"),
            format!(
                "`{}` must be lower-case letters, digits and dashes",
                raw.slug
            ),
        ));
    }
    let host = raw.host.trim().to_ascii_lowercase();
    let host_ok = !host.is_empty()
        && !host.contains('/')
        && url::Url::parse(&format!("http://{host}/")).is_ok_and(|u| u.host_str().is_some());
    if !host_ok {
        return Err(ConfigError::new(
            format!("{key}.host"),
            format!(
                "`{}` is not a host name (like grafana.example.com)",
                raw.host
            ),
        ));
    }
    let policies = raw
        .policies
        .into_iter()
        .enumerate()
        .map(|(j, p)| policy(&format!("{key}.policies[{j}]"), p, known, groups))
        .collect::<Result<Vec<_>>>()?;
    // Requests remember their policy by name: two of one name would mix their approvers and limits.
    for (j, p) in policies.iter().enumerate() {
        if let Some(first) = policies[..j].iter().position(|q| q.name == p.name) {
            return Err(ConfigError::new(
                format!("{key}.policies[{j}].name"),
                format!(
                    "`{}` is also the name of {key}.policies[{first}]; each policy of an application needs its own name",
                    p.name
                ),
            ));
        }
    }
    Ok(Application {
        name: raw
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| raw.slug.clone()),
        slug: raw.slug,
        host,
        notify: notify(&format!("{key}.notify"), raw.notify)?,
        policies,
    })
}
