//! Sign-in with an OpenID provider (`identity.mode = "oidc"`): the authorization code flow with
//! PKCE (S256), `state` and `nonce`, the ID token checked by the `openidconnect` crate (signature
//! against the provider's JWKS, fetched again for an unknown key; `iss`, `aud`, `exp`, `nonce`),
//! and `email_verified` required. A session then works as an email-code one does.
//!
//! Nothing of a sign-in in progress is stored: the browser holds a random flow id in a cookie,
//! and `state`, `nonce` and the PKCE verifier are derived from it with the server secret, so any
//! replica can finish what another started, and none of them can be guessed without the cookie.
use std::sync::RwLock;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};

use crate::access::change::{Change, Outcome, SessionChange};
use crate::config::{Config, IdentityConfig, OidcConfig};
use crate::domain::Email;
use crate::store::Store;
use crate::tokens;

/// Why a sign-in through the provider gave no session; each is a 400 with a clear page.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error(
        "This sign-in does not belong to this browser (the state does not match); start again."
    )]
    State,
    #[error("The identity provider refused the sign-in: {0}")]
    Provider(String),
    #[error("The identity provider could not be reached: {0}")]
    Unreachable(String),
    #[error("The identity provider's answer could not be trusted: {0}")]
    Token(String),
    #[error("The identity provider has not verified this email address.")]
    Unverified,
    #[error("Sign-in with {0} addresses is not allowed here.")]
    Domain(String),
    #[error("The identity provider gave no usable email address.")]
    NoEmail,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// The provider as discovered (`/.well-known/openid-configuration` and its JWKS), fetched when
/// first needed and again when a token names a key it does not hold.
pub struct Provider {
    config: OidcConfig,
    redirect: String,
    http: reqwest::Client,
    metadata: RwLock<Option<CoreProviderMetadata>>,
}

/// Where the browser is sent, and the flow id its cookie keeps.
pub struct Start {
    pub url: String,
    pub flow: String,
}

/// What the browser brings back: its flow cookie, and the provider's `state` and `code`.
pub struct Callback<'a> {
    pub flow: &'a str,
    pub state: &'a str,
    pub code: &'a str,
}

/// What a finished sign-in made: the session token for the cookie, and who it is.
pub struct SignedIn {
    pub session: String,
    pub email: Email,
    pub expires_at: i64,
}

impl Provider {
    /// The provider of `config`, when it signs in with one.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Self>> {
        let IdentityConfig::Oidc(oidc) = &config.identity else {
            return Ok(None);
        };
        let http = reqwest::Client::builder()
            // Never follow a redirect from the provider's endpoints (no SSRF through them).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Some(Self {
            config: oidc.clone(),
            redirect: format!("{}/login/callback", config.server.origin()),
            http,
            metadata: RwLock::new(None),
        }))
    }

    async fn metadata(&self, fresh: bool) -> Result<CoreProviderMetadata, OidcError> {
        if !fresh {
            if let Some(m) = self
                .metadata
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
            {
                return Ok(m);
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| OidcError::Unreachable(e.to_string()))?;
        let m = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Unreachable(error_chain(&e)))?;
        *self.metadata.write().unwrap_or_else(|e| e.into_inner()) = Some(m.clone());
        Ok(m)
    }

    fn secret(&self) -> Result<Option<ClientSecret>, OidcError> {
        self.config
            .client_secret
            .read()
            .map(|s| s.filter(|s| !s.is_empty()).map(ClientSecret::new))
            .map_err(|e| OidcError::Unreachable(format!("identity.oidc.client_secret_file: {e}")))
    }

    /// Starts a sign-in that comes back to `next` (a local path).
    pub async fn start(&self, secret: &[u8], next: &str) -> Result<Start, OidcError> {
        let metadata = self.metadata(false).await?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            self.secret()?,
        )
        .set_redirect_uri(
            RedirectUrl::new(self.redirect.clone()).map_err(|e| OidcError::Token(e.to_string()))?,
        );
        let flow = tokens::new_token();
        let derived = Derived::of(secret, &flow);
        let state = state_for(secret, &flow, next);
        let challenge =
            PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(derived.verifier));
        let nonce = derived.nonce;
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || Nonce::new(nonce),
        );
        for scope in self.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, _) = request.set_pkce_challenge(challenge).url();
        Ok(Start {
            url: url.to_string(),
            flow,
        })
    }

    /// Finishes the sign-in the browser's `flow` started: checks `state`, trades `code` for
    /// tokens, checks the ID token, and opens a session. Returns where the person was going.
    pub async fn finish(
        &self,
        store: &Store,
        config: &Config,
        secret: &[u8],
        back: Callback<'_>,
        now: i64,
    ) -> Result<Outcome<(SignedIn, String)>, OidcError> {
        let Callback { flow, state, code } = back;
        let next = next_from_state(secret, flow, state).ok_or(OidcError::State)?;
        let derived = Derived::of(secret, flow);
        let metadata = self.metadata(false).await?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            self.secret()?,
        )
        .set_redirect_uri(
            RedirectUrl::new(self.redirect.clone()).map_err(|e| OidcError::Token(e.to_string()))?,
        );
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Provider(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(derived.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Provider(error_chain(&e)))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::Token("no ID token in the answer".into()))?;
        let nonce = Nonce::new(derived.nonce.clone());
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(c) => c.clone(),
            // A key the provider rotated in since its JWKS was fetched: fetch it again, once.
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                let metadata = self.metadata(true).await?;
                let client = CoreClient::from_provider_metadata(
                    metadata,
                    ClientId::new(self.config.client_id.clone()),
                    self.secret()?,
                );
                let verifier = client.id_token_verifier();
                let claims = id_token
                    .claims(&verifier, &nonce)
                    .map_err(|e| OidcError::Token(e.to_string()))?
                    .clone();
                claims
            }
            Err(e) => return Err(OidcError::Token(e.to_string())),
        };
        let email = claims
            .email()
            .and_then(|e| Email::parse(e.as_str()).ok())
            .ok_or(OidcError::NoEmail)?;
        // Entra ID sends no `email_verified`; its `xms_edov` says the domain's owner verified it.
        let jwt = id_token.to_string();
        let verified = claims.email_verified() == Some(true)
            || payload(&jwt).is_some_and(|p| p["xms_edov"] == serde_json::Value::Bool(true));
        if !verified {
            return Err(OidcError::Unverified);
        }
        let allowed = &self.config.allowed_email_domains;
        if !allowed.is_empty() && !allowed.iter().any(|d| d == email.domain()) {
            return Err(OidcError::Domain(email.domain().to_string()));
        }
        // The checked token's own payload, for the groups claim (its name is configurable).
        let groups = groups_claim(&jwt, &self.config.groups_claim);
        let ttl_end = now + config.server.session_ttl.as_millis() as i64;
        let token_end = claims.expiration().timestamp_millis();
        let expires_at = ttl_end.min(token_end);
        let session = tokens::new_token();
        let id_hash = tokens::hash(&session);
        let mut tx = store.begin().await?;
        Store::insert_session_in(&mut tx, &id_hash, email.as_str(), &groups, now, expires_at)
            .await?;
        tx.commit().await?;
        let change = Change {
            sessions: vec![SessionChange::Started {
                id_hash,
                groups: config.groups_of(&email, &groups),
                email: email.clone(),
                expires_at,
            }],
            ..Default::default()
        };
        Ok(Outcome::new(
            (
                SignedIn {
                    session,
                    email,
                    expires_at,
                },
                next,
            ),
            change,
        ))
    }
}

