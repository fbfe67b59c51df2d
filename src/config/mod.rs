//! Typed, validated configuration: defaults, then the TOML file, then `DAYPASS__SECTION__KEY`.
//! One file per section holds it as written, as typed, and the checks between the two.
mod applications;
mod approvers;
mod chat;
pub mod cookie_domain;
mod email;
mod env;
mod identity;
mod policies;
mod server;
mod webhooks;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::domain::{parse_duration, Email};
pub use applications::{host_matches, Application};
pub use approvers::{Approver, Group};
pub use chat::{
    ChatService, DiscordConfig, DiscordMode, Notify, Route, SlackConfig, SlackMode, USER,
};
pub use email::{EmailConfig, EmailTransport, SmtpTls, TransportKind};
pub use identity::{IdentityConfig, IdentityMode, OidcConfig};
pub use policies::{Decision, Include, Policy, Temporary};
pub use server::{DatabaseConfig, ServerConfig, TargetHeader};
pub use webhooks::{Webhook, WEBHOOK_EVENTS};

type Result<T, E = ConfigError> = std::result::Result<T, E>;

/// A config problem, naming the key that is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub identity: IdentityConfig,
    pub email: EmailConfig,
    pub discord: DiscordConfig,
    pub slack: SlackConfig,
    pub sweep_every: Duration,
    /// How long before a grant ends its holder is warned.
    pub warn_before: Duration,
    /// The first reminder for an unanswered request, where the policy names none.
    pub remind_after: Duration,
    pub approvers: Vec<Approver>,
    pub applications: Vec<Application>,
    pub webhooks: Vec<Webhook>,
    /// Who may open `/admin`: see live access, revoke it, end sessions, search the audit log.
    pub admins: Vec<Email>,
    pub groups: Vec<Group>,
}

/// Where a secret comes from: an environment variable, or a file. Never the config itself.
#[derive(Clone, Debug)]
pub struct SecretSource {
    pub env: String,
    pub file: Option<PathBuf>,
}

impl SecretSource {
    pub fn read(&self) -> std::io::Result<Option<String>> {
        if let Ok(v) = std::env::var(&self.env) {
            if !v.is_empty() {
                return Ok(Some(v));
            }
        }
        match &self.file {
            Some(path) => Ok(Some(std::fs::read_to_string(path)?.trim().to_string())),
            None => Ok(None),
        }
    }
}

/// The file as written; each section checks its own part into `Config`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    pub server: server::RawServer,
    #[serde(default)]
    pub database: server::RawDatabase,
    #[serde(default)]
    pub identity: identity::RawIdentity,
    #[serde(default)]
    pub email: email::RawEmail,
    #[serde(default)]
    pub discord: chat::RawDiscord,
    #[serde(default)]
    pub slack: chat::RawSlack,
    #[serde(default)]
    pub scheduler: server::RawScheduler,
    #[serde(default)]
    pub approvers: Vec<approvers::RawApprover>,
    #[serde(default)]
    pub applications: Vec<applications::RawApplication>,
    #[serde(default)]
    pub webhooks: Vec<webhooks::RawWebhook>,
    #[serde(default)]
    pub admins: Vec<approvers::RawAdmin>,
    #[serde(default)]
    pub groups: Vec<approvers::RawGroup>,
}

