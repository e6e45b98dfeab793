//! Miro's credit budget as its `X-RateLimit-*` headers report it, and pacing that spreads what is
//! left of a window over the time left in it, so a sync slows down instead of running into 429s.
use std::{
    sync::Mutex,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use http::HeaderMap;

#[derive(Debug, Clone, PartialEq)]
pub struct BudgetSnapshot {
    pub limit: u64,
    pub remaining: u64,
    pub reset_at: Option<SystemTime>,
}

#[derive(Debug, Default)]
pub struct Budget {
    state: Mutex<Option<BudgetSnapshot>>,
}

/// Below this share of the window's budget, requests are spread out.
const LOW_WATER: f64 = 0.10;

impl Budget {
    pub fn observe(&self, headers: &HeaderMap) {
        if let Some(s) = parse_headers(headers) {
            *self.state.lock().unwrap_or_else(|e| e.into_inner()) = Some(s);
        }
    }

    pub fn snapshot(&self) -> Option<BudgetSnapshot> {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How long to wait before a request costing `cost` credits.
    pub fn pace(&self, cost: u64, now: SystemTime) -> Duration {
        let guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Some(s) = guard.as_ref() else {
            return Duration::ZERO;
        };
        let Some(left) = s.reset_at.and_then(|r| r.duration_since(now).ok()) else {
            return Duration::ZERO;
        };
        if s.remaining < cost {
            return left;
        }
        if (s.remaining as f64) >= LOW_WATER * s.limit as f64 {
            return Duration::ZERO;
        }
        // Spread the requests that still fit evenly over what is left of the window.
        let fits = (s.remaining / cost.max(1)).max(1);
        left / u32::try_from(fits + 1).unwrap_or(u32::MAX)
    }

    /// Spend credits locally so back-to-back requests pace before the next headers arrive.
    pub fn spend(&self, cost: u64) {
        if let Some(s) = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            s.remaining = s.remaining.saturating_sub(cost);
        }
    }
}

tokio::task_local! {
    static WAITED: std::cell::Cell<Duration>;
}

/// Run `f`, also answering how long it waited on Miro's rate limits (pacing and 429s), so the
/// caller can report it.
pub async fn tracking_waits<F: Future>(f: F) -> (F::Output, Duration) {
    WAITED
        .scope(std::cell::Cell::new(Duration::ZERO), async move {
            let out = f.await;
            (out, WAITED.with(std::cell::Cell::get))
        })
        .await
}

pub(crate) fn note_wait(d: Duration) {
    let _ = WAITED.try_with(|w| w.set(w.get() + d));
}

pub fn parse_headers(headers: &HeaderMap) -> Option<BudgetSnapshot> {
    let num = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
    Some(BudgetSnapshot {
        limit: num("x-ratelimit-limit")?,
        remaining: num("x-ratelimit-remaining")?,
        reset_at: num("x-ratelimit-reset").map(|s| UNIX_EPOCH + Duration::from_secs(s)),
    })
}

/// How long a 429 asks us to wait: `Retry-After` if present, else until `X-RateLimit-Reset`.
pub fn wait_after_429(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(secs) = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_secs(secs));
    }
    let reset = parse_headers(headers)?.reset_at?;
    Some(reset.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn retry_after_wins_over_reset() {
        let now = UNIX_EPOCH + Duration::from_secs(1000);
        let h = headers(&[
            ("retry-after", "7"),
            ("x-ratelimit-limit", "10"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1030"),
        ]);
        assert_eq!(wait_after_429(&h, now), Some(Duration::from_secs(7)));
        let h = headers(&[
            ("x-ratelimit-limit", "10"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1030"),
        ]);
        assert_eq!(wait_after_429(&h, now), Some(Duration::from_secs(30)));
        assert_eq!(wait_after_429(&HeaderMap::new(), now), None);
    }

    #[test]
    fn paces_only_when_low() {
        let now = UNIX_EPOCH + Duration::from_secs(1000);
        let b = Budget::default();
        assert_eq!(b.pace(500, now), Duration::ZERO, "nothing known yet");
        b.observe(&headers(&[
            ("x-ratelimit-limit", "100000"),
            ("x-ratelimit-remaining", "50000"),
            ("x-ratelimit-reset", "1060"),
        ]));
        assert_eq!(b.pace(500, now), Duration::ZERO);
        b.observe(&headers(&[
            ("x-ratelimit-limit", "100000"),
            ("x-ratelimit-remaining", "4500"),
            ("x-ratelimit-reset", "1060"),
        ]));
        assert_eq!(
            b.pace(500, now),
            Duration::from_secs(6),
            "9 requests fit in 60 s: one every 6 s"
        );
        b.observe(&headers(&[
            ("x-ratelimit-limit", "100000"),
            ("x-ratelimit-remaining", "100"),
            ("x-ratelimit-reset", "1060"),
        ]));
        assert_eq!(
            b.pace(500, now),
            Duration::from_secs(60),
            "out of credits: wait for the reset"
        );
    }
}
