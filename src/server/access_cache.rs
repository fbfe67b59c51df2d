//! Sessions and live grants held in memory so that `/auth` never touches the disk on a hit.
//! The database stays the source of truth: every write path updates this cache,
//! `refresh_from_audit` picks up changes written by other processes (the CLI, other replicas),
//! and what the cache does not know yet (a session or grant made on another replica a moment
//! ago) is looked up in the database (`look_up_session`, `look_up_grant`).
use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard, ShardedLockWriteGuard};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use axum::http::HeaderValue;

use crate::config::Config;
use crate::domain::Email;
use crate::store::{AuditAction, GrantRow, GrantState, SessionRow, Store};

/// A signed-in person as `/auth` needs them: parsed once, with the header values ready.
#[derive(Debug)]
pub struct Identity {
    pub email: Email,
    pub header: Option<HeaderValue>,
    /// Every group they are in (the sign-in's, the proxy's header and `[[groups]]`).
    pub groups: Vec<String>,
    /// `groups` comma-separated, for `X-Daypass-Groups`; unset when there are none.
    pub groups_header: Option<HeaderValue>,
}

impl Identity {
    pub fn new(email: Email, groups: Vec<String>) -> Self {
        let header = HeaderValue::from_str(email.as_str()).ok();
        let groups_header = (!groups.is_empty())
            .then(|| HeaderValue::from_str(&groups.join(",")).ok())
            .flatten();
        Self {
            email,
            header,
            groups,
            groups_header,
        }
    }
}

#[derive(Debug)]
struct CachedSession {
    who: Identity,
    expires_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedGrant {
    pub id: i64,
    pub expires_at: i64,
    /// `expires_at` as RFC 3339, formatted once for `X-Daypass-Grant-Expires`.
    pub expires_header: Option<HeaderValue>,
}

/// Both maps behind one lock: `/auth` reads a session and a grant with one lock acquisition.
#[derive(Default)]
pub struct Maps {
    sessions: HashMap<Vec<u8>, CachedSession>,
    /// email → application slug → the live grant. Nested so lookups borrow `&str`s.
    grants: HashMap<String, HashMap<String, CachedGrant>>,
    /// Grants known to have ended (revoked, expired), with the time they would have run to.
    /// An ended grant never comes back, so a copy read as live before it ended (the audit-log
    /// follower races the revoke that removed it) cannot put it back. Kept until that time,
    /// after which the clock refuses the grant anyway.
    ended: HashMap<i64, i64>,
}

impl CachedGrant {
    /// The cache holds active grants only, so a cached grant is live until its end.
    fn is_live(&self, now: i64) -> bool {
        self.expires_at > now
    }
}

impl Maps {
    /// The live grant of `email` at `slug`, checked against `now` on every call.
    pub fn grant(&self, email: &str, slug: &str, now: i64) -> Option<&CachedGrant> {
        self.grants.get(email)?.get(slug).filter(|g| g.is_live(now))
    }
}

#[derive(Default)]
pub struct AccessCache {
    /// Read on every `/auth` by every core, written on logins, decisions and expiries: a
    /// sharded lock, so readers on different threads touch different cache lines.
    maps: ShardedLock<Maps>,
    last_audit_id: AtomicI64,
    /// Session ids the database did not know when asked. A session is written before its
    /// cookie is handed out, so an id unknown once stays unknown: made-up cookies are looked up
    /// once, not on every request.
    unknown_sessions: Mutex<HashSet<[u8; 32]>>,
    /// Whose sessions the follower last ended (a sign-out elsewhere), with the audit id that
    /// said so and when (ms): a look-up that started before that id must not put back what it
    /// read, or a signed-out session would come back to life.
    sessions_ended: Mutex<HashMap<String, (i64, i64)>>,
    /// When the audit log was last read up to its end (ms, daypass's clock), and how
    /// late the last event applied was seen (ms), for /healthz and /metrics.
    pub followed_at: AtomicI64,
    pub follow_lag_ms: AtomicI64,
}

/// At most this many unknown session ids are remembered; then the set starts over.
const MAX_UNKNOWN_SESSIONS: usize = 100_000;

impl AccessCache {
    pub async fn load(store: &Store, config: &Config, now: i64) -> sqlx::Result<Self> {
        let cache = Self::default();
        // Read the audit position first, so nothing written during the load is missed.
        cache
            .last_audit_id
            .store(store.last_audit_id().await?, Ordering::SeqCst);
        for s in store.live_sessions(now).await? {
            if let Ok(email) = Email::parse(&s.email) {
                let groups = config.groups_of(&email, &s.groups());
                cache.put_session(&s.id_hash, email, groups, s.expires_at);
            }
        }
        for g in store.live_grants(now).await? {
            cache.put_grant(&g);
        }
        Ok(cache)
    }