impl Config {
    /// Reads the file at `path` and applies `DAYPASS__…` overrides from the process environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(
                path.display().to_string(),
                format!("cannot read the config file: {e}"),
            )
        })?;
        Self::from_toml(&text, std::env::vars())
    }

    /// Parses TOML text, applies overrides from `env`, and validates everything.
    pub fn from_toml(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut value: toml::Value = toml::from_str(text)
            .map_err(|e| ConfigError::new("config", format!("not valid TOML: {}", e.message())))?;
        env::apply_overrides(&mut value, env)?;
        let raw: RawConfig = serde_path_to_error::deserialize(value).map_err(|e| {
            let key = e.path().to_string();
            ConfigError::new(
                if key == "." { "config".into() } else { key },
                e.into_inner().to_string(),
            )
        })?;
        validate(raw)
    }

    pub fn application(&self, slug: &str) -> Option<&Application> {
        self.applications.iter().find(|a| a.slug == slug)
    }

    pub fn application_for_host(&self, authority: &str) -> Option<&Application> {
        self.applications.iter().find(|a| a.matches_host(authority))
    }

    /// The `temporary` block of the policy named `policy` at application `slug`, as configured now
    /// (requests remember their policy by name; the config may have changed since).
    pub fn temporary(&self, slug: &str, policy: &str) -> Option<(&Application, &Temporary)> {
        let app = self.application(slug)?;
        let t = app
            .policies
            .iter()
            .find(|p| p.name == policy)?
            .temporary
            .as_ref()?;
        Some((app, t))
    }

    /// The channel where `service` shows requests for application `slug` made under `policy`:
    /// the policy's `notify`, else the application's, else the service's `channel_id`. `None`
    /// when the service is off, or told not to show them.
    pub fn chat_target(
        &self,
        service: ChatService,
        slug: &str,
        policy: Option<&str>,
    ) -> Option<&str> {
        match self.chat_route(service, slug, policy)? {
            Route::Channel(c) => Some(c),
            _ => None,
        }
    }

    /// As `chat_target`, with the approvers' direct messages as a possible answer: `Channel`
    /// (the configured one when nothing more specific is named) or `Approvers`.
    pub fn chat_route(
        &self,
        service: ChatService,
        slug: &str,
        policy: Option<&str>,
    ) -> Option<&Route> {
        let (enabled, default) = match service {
            ChatService::Discord => (self.discord.enabled, &self.discord.default_route),
            ChatService::Slack => (self.slack.enabled, &self.slack.default_route),
        };
        if !enabled {
            return None;
        }
        let app = self.application(slug);
        let by_policy = app
            .zip(policy)
            .and_then(|(a, p)| a.policies.iter().find(|x| x.name == p))
            .map(|p| p.notify.route(service));
        let by_app = app.map(|a| a.notify.route(service));
        for route in [by_policy, by_app].into_iter().flatten() {
            match route {
                Route::Inherit => continue,
                Route::Off => return None,
                r => return Some(r),
            }
        }
        Some(default)
    }

    /// The application's display name, or the slug of one no longer configured.
    pub fn app_name<'a>(&'a self, slug: &'a str) -> &'a str {
        self.application(slug)
            .map(|a| a.name.as_str())
            .unwrap_or(slug)
    }

    /// In header identity mode people arrive through the identity proxy, all from its address.
    pub fn behind_identity_proxy(&self) -> bool {
        matches!(self.identity, IdentityConfig::Header { .. })
    }

    /// When a request's first reminder is due, after it was made.
    pub fn remind_after(&self, t: &Temporary) -> Duration {
        t.remind_after.unwrap_or(self.remind_after)
    }

    /// The groups `[[groups]]` puts `email` in, after `claimed` (what the identity provider or
    /// the proxy said), each once.
    pub fn groups_of(&self, email: &Email, claimed: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let listed = self
            .groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m.same_person(email)))
            .map(|g| &g.name);
        for g in claimed.iter().chain(listed) {
            if !out.contains(g) {
                out.push(g.clone());
            }
        }
        out
    }

    pub fn is_admin(&self, email: &Email) -> bool {
        self.admins.contains(email)
    }

    pub fn approver(&self, email: &Email) -> Option<&Approver> {
        self.approvers.iter().find(|a| &a.email == email)
    }

    /// Whether `email` may decide anything: in `[[approvers]]`, or named by a policy (a member
    /// of a `group:` it lists).
    pub fn decides_anywhere(&self, email: &Email) -> bool {
        self.approver(email).is_some()
            || self
                .applications
                .iter()
                .flat_map(|a| &a.policies)
                .filter_map(|p| p.temporary.as_ref())
                .any(|t| t.approvers.contains(email) || t.escalate_to.contains(email))
    }
}

/// Turns the file as written into a `Config`, naming the exact key of the first problem.
fn validate(raw: RawConfig) -> Result<Config> {
    let server = server::server(raw.server)?;
    let approvers = approvers::approvers(raw.approvers)?;
    let known: HashSet<&Email> = approvers.iter().map(|a| &a.email).collect();
    let groups = approvers::groups(&raw.groups)?;
    let applications = applications::applications(raw.applications, &known, &groups)?;
    cookie_domain::check(&server, &applications)?;
    let config = Config {
        server,
        database: server::database(raw.database)?,
        identity: identity::identity(raw.identity)?,
        email: email::email(raw.email)?,
        discord: chat::discord(raw.discord, &approvers)?,
        slack: chat::slack(raw.slack, &approvers)?,
        sweep_every: positive("scheduler.sweep_every", &raw.scheduler.sweep_every)?,
        warn_before: positive("scheduler.warn_before", &raw.scheduler.warn_before)?,
        remind_after: positive("scheduler.remind_after", &raw.scheduler.remind_after)?,
        approvers,
        applications,
        webhooks: webhooks::webhooks(raw.webhooks)?,
        admins: approvers::admins(&raw.admins)?,
        groups: groups.clone(),
    };
    chat::routes_reach_enabled_services(&config)?;
    Ok(config)
}

fn positive(key: &str, value: &str) -> Result<Duration> {
    let d = parse_duration(value).map_err(|m| ConfigError::new(key, m))?;
    if d.is_zero() {
        return Err(ConfigError::new(key, "must be longer than zero"));
    }
    Ok(d)
}

fn secret(env: String, file: Option<String>) -> SecretSource {
    SecretSource {
        env,
        file: file.map(PathBuf::from),
    }
}

fn emails(key: &str, list: &[String]) -> Result<Vec<Email>> {
    list.iter()
        .enumerate()
        .map(|(i, e)| Email::parse(e).map_err(|m| ConfigError::new(format!("{key}[{i}]"), m)))
        .collect()
}

fn is_snowflake(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.chars().all(|c| c.is_ascii_digit())
}

/// Slack's ids: a capital letter, then capitals and digits (`C0123ABCD`, `U0123ABCD`).
fn is_slack_id(s: &str) -> bool {
    s.len() >= 3
        && s.len() <= 24
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}
