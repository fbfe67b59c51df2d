//! Turns the raw file into a `Config`, naming the exact key of the first problem.
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::config::raw::*;
use crate::domain::{parse_duration, Email, GrantDuration};
use crate::policy::quorum::groups_can_agree;

type Result<T> = std::result::Result<T, ConfigError>;

pub fn validate(raw: RawConfig) -> Result<Config> {
    let server = server(raw.server)?;
    let approvers = approvers(raw.approvers)?;
    let known: HashSet<&Email> = approvers.iter().map(|a| &a.email).collect();
    let groups = groups(&raw.groups)?;
    let mut applications = Vec::new();
    let mut slugs = HashSet::new();
    let mut hosts = HashSet::new();
    for (i, app) in raw.applications.into_iter().enumerate() {
        let key = format!("applications[{i}]");
        let app = application(&key, app, &known, &groups)?;
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
    crate::config::cookie_domain::check(&server, &applications)?;
    let config = Config {
        server,
        database: database(raw.database)?,
        identity: identity(raw.identity)?,
        email: email(raw.email)?,
        discord: discord(raw.discord, &approvers)?,
        slack: slack(raw.slack, &approvers)?,
        sweep_every: positive("scheduler.sweep_every", &raw.scheduler.sweep_every)?,
        warn_before: positive("scheduler.warn_before", &raw.scheduler.warn_before)?,
        remind_after: positive("scheduler.remind_after", &raw.scheduler.remind_after)?,
        approvers,
        applications,
        webhooks: webhooks(raw.webhooks)?,
        admins: raw
            .admins
            .iter()
            .enumerate()
            .map(|(i, a)| {
                Email::parse(&a.email)
                    .map_err(|m| ConfigError::new(format!("admins[{i}].email"), m))
            })
            .collect::<Result<_>>()?,
        groups: groups.clone(),
    };
    routes_reach_enabled_services(&config)?;
    Ok(config)
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

fn server(raw: RawServer) -> Result<ServerConfig> {
    let listen = raw.listen.parse().map_err(|_| {
        ConfigError::new(
            "server.listen",
            format!("`{}` is not an address like 127.0.0.1:8080", raw.listen),
        )
    })?;
    let public_url = url::Url::parse(&raw.public_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| {
            ConfigError::new(
                "server.public_url",
                format!("`{}` is not an http(s) URL", raw.public_url),
            )
        })?;
    if raw.secret_env.trim().is_empty() {
        return Err(ConfigError::new(
            "server.secret_env",
            "name an environment variable",
        ));
    }
    Ok(ServerConfig {
        listen,
        public_url,
        secret: secret(raw.secret_env, raw.secret_file),
        request_ttl: positive("server.request_ttl", &raw.request_ttl)?,
        session_ttl: positive("server.session_ttl", &raw.session_ttl)?,
        cookie_domain: raw.cookie_domain.filter(|d| !d.is_empty()),
        trusted_proxies: trusted_proxies(&raw.trusted_proxies)?,
        target_header: target_header(&raw.target_header)?,
    })
}

fn database(raw: RawDatabase) -> Result<DatabaseConfig> {
    let known = ["sqlite:", "postgres://", "postgresql://"];
    if !known.iter().any(|p| raw.url.starts_with(p)) {
        return Err(ConfigError::new(
            "database.url",
            "expected sqlite://PATH (one process) or postgres://USER@HOST/DATABASE (several replicas)",
        ));
    }
    Ok(DatabaseConfig { url: raw.url })
}

fn identity(raw: RawIdentity) -> Result<IdentityConfig> {
    if raw.trusted_proxies.is_some() {
        return Err(ConfigError::new(
            "identity.trusted_proxies",
            "moved to server.trusted_proxies (one list for the identity header and the client's address)",
        ));
    }
    if raw.oidc.is_some() && raw.mode != IdentityMode::Oidc {
        return Err(ConfigError::new(
            "identity.oidc",
            "set identity.mode = \"oidc\" to sign in with this provider",
        ));
    }
    match raw.mode {
        IdentityMode::EmailCode => Ok(IdentityConfig::EmailCode),
        IdentityMode::Header => {
            let valid = |h: &str| axum::http::HeaderName::from_bytes(h.as_bytes()).is_ok();
            if !valid(&raw.header) {
                return Err(ConfigError::new(
                    "identity.header",
                    "not a valid header name",
                ));
            }
            if raw.groups_header.as_deref().is_some_and(|h| !valid(h)) {
                return Err(ConfigError::new(
                    "identity.groups_header",
                    "not a valid header name",
                ));
            }
            Ok(IdentityConfig::Header {
                header: raw.header,
                groups_header: raw.groups_header,
            })
        }
        IdentityMode::Oidc => {
            let Some(o) = raw.oidc else {
                return Err(ConfigError::new(
                    "identity.oidc",
                    "identity.mode = \"oidc\" needs an [identity.oidc] table with issuer and client_id",
                ));
            };
            let issuer = url::Url::parse(&o.issuer)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
                .ok_or_else(|| ConfigError::new("identity.oidc.issuer", "not an http(s) URL"))?;
            if issuer.scheme() == "http"
                && !matches!(issuer.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
            {
                return Err(ConfigError::new(
                    "identity.oidc.issuer",
                    "an identity provider is reached over https (plain http only on loopback)",
                ));
            }
            if o.client_id.trim().is_empty() {
                return Err(ConfigError::new(
                    "identity.oidc.client_id",
                    "must not be empty",
                ));
            }
            let scopes = o
                .scopes
                .unwrap_or_else(|| vec!["openid".into(), "email".into(), "profile".into()]);
            if !scopes.iter().any(|s| s == "openid") {
                return Err(ConfigError::new(
                    "identity.oidc.scopes",
                    "must include openid",
                ));
            }
            Ok(IdentityConfig::Oidc(OidcConfig {
                // As written: it must match the provider's `iss` exactly (some end in a slash).
                issuer: o.issuer.trim().to_string(),
                client_id: o.client_id,
                client_secret: SecretSource {
                    env: o.client_secret_env,
                    file: o.client_secret_file.map(PathBuf::from),
                },
                scopes,
                groups_claim: o.groups_claim.unwrap_or_else(|| "groups".into()),
                allowed_email_domains: o
                    .allowed_email_domains
                    .iter()
                    .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                    .collect(),
            }))
        }
    }
}

fn trusted_proxies(list: &[String]) -> Result<Vec<IpNet>> {
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            p.trim()
                .parse::<IpNet>()
                .or_else(|_| p.trim().parse::<std::net::IpAddr>().map(IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| {
                    ConfigError::new(
                        format!("server.trusted_proxies[{i}]"),
                        format!("`{p}` is not an address or network (like 10.0.0.0/8)"),
                    )
                })
        })
        .collect()
}

fn target_header(value: &str) -> Result<TargetHeader> {
    match value.trim().to_ascii_lowercase().as_str() {
        "x-forwarded-host" => Ok(TargetHeader::ForwardedHost),
        "x-original-url" => Ok(TargetHeader::OriginalUrl),
        _ => Err(ConfigError::new(
            "server.target_header",
            format!(
                "`{value}` is not X-Forwarded-Host (nginx as shipped, Caddy, Traefik) or X-Original-URL (Kubernetes ingress-nginx)"
            ),
        )),
    }
}

fn email(raw: RawEmail) -> Result<EmailConfig> {
    let from = raw.from.parse().map_err(|e| {
        ConfigError::new(
            "email.from",
            format!("`{}` is not a mailbox: {e}", raw.from),
        )
    })?;
    let transport = match raw.transport {
        TransportKind::Smtp => {
            if raw.host.trim().is_empty() {
                return Err(ConfigError::new("email.host", "name the SMTP server"));
            }
            if raw.port == 0 {
                return Err(ConfigError::new("email.port", "0 is not a port"));
            }
            EmailTransport::Smtp {
                host: raw.host,
                port: raw.port,
                tls: raw.tls,
                username: secret(raw.username_env, raw.username_file),
                password: secret(raw.password_env, raw.password_file),
            }
        }
        TransportKind::File => {
            if raw.dir.trim().is_empty() {
                return Err(ConfigError::new(
                    "email.dir",
                    "name a folder for the .eml files",
                ));
            }
            EmailTransport::File {
                dir: PathBuf::from(raw.dir),
            }
        }
    };
    Ok(EmailConfig { from, transport })
}

fn discord(raw: RawDiscord, approvers: &[Approver]) -> Result<DiscordConfig> {
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

fn slack(raw: RawSlack, approvers: &[Approver]) -> Result<SlackConfig> {
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

/// Slack's ids: a capital letter, then capitals and digits (`C0123ABCD`, `U0123ABCD`).
fn is_slack_id(s: &str) -> bool {
    s.len() >= 3
        && s.len() <= 24
        && s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn notify(key: &str, raw: Option<RawNotify>) -> Result<Notify> {
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
fn routes_reach_enabled_services(config: &Config) -> Result<()> {
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

fn webhooks(raw: Vec<RawWebhook>) -> Result<Vec<Webhook>> {
    raw.into_iter()
        .enumerate()
        .map(|(i, w)| {
            let key = format!("webhooks[{i}]");
            let url = url::Url::parse(&w.url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .ok_or_else(|| {
                    ConfigError::new(
                        format!("{key}.url"),
                        format!("`{}` is not an http(s) URL", w.url),
                    )
                })?;
            if w.secret_env.trim().is_empty() {
                return Err(ConfigError::new(
                    format!("{key}.secret_env"),
                    "name the environment variable that holds the signing secret",
                ));
            }
            let events = w.events.unwrap_or_default();
            if let Some((j, e)) = events
                .iter()
                .enumerate()
                .find(|(_, e)| !WEBHOOK_EVENTS.contains(&e.as_str()))
            {
                return Err(ConfigError::new(
                    format!("{key}.events[{j}]"),
                    format!(
                        "`{e}` is not an event; they are {}",
                        WEBHOOK_EVENTS.join(", ")
                    ),
                ));
            }
            Ok(Webhook {
                url,
                secret: secret(w.secret_env, w.secret_file),
                events,
            })
        })
        .collect()
}

fn is_snowflake(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.chars().all(|c| c.is_ascii_digit())
}

fn approvers(raw: Vec<RawApprover>) -> Result<Vec<Approver>> {
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

fn emails(key: &str, list: &[String]) -> Result<Vec<Email>> {
    list.iter()
        .enumerate()
        .map(|(i, e)| Email::parse(e).map_err(|m| ConfigError::new(format!("{key}[{i}]"), m)))
        .collect()
}

fn policy(key: &str, raw: RawPolicy, known: &HashSet<&Email>, groups: &[Group]) -> Result<Policy> {
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

/// Approvers as written: emails, each in `[[approvers]]`, and `group:NAME` for every member of
/// that group (who need not be in `[[approvers]]`).
fn approver_list(
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

fn groups(raw: &[RawGroup]) -> Result<Vec<Group>> {
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
