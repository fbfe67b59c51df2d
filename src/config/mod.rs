//! Typed, validated configuration: defaults, then the TOML file, then `DAYPASS__SECTION__KEY`.
pub mod cookie_domain;
mod env;
mod raw;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

use crate::domain::{Email, GrantDuration};
use crate::policy::quorum::ApprovalGroup;
pub use raw::{Decision, DiscordMode, IdentityMode, SlackMode, SmtpTls, TransportKind};

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

/// A receiver of events: every state change it subscribed to is POSTed to `url` as JSON,
/// signed with its secret.
#[derive(Clone, Debug)]
pub struct Webhook {
    pub url: url::Url,
    pub secret: SecretSource,
    /// The event types it takes (`request.approved`, …); empty: all of them.
    pub events: Vec<String>,
}

impl Webhook {
    pub fn wants(&self, event: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event)
    }
}

/// The event types webhooks can take, one per kind of state change.
pub const WEBHOOK_EVENTS: &[&str] = &[
    "request.created",
    "request.approved",
    "request.denied",
    "request.cancelled",
    "request.expired",
    "request.escalated",
    "approval.recorded",
    "extension.requested",
    "grant.extended",
    "grant.revoked",
    "grant.expired",
];

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub public_url: url::Url,
    pub secret: SecretSource,
    pub request_ttl: Duration,
    pub session_ttl: Duration,
    pub cookie_domain: Option<String>,
    /// The proxies whose `X-Forwarded-For` / `Forwarded` daypass believes for the client's
    /// address, and whose identity header it believes in header mode.
    pub trusted_proxies: Vec<IpNet>,
    /// The one forwarded header `/auth` reads to learn which application is being opened.
    pub target_header: TargetHeader,
}

/// Which header names the protected host on `/auth`. Only the chosen one is read; any other that
/// names a different host makes the answer 403.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetHeader {
    /// `X-Forwarded-Host` (with `X-Forwarded-Uri` and `X-Forwarded-Proto`): nginx as shipped,
    /// Caddy's `forward_auth`, Traefik's `ForwardAuth`.
    ForwardedHost,
    /// `X-Original-URL`: the Kubernetes ingress-nginx controller.
    OriginalUrl,
}

impl ServerConfig {
    /// Is `ip` one of the configured proxies?
    pub fn is_trusted_proxy(&self, ip: std::net::IpAddr) -> bool {
        crate::client_addr::is_trusted(&self.trusted_proxies, ip)
    }

    /// `public_url` without a trailing slash, ready to have a path appended.
    pub fn origin(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_string()
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
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

#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    pub url: String,
}

impl DatabaseConfig {
    /// The SQLite file's path, for `sqlite://path` URLs.
    pub fn path(&self) -> Option<PathBuf> {
        let rest = self
            .url
            .strip_prefix("sqlite://")
            .or_else(|| self.url.strip_prefix("sqlite:"))?;
        let rest = rest.split('?').next().unwrap_or(rest);
        (!rest.is_empty() && rest != ":memory:").then(|| PathBuf::from(rest))
    }

    /// The folder daypass keeps its generated files in (beside the database).
    pub fn data_dir(&self) -> PathBuf {
        self.path()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("data"))
    }
}

#[derive(Clone, Debug)]
pub enum IdentityConfig {
    EmailCode,
    /// Trust `header` (and `groups_header`) from `server.trusted_proxies`.
    Header {
        header: String,
        groups_header: Option<String>,
    },
    /// Sign in with an OpenID provider.
    Oidc(OidcConfig),
}

#[derive(Clone, Debug)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretSource,
    pub scopes: Vec<String>,
    pub groups_claim: String,
    /// Empty: any domain.
    pub allowed_email_domains: Vec<String>,
}

/// A group of people: named in policies; its members listed here count for email-code sign-in
/// (the identity provider's claim or the proxy's header says who is in it otherwise, too).
#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub members: Vec<Email>,
}

#[derive(Clone, Debug)]
pub struct EmailConfig {
    pub from: lettre::message::Mailbox,
    pub transport: EmailTransport,
}

#[derive(Clone, Debug)]
pub enum EmailTransport {
    Smtp {
        host: String,
        port: u16,
        tls: SmtpTls,
        username: SecretSource,
        password: SecretSource,
    },
    File {
        dir: PathBuf,
    },
}

#[derive(Clone, Debug)]
pub struct DiscordConfig {
    pub enabled: bool,
    /// `channel_id` as a route, where nothing more specific is named.
    pub default_route: Route,
    pub token: SecretSource,
    pub public_key: String,
    pub channel_id: String,
    pub mode: DiscordMode,
    pub api_base: String,
}

#[derive(Clone, Debug)]
pub struct SlackConfig {
    pub enabled: bool,
    /// `channel_id` as a route, where nothing more specific is named.
    pub default_route: Route,
    pub bot_token: SecretSource,
    pub signing_secret: SecretSource,
    pub channel_id: String,
    pub mode: SlackMode,
    /// The app-level token (`xapp-…`, scope `connections:write`) that opens Socket Mode.
    pub app_token: SecretSource,
    /// Slack's Web API, `https://slack.com/api` (tests point it at a stand-in).
    pub api_base: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approver {
    pub email: Email,
    pub discord_id: Option<String>,
    /// A Slack user id such as `U0123ABCD`: how daypass knows who clicked in Slack.
    pub slack_id: Option<String>,
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

/// The chat services a request can be shown in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatService {
    Discord,
    Slack,
}

/// Where one chat service shows requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Route {
    /// As the level above says (the application, then the service's `channel_id`).
    #[default]
    Inherit,
    /// Not in this service (email only, if no other).
    Off,
    Channel(String),
    /// In each approver's direct messages (those who may decide, by their chat user id).
    Approvers,
}

/// A message's target is a chat channel's id, or this prefix and a user id for that person's
/// direct messages.
pub const USER: &str = "user:";

/// `notify` of an application or a policy.
#[derive(Clone, Debug, Default)]
pub struct Notify {
    pub discord: Route,
    pub slack: Route,
}

impl Notify {
    pub fn route(&self, service: ChatService) -> &Route {
        match service {
            ChatService::Discord => &self.discord,
            ChatService::Slack => &self.slack,
        }
    }
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
        let raw: raw::RawConfig = serde_path_to_error::deserialize(value).map_err(|e| {
            let key = e.path().to_string();
            ConfigError::new(
                if key == "." { "config".into() } else { key },
                e.into_inner().to_string(),
            )
        })?;
        validate::validate(raw)
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
