//! `[discord]` and `[slack]`, and `notify`: which chat services show requests, and where.
use serde::Deserialize;

use super::approvers::Approver;
use super::{is_slack_id, is_snowflake, secret, Config, ConfigError, Result, SecretSource};

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

pub(super) fn discord(raw: RawDiscord, approvers: &[Approver]) -> Result<DiscordConfig> {
    if raw.enabled {
        if hex::decode(&raw.public_key).map(|k| k.len()) != Ok(32) {
            return Err(ConfigError::new(
                "discord.public_key",
                "must be the application's public key: 64 hex characters",
            ));
        }
        if !is_snowflake(&raw.channel_id) {
            return Err(ConfigError::new(
                "discord.channel_id",
                "must be a channel id (digits)",
            ));
        }
        if url::Url::parse(&raw.api_base).is_err() {
            return Err(ConfigError::new("discord.api_base", "not a URL"));
        }
        if !approvers.iter().any(|a| a.discord_id.is_some()) {
            return Err(ConfigError::new(
                "approvers",
                "Discord is enabled but no approver has a discord_id",
            ));
        }
    }
    Ok(DiscordConfig {
        enabled: raw.enabled,
        default_route: Route::Channel(raw.channel_id.clone()),
        token: secret(raw.token_env, raw.token_file),
        public_key: raw.public_key,
        channel_id: raw.channel_id,
        mode: raw.mode,
        api_base: raw.api_base.trim_end_matches('/').to_string(),
    })
}

pub(super) fn slack(raw: RawSlack, approvers: &[Approver]) -> Result<SlackConfig> {
    if raw.enabled {
        if !is_slack_id(&raw.channel_id) {
            return Err(ConfigError::new(
                "slack.channel_id",
                "must be a channel id such as C0123ABCD (in Slack: the channel's details, at the bottom)",
            ));
        }
        if url::Url::parse(&raw.api_base).is_err() {
            return Err(ConfigError::new("slack.api_base", "not a URL"));
        }
        if !approvers.iter().any(|a| a.slack_id.is_some()) {
            return Err(ConfigError::new(
                "approvers",
                "Slack is enabled but no approver has a slack_id",
            ));
        }
    }
    Ok(SlackConfig {
        enabled: raw.enabled,
        default_route: Route::Channel(raw.channel_id.clone()),
        bot_token: secret(raw.bot_token_env, raw.bot_token_file),
        signing_secret: secret(raw.signing_secret_env, raw.signing_secret_file),
        channel_id: raw.channel_id,
        mode: raw.mode,
        app_token: secret(raw.app_token_env, raw.app_token_file),
        api_base: raw.api_base.trim_end_matches('/').to_string(),
    })
}

pub(super) fn notify(key: &str, raw: Option<RawNotify>) -> Result<Notify> {
    let raw = raw.unwrap_or_default();
    let route = |field: &str, r: Option<RawRoute>, ok: fn(&str) -> bool, like: &str| match r {
        None | Some(RawRoute::Enabled(true)) => Ok(Route::Inherit),
        Some(RawRoute::Enabled(false)) => Ok(Route::Off),
        Some(RawRoute::Channel(c)) if c == "approvers" && field == "slack" => Ok(Route::Approvers),
        Some(RawRoute::Channel(c)) if c == "approvers" => Err(ConfigError::new(
            format!("{key}.{field}"),
            "direct messages to the approvers are available in Slack; name a channel here",
        )),
        Some(RawRoute::Channel(c)) if ok(&c) => Ok(Route::Channel(c)),
        Some(RawRoute::Channel(c)) => Err(ConfigError::new(
            format!("{key}.{field}"),
            format!("`{c}` is not a channel id (like {like}); or false for none"),
        )),
    };
    Ok(Notify {
        discord: route("discord", raw.discord, is_snowflake, "123456789012345678")?,
        slack: route("slack", raw.slack, is_slack_id, "C0123ABCD")?,
    })
}

/// A `notify` that names a service which is off would silently send nothing there.
pub(super) fn routes_reach_enabled_services(config: &Config) -> Result<()> {
    for (i, app) in config.applications.iter().enumerate() {
        let levels = std::iter::once((format!("applications[{i}].notify"), &app.notify)).chain(
            app.policies
                .iter()
                .enumerate()
                .map(move |(j, p)| (format!("applications[{i}].policies[{j}].notify"), &p.notify)),
        );
        for (key, notify) in levels {
            for (service, on, name) in [
                (ChatService::Discord, config.discord.enabled, "discord"),
                (ChatService::Slack, config.slack.enabled, "slack"),
            ] {
                if matches!(notify.route(service), Route::Channel(_) | Route::Approvers) && !on {
                    return Err(ConfigError::new(
                        format!("{key}.{name}"),
                        format!("names a channel, but {name}.enabled is false"),
                    ));
                }
            }
        }
    }
    Ok(())
}