/// The nonce and PKCE verifier of a flow: from its id and the server secret.
struct Derived {
    nonce: String,
    verifier: String,
}

impl Derived {
    fn of(secret: &[u8], flow: &str) -> Self {
        Self {
            nonce: hex::encode(tokens::hmac(secret, &[b"oidc-nonce", flow.as_bytes()])),
            verifier: hex::encode(tokens::hmac(secret, &[b"oidc-pkce", flow.as_bytes()])),
        }
    }
}

/// `state`: a tag binding it to the flow (and so to the browser holding the flow's cookie),
/// then where to go after, so the provider carries it back.
fn state_for(secret: &[u8], flow: &str, next: &str) -> String {
    let tag = hex::encode(tokens::hmac(
        secret,
        &[b"oidc-state", flow.as_bytes(), next.as_bytes()],
    ));
    format!("{tag}.{}", hex::encode(next))
}

/// Where to go after, if `state` is the one `state_for` made for this flow.
fn next_from_state(secret: &[u8], flow: &str, state: &str) -> Option<String> {
    let (tag, next) = state.split_once('.')?;
    let next = String::from_utf8(hex::decode(next).ok()?).ok()?;
    let want = state_for(secret, flow, &next);
    let want_tag = want.split_once('.')?.0;
    tokens::equal(tag.as_bytes(), want_tag.as_bytes()).then_some(next)
}

/// The groups in claim `name` of a compact JWT whose signature was already checked: a list of
/// strings, or one string.
fn groups_claim(jwt: &str, name: &str) -> Vec<String> {
    let Some(value) = payload(jwt) else {
        return Vec::new();
    };
    match &value[name] {
        serde_json::Value::Array(list) => list
            .iter()
            .filter_map(|g| g.as_str())
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect(),
        serde_json::Value::String(g) if !g.is_empty() => vec![g.clone()],
        _ => Vec::new(),
    }
}

/// The claims of a compact JWT whose signature was already checked.
fn payload(jwt: &str) -> Option<serde_json::Value> {
    use base64::Engine;
    let part = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_is_bound_to_the_flow_and_carries_next() {
        let secret = b"a-secret-of-at-least-thirty-two-bytes";
        let state = state_for(secret, "flow1", "/request/grafana?rd=x");
        assert_eq!(
            next_from_state(secret, "flow1", &state).as_deref(),
            Some("/request/grafana?rd=x")
        );
        assert_eq!(
            next_from_state(secret, "flow2", &state),
            None,
            "another browser"
        );
        let (tag, _) = state.split_once('.').unwrap();
        let forged = format!("{tag}.{}", hex::encode("/admin"));
        assert_eq!(
            next_from_state(secret, "flow1", &forged),
            None,
            "next changed"
        );
        assert_eq!(next_from_state(secret, "flow1", "garbage"), None);
    }

    #[test]
    fn groups_are_read_from_a_list_or_a_string() {
        use base64::Engine;
        let jwt = |claims: &str| {
            format!(
                "h.{}.s",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims)
            )
        };
        assert_eq!(
            groups_claim(&jwt(r#"{"groups":["sre","security",3]}"#), "groups"),
            ["sre", "security"]
        );
        assert_eq!(
            groups_claim(&jwt(r#"{"roles":"admin"}"#), "roles"),
            ["admin"]
        );
        assert!(groups_claim(&jwt(r#"{"groups":null}"#), "groups").is_empty());
        assert!(groups_claim("not-a-jwt", "groups").is_empty());
    }
}