    fn read(&self) -> ShardedLockReadGuard<'_, Maps> {
        self.maps.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> ShardedLockWriteGuard<'_, Maps> {
        self.maps.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The live session's email.
    pub fn session(&self, id_hash: &[u8], now: i64) -> Option<Email> {
        self.with_session(id_hash, now, |who, _| who.email.clone())
    }

    /// The live session's groups.
    pub fn session_groups(&self, id_hash: &[u8], now: i64) -> Option<Vec<String>> {
        self.with_session(id_hash, now, |who, _| who.groups.clone())
    }

    /// Runs `f` on the live session's identity, and the grants, under one read lock: nothing
    /// is copied or reference-counted (the `/auth` hot path).
    pub fn with_session<R>(
        &self,
        id_hash: &[u8],
        now: i64,
        f: impl FnOnce(&Identity, &Maps) -> R,
    ) -> Option<R> {
        let maps = self.read();
        let session = maps.sessions.get(id_hash).filter(|s| s.expires_at > now)?;
        Some(f(&session.who, &maps))
    }

    /// Runs `f` on the grants under the read lock.
    pub fn with_maps<R>(&self, f: impl FnOnce(&Maps) -> R) -> R {
        f(&self.read())
    }

    pub fn put_session(&self, id_hash: &[u8], email: Email, groups: Vec<String>, expires_at: i64) {
        let who = Identity::new(email, groups);
        self.write()
            .sessions
            .insert(id_hash.to_vec(), CachedSession { who, expires_at });
    }

    pub fn remove_session(&self, id_hash: &[u8]) {
        self.write().sessions.remove(id_hash);
    }

    /// The live grant of `email` at `slug`, checked against `now` on every call.
    pub fn grant(&self, email: &str, slug: &str, now: i64) -> Option<CachedGrant> {
        self.read().grant(email, slug, now).cloned()
    }

    pub fn put_grant(&self, g: &GrantRow) {
        let mut maps = self.write();
        if g.state == GrantState::Active {
            if maps.ended.contains_key(&g.id) {
                return;
            }
            let cached = CachedGrant {
                id: g.id,
                expires_at: g.expires_at,
                expires_header: HeaderValue::from_str(&crate::clock::rfc3339(g.expires_at)).ok(),
            };
            let apps = maps.grants.entry(g.email.to_string()).or_default();
            // An extension only moves the end later: an older copy never shortens it.
            if apps
                .get(&g.app_slug)
                .is_some_and(|c| c.id == g.id && c.expires_at > g.expires_at)
            {
                return;
            }
            apps.insert(g.app_slug.clone(), cached);
        } else {
            maps.ended.insert(g.id, g.expires_at);
            if let Some(apps) = maps.grants.get_mut(g.email.as_str()) {
                if apps.get(&g.app_slug).is_some_and(|c| c.id == g.id) {
                    apps.remove(&g.app_slug);
                }
                if apps.is_empty() {
                    maps.grants.remove(g.email.as_str());
                }
            }
        }
    }

    /// Drops grants and sessions whose time has passed (they are already refused; this frees memory).
    pub fn prune(&self, now: i64) {
        let mut maps = self.write();
        maps.grants.retain(|_, apps| {
            apps.retain(|_, g| g.is_live(now));
            !apps.is_empty()
        });
        maps.sessions.retain(|_, s| s.expires_at > now);
        maps.ended.retain(|_, until| *until > now);
        drop(maps);
        // A look-up takes well under a minute: older sign-outs cannot race one any more.
        self.ended_sessions()
            .retain(|_, (_, at)| *at > now - 60_000);
    }

    pub fn live_grant_count(&self, now: i64) -> usize {
        self.read()
            .grants
            .values()
            .flat_map(|apps| apps.values())
            .filter(|g| g.is_live(now))
            .count()
    }

    /// The live session `id_hash` names: from memory, or else from the database (a sign-in on
    /// another replica), which then stays in memory.
    pub async fn look_up_session(
        &self,
        store: &Store,
        config: &Config,
        id_hash: &[u8; 32],
        now: i64,
    ) -> sqlx::Result<Option<Email>> {
        if let Some(email) = self.session(id_hash, now) {
            return Ok(Some(email));
        }
        if self.unknown().contains(id_hash) {
            return Ok(None);
        }
        let seen = self.last_audit_id();
        let row = store.session(id_hash, now).await?;
        Ok(self.keep_looked_up(config, id_hash, row, seen))
    }

