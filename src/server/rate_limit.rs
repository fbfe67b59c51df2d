//! Sliding-window limits on what strangers can make daypass do: send login codes, file requests.
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::store::{Engine, Store};

/// One kind of limit: at most `max` events per `window_ms`, per key (an email or an IP).
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub max: usize,
    pub window_ms: i64,
}

pub const CODES_PER_EMAIL: Limit = Limit {
    max: 5,
    window_ms: 15 * 60_000,
};
pub const CODES_PER_IP: Limit = Limit {
    max: 20,
    window_ms: 15 * 60_000,
};
pub const REQUESTS_PER_USER: Limit = Limit {
    max: 10,
    window_ms: 60 * 60_000,
};
pub const REQUESTS_PER_IP: Limit = Limit {
    max: 30,
    window_ms: 60 * 60_000,
};

/// How many keys the limiter remembers at most. A flood of distinct keys (random emails, many
/// addresses) pushes out the oldest keys first instead of growing memory or slowing every check.
pub const MAX_KEYS: usize = 100_000;

/// The longest window of any limit: events older than this never count again.
pub const LONGEST_WINDOW_MS: i64 = 60 * 60_000;

/// The limits as daypass keeps them: in memory in one process (SQLite), in the database when
/// several replicas share them (PostgreSQL), so that an attacker cannot multiply them by the
/// number of replicas.
pub enum Limits {
    Memory(RateLimiter),
    Shared(Store),
}

impl Limits {
    pub fn for_store(store: &Store) -> Self {
        match store.engine() {
            Engine::Sqlite => Self::Memory(RateLimiter::default()),
            Engine::Postgres => Self::Shared(store.clone()),
        }
    }

    /// As `RateLimiter::check`: `Ok(Err(seconds))` when a limit is reached.
    pub async fn check(&self, keys: &[(&str, Limit)], now: i64) -> sqlx::Result<Result<(), u64>> {
        match self {
            Self::Memory(limiter) => Ok(limiter.check(keys, now)),
            Self::Shared(store) => {
                let keys: Vec<(&str, i64, i64)> = keys
                    .iter()
                    .map(|(k, l)| (*k, l.window_ms, l.max as i64))
                    .collect();
                Ok(store
                    .count_hits(&keys, now)
                    .await?
                    .map_err(|wait_ms| (wait_ms as u64).div_ceil(1000).max(1)))
            }
        }
    }
}

#[derive(Default)]
pub struct RateLimiter {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    seen: HashMap<String, Entry>,
    /// Keys in the order they were first counted, with the generation they were counted under,
    /// so that evicting the oldest is O(1) and never removes a key that came back since.
    order: VecDeque<(u64, String)>,
    generation: u64,
    /// When keys that went quiet were last forgotten.
    swept_at: i64,
}

struct Entry {
    generation: u64,
    times: VecDeque<i64>,
}

impl RateLimiter {
    /// Counts one event for each `(key, limit)` if all allow it; otherwise counts nothing and
    /// says how many seconds until the tightest one allows it again.
    pub fn check(&self, keys: &[(&str, Limit)], now: i64) -> Result<(), u64> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait_ms = 0;
        for (key, limit) in keys {
            let Some(entry) = inner.seen.get_mut(*key) else {
                continue;
            };
            let times = &mut entry.times;
            while times.front().is_some_and(|t| *t <= now - limit.window_ms) {
                times.pop_front();
            }
            if times.len() >= limit.max {
                let oldest = times.front().copied().unwrap_or(now);
                wait_ms = wait_ms.max(oldest + limit.window_ms - now);
            }
        }
        if wait_ms > 0 {
            return Err((wait_ms as u64).div_ceil(1000).max(1));
        }
        for (key, _) in keys {
            inner.count(key, now);
        }
        inner.bound(now);
        Ok(())
    }

    /// How many keys are remembered now.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .seen
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn count(&mut self, key: &str, now: i64) {
        if let Some(entry) = self.seen.get_mut(key) {
            entry.times.push_back(now);
            return;
        }
        self.generation += 1;
        let generation = self.generation;
        self.order.push_back((generation, key.to_string()));
        self.seen.insert(
            key.to_string(),
            Entry {
                generation,
                times: VecDeque::from([now]),
            },
        );
    }

    fn bound(&mut self, now: i64) {
        // Once a minute, forget keys that have gone quiet (their events can no longer count).
        if now - self.swept_at >= 60_000 {
            self.swept_at = now;
            self.seen
                .retain(|_, e| e.times.back().is_some_and(|t| *t > now - LONGEST_WINDOW_MS));
            let seen = &self.seen;
            self.order
                .retain(|(g, k)| seen.get(k).is_some_and(|e| e.generation == *g));
        }
        while self.seen.len() > MAX_KEYS {
            let Some((generation, key)) = self.order.pop_front() else {
                break;
            };
            if self
                .seen
                .get(&key)
                .is_some_and(|e| e.generation == generation)
            {
                self.seen.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_up_to_the_limit_then_says_how_long_to_wait() {
        let r = RateLimiter::default();
        let l = Limit {
            max: 2,
            window_ms: 10_000,
        };
        assert!(r.check(&[("a", l)], 0).is_ok());
        assert!(r.check(&[("a", l)], 1_000).is_ok());
        assert_eq!(r.check(&[("a", l)], 2_000), Err(8));
        assert!(r.check(&[("b", l)], 2_000).is_ok(), "keys are separate");
        assert!(r.check(&[("a", l)], 10_001).is_ok(), "the window slides");
    }

    #[test]
    fn a_refused_event_is_not_counted_against_other_keys() {
        let r = RateLimiter::default();
        let tight = Limit {
            max: 1,
            window_ms: 10_000,
        };
        let loose = Limit {
            max: 5,
            window_ms: 10_000,
        };
        assert!(r.check(&[("email", tight), ("ip", loose)], 0).is_ok());
        for _ in 0..10 {
            assert!(r.check(&[("email", tight), ("ip", loose)], 1).is_err());
        }
        assert!(
            r.check(&[("other", tight), ("ip", loose)], 2).is_ok(),
            "the IP's budget was not spent"
        );
    }

    #[test]
    fn a_flood_of_distinct_keys_stays_bounded_and_fast() {
        let r = RateLimiter::default();
        let l = CODES_PER_IP;
        let started = std::time::Instant::now();
        for i in 0..(3 * MAX_KEYS) {
            let key = format!("ip:{i}");
            assert!(r.check(&[(&key, l)], 1_000 + i as i64 / 1000).is_ok());
        }
        assert!(r.len() <= MAX_KEYS, "{} keys remembered", r.len());
        // Every check stays O(1): 300,000 of them take well under a few seconds even unoptimised.
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        // A key counted lately is still limited after the flood.
        let victim = Limit {
            max: 1,
            window_ms: 60_000,
        };
        assert!(r.check(&[("victim", victim)], 2_000).is_ok());
        for i in 0..1000 {
            let key = format!("more:{i}");
            let _ = r.check(&[(&key, l)], 2_001);
        }
        assert!(r.check(&[("victim", victim)], 2_002).is_err());
    }

    #[test]
    fn quiet_keys_are_forgotten() {
        let r = RateLimiter::default();
        let l = CODES_PER_IP;
        for i in 0..100 {
            assert!(r.check(&[(&format!("k{i}"), l)], 0).is_ok());
        }
        assert_eq!(r.len(), 100);
        assert!(r.check(&[("late", l)], LONGEST_WINDOW_MS + 60_001).is_ok());
        assert_eq!(r.len(), 1);
    }
}
