//! The config file as written: strings and tables, checked into `Config` by `validate`.
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub database: RawDatabase,
    #[serde(default)]
    pub identity: RawIdentity,
    #[serde(default)]
    pub email: RawEmail,
    #[serde(default)]
    pub discord: RawDiscord,
    #[serde(default)]
    pub slack: RawSlack,
    #[serde(default)]
    pub scheduler: RawScheduler,
    #[serde(default)]
    pub approvers: Vec<RawApprover>,
    #[serde(default)]
    pub applications: Vec<RawApplication>,
    #[serde(default)]
    pub webhooks: Vec<RawWebhook>,
    #[serde(default)]
    pub admins: Vec<RawAdmin>,
    #[serde(default)]
    pub groups: Vec<RawGroup>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    pub url: String,
    pub secret_env: String,
    pub secret_file: Option<String>,
    /// Event types to send; all when left out.
    pub events: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub listen: String,
    pub public_url: String,
    pub secret_env: String,
    pub secret_file: Option<String>,
    pub request_ttl: String,
    pub session_ttl: String,
    pub cookie_domain: Option<String>,
    pub trusted_proxies: Vec<String>,
    pub target_header: String,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: "http://localhost:8080".into(),
            secret_env: "DAYPASS_SECRET".into(),
            secret_file: None,
            request_ttl: "1h".into(),
            session_ttl: "12h".into(),
            cookie_domain: None,
            trusted_proxies: vec!["127.0.0.0/8".into(), "::1/128".into()],
            target_header: "X-Forwarded-Host".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDatabase {
    pub url: String,
}

impl Default for RawDatabase {
    fn default() -> Self {
        Self {
            url: "sqlite://data/daypass.db".into(),
        }
    }
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum IdentityMode {
    #[default]
    EmailCode,
    Header,
    Oidc,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawIdentity {
    pub mode: IdentityMode,
    pub header: String,
    /// Header mode: the header that lists the person's groups (comma-separated).
    pub groups_header: Option<String>,
    pub oidc: Option<RawOidc>,
    /// Moved to `server.trusted_proxies`; kept only to say so.
    pub trusted_proxies: Option<Vec<String>>,
}

impl Default for RawIdentity {
    fn default() -> Self {
        Self {
            mode: IdentityMode::EmailCode,
            header: "X-Forwarded-Email".into(),
            groups_header: None,
            oidc: None,
            trusted_proxies: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOidc {
    pub issuer: String,
    pub client_id: String,
    #[serde(default = "oidc_secret_env")]
    pub client_secret_env: String,
    pub client_secret_file: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub groups_claim: Option<String>,
    #[serde(default)]
    pub allowed_email_domains: Vec<String>,
}

fn oidc_secret_env() -> String {
    "DAYPASS_OIDC_CLIENT_SECRET".into()
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    #[default]
    Smtp,
    File,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    #[default]
    None,
    Starttls,
    Tls,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawEmail {
    pub transport: TransportKind,
    pub from: String,
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username_env: String,
    pub password_env: String,
    pub username_file: Option<String>,
    pub password_file: Option<String>,
    pub dir: String,
}

impl Default for RawEmail {
    fn default() -> Self {
        Self {
            transport: TransportKind::Smtp,
            from: "daypass <daypass@localhost>".into(),
            host: "127.0.0.1".into(),
            port: 1025,
            tls: SmtpTls::None,
            username_env: "DAYPASS_SMTP_USERNAME".into(),
            password_env: "DAYPASS_SMTP_PASSWORD".into(),
            username_file: None,
            password_file: None,
            dir: "data/mail".into(),
        }
    }
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum DiscordMode {
    #[default]
    Http,
    Gateway,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDiscord {
    pub enabled: bool,
    pub token_env: String,
    pub token_file: Option<String>,
    pub public_key: String,
    pub channel_id: String,
    pub mode: DiscordMode,
    pub api_base: String,
}

impl Default for RawDiscord {
    fn default() -> Self {
        Self {
            enabled: false,
            token_env: "DAYPASS_DISCORD_TOKEN".into(),
            token_file: None,
            public_key: String::new(),
            channel_id: String::new(),
            mode: DiscordMode::Http,
            api_base: "https://discord.com".into(),
        }
    }
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum SlackMode {
    #[default]
    Http,
    Socket,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSlack {
    pub enabled: bool,
    pub bot_token_env: String,
    pub bot_token_file: Option<String>,
    pub signing_secret_env: String,
    pub signing_secret_file: Option<String>,
    pub channel_id: String,
    pub mode: SlackMode,
    pub app_token_env: String,
    pub app_token_file: Option<String>,
    pub api_base: String,
}

impl Default for RawSlack {
    fn default() -> Self {
        Self {
            enabled: false,
            bot_token_env: "DAYPASS_SLACK_BOT_TOKEN".into(),
            bot_token_file: None,
            signing_secret_env: "DAYPASS_SLACK_SIGNING_SECRET".into(),
            signing_secret_file: None,
            channel_id: String::new(),
            mode: SlackMode::Http,
            app_token_env: "DAYPASS_SLACK_APP_TOKEN".into(),
            app_token_file: None,
            api_base: "https://slack.com/api".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawScheduler {
    pub sweep_every: String,
    pub warn_before: String,
    pub remind_after: String,
}

impl Default for RawScheduler {
    fn default() -> Self {
        Self {
            sweep_every: "1s".into(),
            warn_before: "10m".into(),
            remind_after: "15m".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApprover {
    pub email: String,
    pub discord_id: Option<String>,
    pub slack_id: Option<String>,
}

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

/// Where an application's (or a policy's) requests go: per chat service, a channel id, or
/// `false` for none; a service left out keeps its default.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    pub discord: Option<RawRoute>,
    pub slack: Option<RawRoute>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum RawRoute {
    Channel(String),
    Enabled(bool),
}

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
