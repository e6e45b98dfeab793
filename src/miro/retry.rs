//! Retries, in two separate pieces: `classify` says whether an outcome is worth another try (and
//! how long Miro asked us to wait); `RetryPolicy` says how long to back off and when to give up.
use std::time::Duration;

use rand::Rng;

/// The outcome of one attempt, as far as retrying cares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    Status(u16),
    Timeout,
    Connect,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Not retryable (or not safe to retry): hand the error back.
    Fail,
    /// Retry after the policy's backoff.
    Backoff,
    /// Retry after this long (Miro said so).
    Wait(Duration),
}

/// `idempotent`: repeating the request cannot apply it twice. A 429 was not applied, so it is always
/// retried; a 5xx or a time-out on a non-idempotent write is left to the caller, who re-reads state.
pub fn classify(outcome: Outcome, idempotent: bool, wait_hint: Option<Duration>) -> Decision {
    match outcome {
        Outcome::Status(429) => wait_hint.map_or(Decision::Backoff, Decision::Wait),
        Outcome::Status(501) => Decision::Fail,
        Outcome::Status(s) if s >= 500 && idempotent => Decision::Backoff,
        Outcome::Timeout | Outcome::Connect if idempotent => Decision::Backoff,
        _ => Decision::Fail,
    }
}

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub max_elapsed: Duration,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            max_elapsed: Duration::from_secs(120),
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with full jitter, for the retry after attempt `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let cap = self.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16)).min(self.max_delay);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(millis / 2..=millis.max(1)))
    }

    /// How long to wait before attempt `attempt + 1`, or `None` to give up.
    pub fn next_delay(&self, decision: Decision, attempt: u32, elapsed: Duration) -> Option<Duration> {
        let delay = match decision {
            Decision::Fail => return None,
            Decision::Backoff => self.backoff(attempt),
            Decision::Wait(d) => d,
        };
        (attempt < self.max_attempts && elapsed + delay <= self.max_elapsed).then_some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifier() {
        let w = Some(Duration::from_secs(3));
        assert_eq!(classify(Outcome::Status(429), false, w), Decision::Wait(Duration::from_secs(3)));
        assert_eq!(classify(Outcome::Status(429), false, None), Decision::Backoff);
        assert_eq!(classify(Outcome::Status(503), true, None), Decision::Backoff);
        assert_eq!(classify(Outcome::Status(503), false, None), Decision::Fail, "unsafe write");
        assert_eq!(classify(Outcome::Status(501), true, None), Decision::Fail);
        assert_eq!(classify(Outcome::Status(404), true, None), Decision::Fail);
        assert_eq!(classify(Outcome::Timeout, true, None), Decision::Backoff);
        assert_eq!(classify(Outcome::Connect, false, None), Decision::Fail);
    }

    #[test]
    fn policy_bounds_attempts_and_time() {
        let p = RetryPolicy { max_attempts: 3, max_elapsed: Duration::from_secs(10), ..Default::default() };
        assert!(p.next_delay(Decision::Backoff, 1, Duration::ZERO).is_some());
        assert!(p.next_delay(Decision::Backoff, 3, Duration::ZERO).is_none(), "attempts exhausted");
        assert!(p.next_delay(Decision::Wait(Duration::from_secs(11)), 1, Duration::ZERO).is_none(), "too long");
        assert!(p.next_delay(Decision::Fail, 1, Duration::ZERO).is_none());
        for attempt in 1..10 {
            assert!(p.backoff(attempt) <= p.max_delay);
        }
    }
}