    /// What a look-up that began when the follower had read up to `seen` found: kept and
    /// believed, unless the follower has applied a sign-out of that person since (the row may
    /// predate it; the next request looks again). A missing session is remembered as unknown.
    pub fn keep_looked_up(
        &self,
        config: &Config,
        id_hash: &[u8; 32],
        row: Option<SessionRow>,
        seen: i64,
    ) -> Option<Email> {
        let Some(row) = row else {
            let mut unknown = self.unknown();
            if unknown.len() >= MAX_UNKNOWN_SESSIONS {
                unknown.clear();
            }
            unknown.insert(*id_hash);
            return None;
        };
        let email = Email::parse(&row.email).ok()?;
        let ended_since = self
            .ended_sessions()
            .get(email.as_str())
            .is_some_and(|(id, _)| *id > seen);
        if ended_since {
            return None;
        }
        let groups = config.groups_of(&email, &row.groups());
        self.put_session(id_hash, email.clone(), groups, row.expires_at);
        Some(email)
    }

    fn ended_sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, i64)>> {
        self.sessions_ended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn unknown(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        self.unknown_sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Looks in the database for a live grant of `email` at `slug` that memory does not hold
    /// (approved on another replica a moment ago), and keeps it. True when there is one.
    pub async fn look_up_grant(
        &self,
        store: &Store,
        email: &str,
        slug: &str,
        now: i64,
    ) -> sqlx::Result<bool> {
        if self.grant(email, slug, now).is_some() {
            return Ok(true);
        }
        match store.latest_grant_of(email, slug).await? {
            Some(g) if g.is_live(now) => {
                self.put_grant(&g);
                Ok(self.grant(email, slug, now).is_some())
            }
            _ => Ok(false),
        }
    }

    /// Applies changes recorded in the audit log since the last call, whoever wrote them: grants
    /// made, extended or ended, and sessions ended (a sign-out, "sign out everywhere").
    pub async fn refresh_from_audit(&self, store: &Store, now: i64) -> sqlx::Result<usize> {
        let mut applied = 0;
        loop {
            let after = self.last_audit_id.load(Ordering::SeqCst);
            let events = store.audit_events(after, 0, 500).await?;
            let Some(last) = events.last() else {
                self.followed_at.store(now, Ordering::Relaxed);
                return Ok(applied);
            };
            for e in &events {
                if let Some(grant_id) = e.grant_id {
                    if let Some(g) = Store::grant(store.reader(), grant_id).await? {
                        self.put_grant(&g);
                        applied += 1;
                    }
                }
                if matches!(
                    e.action,
                    AuditAction::SignedOut | AuditAction::SessionsEnded
                ) {
                    if let Some(who) = &e.subject {
                        self.ended_sessions().insert(who.clone(), (e.id, now));
                        self.keep_sessions_of(who, &store.session_hashes_of(who).await?);
                        applied += 1;
                    }
                }
            }
            self.follow_lag_ms
                .store((now - last.at).max(0), Ordering::Relaxed);
            self.last_audit_id.store(last.id, Ordering::SeqCst);
        }
    }

    /// Forgets every session of `email` that is not in `live` (the database's own list).
    fn keep_sessions_of(&self, email: &str, live: &[Vec<u8>]) {
        self.write()
            .sessions
            .retain(|hash, s| s.who.email.as_str() != email || live.contains(hash));
    }

    pub fn last_audit_id(&self) -> i64 {
        self.last_audit_id.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(id: i64, state: GrantState, expires_at: i64) -> GrantRow {
        GrantRow {
            id,
            request_id: id,
            app_slug: "grafana".into(),
            email: Email::parse("carol@example.com").unwrap(),
            approved_by: "alice@example.com".into(),
            approved_at: 0,
            expires_at,
            state,
            ended_at: None,
            ended_by: None,
            end_reason: None,
            extended_at: None,
            warned_at: None,
        }
    }

    #[test]
    fn a_copy_read_before_a_revoke_cannot_bring_the_grant_back() {
        let cache = AccessCache::default();
        cache.put_grant(&grant(1, GrantState::Active, 10_000));
        assert!(cache.grant("carol@example.com", "grafana", 0).is_some());
        cache.put_grant(&grant(1, GrantState::Revoked, 10_000));
        // The follower read the row while it was still active, and applies it now.
        cache.put_grant(&grant(1, GrantState::Active, 10_000));
        assert!(cache.grant("carol@example.com", "grafana", 0).is_none());
        // A new grant for the same person and application is another id: it is let in.
        cache.put_grant(&grant(2, GrantState::Active, 20_000));
        assert!(cache.grant("carol@example.com", "grafana", 0).is_some());
        // The memory of the ended grant goes once its time has passed anyway.
        cache.prune(10_000);
        assert!(cache.read().ended.is_empty());
    }

    #[test]
    fn an_older_copy_never_shortens_an_extended_grant() {
        let cache = AccessCache::default();
        cache.put_grant(&grant(1, GrantState::Active, 20_000));
        cache.put_grant(&grant(1, GrantState::Active, 10_000));
        assert_eq!(
            cache
                .grant("carol@example.com", "grafana", 0)
                .map(|g| g.expires_at),
            Some(20_000)
        );
    }
}
