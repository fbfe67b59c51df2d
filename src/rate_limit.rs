//! Sliding-window limits on what strangers can make daypass do: send login codes, file requests.
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

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

#[derive(Default)]
pub struct RateLimiter {
    seen: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl RateLimiter {
    /// Counts one event for each `(key, limit)` if all allow it; otherwise counts nothing and
    /// says how many seconds until the tightest one allows it again.
    pub fn check(&self, keys: &[(&str, Limit)], now: i64) -> Result<(), u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait_ms = 0;
        for (key, limit) in keys {
            let times = seen.entry(key.to_string()).or_default();
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
            seen.entry(key.to_string()).or_default().push_back(now);
        }
        // Forget keys that have gone quiet, so the map stays small.
        if seen.len() > 10_000 {
            seen.retain(|_, t| t.back().is_some_and(|last| *last > now - 3_600_000));
        }
        Ok(())
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
}
