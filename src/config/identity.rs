//! `[identity]`: how people sign in (email codes, a trusted proxy's header, or OpenID Connect).
use std::path::PathBuf;

use serde::Deserialize;

use super::{ConfigError, Result, SecretSource};

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

pub(super) fn identity(raw: RawIdentity) -> Result<IdentityConfig> {
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
