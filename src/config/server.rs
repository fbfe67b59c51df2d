//! `[server]`, `[database]` and `[scheduler]`: where daypass listens, what it trusts, where it
//! keeps its state, and how often it looks at the clock.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

use super::{positive, secret, ConfigError, Result, SecretSource};

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

pub(super) fn server(raw: RawServer) -> Result<ServerConfig> {
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

pub(super) fn database(raw: RawDatabase) -> Result<DatabaseConfig> {
    let known = ["sqlite:", "postgres://", "postgresql://"];
    if !known.iter().any(|p| raw.url.starts_with(p)) {
        return Err(ConfigError::new(
            "database.url",
            "expected sqlite://PATH (one process) or postgres://USER@HOST/DATABASE (several replicas)",
        ));
    }
    Ok(DatabaseConfig { url: raw.url })
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
