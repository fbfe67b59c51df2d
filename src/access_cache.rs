//! Sessions and live grants held in memory so that `/auth` never touches the disk on a hit.
//! The database stays the source of truth: every write path updates this cache, and
//! `refresh_from_audit` picks up changes written by other processes (the CLI).
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use axum::http::HeaderValue;

use crate::domain::Email;
use crate::store::{GrantRow, Store};

/// A signed-in person as `/auth` needs them: parsed once, with the header value ready.
#[derive(Debug)]
pub struct Identity {
    pub email: Email,
    pub header: Option<HeaderValue>,
}

impl Identity {
    pub fn new(email: Email) -> Self {
        let header = HeaderValue::from_str(email.as_str()).ok();
        Self { email, header }
    }
}

#[derive(Clone, Debug)]
struct CachedSession {
    who: Arc<Identity>,
    expires_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedGrant {
    pub id: i64,
    pub expires_at: i64,
    /// `expires_at` as RFC 3339, formatted once for `X-Daypass-Grant-Expires`.
    pub expires_header: Option<HeaderValue>,
}

#[derive(Default)]
pub struct AccessCache {
    sessions: RwLock<HashMap<Vec<u8>, CachedSession>>,
    /// email → application slug → the live grant. Nested so lookups borrow `&str`s and allocate nothing.
    grants: RwLock<HashMap<String, HashMap<String, CachedGrant>>>,
    last_audit_id: AtomicI64,
}

impl AccessCache {
    pub async fn load(store: &Store, now: i64) -> sqlx::Result<Self> {
        let cache = Self::default();
        // Read the audit position first, so nothing written during the load is missed.
        cache
            .last_audit_id
            .store(store.last_audit_id().await?, Ordering::SeqCst);
        for s in store.live_sessions(now).await? {
            if let Ok(email) = Email::parse(&s.email) {
                cache.put_session(s.id_hash, email, s.expires_at);
            }
        }
        for g in store.live_grants(now).await? {
            cache.put_grant(&g);
        }
        Ok(cache)
    }

    pub fn session(&self, id_hash: &[u8], now: i64) -> Option<Arc<Identity>> {
        let sessions = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        sessions
            .get(id_hash)
            .filter(|s| s.expires_at > now)
            .map(|s| s.who.clone())
    }

    /// Runs `f` on the live session's identity under the read lock: no reference counts touched,
    /// which matters when every core asks at once (the `/auth` hot path).
    pub fn with_session<R>(
        &self,
        id_hash: &[u8],
        now: i64,
        f: impl FnOnce(&Identity) -> R,
    ) -> Option<R> {
        let sessions = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        sessions
            .get(id_hash)
            .filter(|s| s.expires_at > now)
            .map(|s| f(&s.who))
    }

    /// The live grant's expiry, as a fresh header value, if `email` has one at `slug`.
    pub fn grant_expiry(&self, email: &str, slug: &str, now: i64) -> Option<Option<HeaderValue>> {
        let grants = self.grants.read().unwrap_or_else(|e| e.into_inner());
        let g = grants
            .get(email)?
            .get(slug)
            .filter(|g| g.expires_at > now)?;
        Some(
            g.expires_header
                .as_ref()
                .and_then(|h| HeaderValue::from_bytes(h.as_bytes()).ok()),
        )
    }

    pub fn put_session(&self, id_hash: Vec<u8>, email: Email, expires_at: i64) {
        let who = Arc::new(Identity::new(email));
        let mut sessions = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        sessions.insert(id_hash, CachedSession { who, expires_at });
    }

    pub fn remove_session(&self, id_hash: &[u8]) {
        let mut sessions = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        sessions.remove(id_hash);
    }

    /// The live grant of `email` at `slug`, checked against `now` on every call.
    pub fn grant(&self, email: &str, slug: &str, now: i64) -> Option<CachedGrant> {
        let grants = self.grants.read().unwrap_or_else(|e| e.into_inner());
        grants
            .get(email)
            .and_then(|apps| apps.get(slug))
            .filter(|g| g.expires_at > now)
            .cloned()
    }

    pub fn put_grant(&self, g: &GrantRow) {
        let mut grants = self.grants.write().unwrap_or_else(|e| e.into_inner());
        if g.state == "active" {
            let cached = CachedGrant {
                id: g.id,
                expires_at: g.expires_at,
                expires_header: HeaderValue::from_str(&crate::clock::rfc3339(g.expires_at)).ok(),
            };
            grants
                .entry(g.email.clone())
                .or_default()
                .insert(g.app_slug.clone(), cached);
        } else if let Some(apps) = grants.get_mut(&g.email) {
            if apps.get(&g.app_slug).is_some_and(|c| c.id == g.id) {
                apps.remove(&g.app_slug);
            }
            if apps.is_empty() {
                grants.remove(&g.email);
            }
        }
    }

    /// Drops grants and sessions whose time has passed (they are already refused; this frees memory).
    pub fn prune(&self, now: i64) {
        self.grants
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, apps| {
                apps.retain(|_, g| g.expires_at > now);
                !apps.is_empty()
            });
        self.sessions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, s| s.expires_at > now);
    }

    pub fn live_grant_count(&self, now: i64) -> usize {
        let grants = self.grants.read().unwrap_or_else(|e| e.into_inner());
        grants
            .values()
            .flat_map(|apps| apps.values())
            .filter(|g| g.expires_at > now)
            .count()
    }

    /// Applies grant changes recorded in the audit log since the last call, whoever wrote them.
    pub async fn refresh_from_audit(&self, store: &Store) -> sqlx::Result<usize> {
        let mut applied = 0;
        loop {
            let after = self.last_audit_id.load(Ordering::SeqCst);
            let events = store.audit_events(after, 0, 500).await?;
            let Some(last) = events.last().map(|e| e.id) else {
                return Ok(applied);
            };
            for grant_id in events.iter().filter_map(|e| e.grant_id) {
                if let Some(g) = Store::grant(store.reader(), grant_id).await? {
                    self.put_grant(&g);
                    applied += 1;
                }
            }
            self.last_audit_id.store(last, Ordering::SeqCst);
        }
    }
}
