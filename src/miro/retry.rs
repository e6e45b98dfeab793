//! Retries, in two separate pieces: `classify` says whether an outcome is worth another try (and
//! how long Miro asked us to wait); `RetryPolicy` says how long to back off and when to give up.
use std::time::Duration;

use rand::Rng;

/// The outcome of one attempt, as far as retrying cares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    Status(u16),
    Timeout,
    /// The connection broke after the request may have been sent.
    Connect,
    /// No connection was made: the request never left.
    Unsent,
    /// An answer came but could not be read (truncated, malformed).
    Unreadable,
    /// The request could not be built here: retrying cannot help.
    Local,
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

/// `idempotent`: repeating the request cannot apply it twice. A 429 was not applied and an unsent
/// request was not sent, so both are always retried; a 5xx, a time-out or an unreadable answer to a
/// non-idempotent write is left to the caller, who re-reads state.
pub fn classify(outcome: Outcome, idempotent: bool, wait_hint: Option<Duration>) -> Decision {
    match outcome {
        Outcome::Status(429) => wait_hint.map_or(Decision::Backoff, Decision::Wait),
        Outcome::Unsent => Decision::Backoff,
        Outcome::Status(501) | Outcome::Local => Decision::Fail,
        Outcome::Status(s) if s >= 500 && idempotent => Decision::Backoff,
        Outcome::Timeout | Outcome::Connect | Outcome::Unreadable if idempotent => {
            Decision::Backoff
        }
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
        let cap = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(millis / 2..=millis.max(1)))
    }

    /// How long to wait before attempt `attempt + 1`, or `None` to give up.
    pub fn next_delay(
        &self,
        decision: Decision,
        attempt: u32,
        elapsed: Duration,
    ) -> Option<Duration> {
        let delay = match decision {
            Decision::Fail => return None,
            Decision::Backoff => self.backoff(attempt),
            Decision::Wait(d) => d,
        };
        (attempt < self.max_attempts && elapsed + delay <= self.max_elapsed).then_some(delay)
    }
}

/// One failed attempt: what happened, how long Miro asked us to wait, and the error to report.
pub struct Failed<E> {
    pub outcome: Outcome,
    pub hint: Option<Duration>,
    pub error: E,
}

/// Why `run` stopped without a result.
pub enum Stop<E> {
    /// Not retryable: the error as it came.
    Fail(E),
    /// Retryable, but the attempts or the time ran out.
    GaveUp { attempts: u32, last: E },
    /// Retryable, but the next wait would outlast the caller's deadline.
    Deadline {
        attempts: u32,
        last: E,
        delay: Duration,
    },
}

/// Run `attempt` until it succeeds, fails for good, or the policy gives up. `wait` is told each
/// delay before it is slept (for metrics and logs). A wait that would end after `deadline` is not
/// slept: the caller hears how long it would have been.
pub async fn run<T, E, F, Fut>(
    policy: &RetryPolicy,
    idempotent: bool,
    deadline: Option<tokio::time::Instant>,
    mut attempt: F,
    mut wait: impl FnMut(&Failed<E>, Duration),
) -> Result<T, Stop<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failed<E>>>,
{
    let started = tokio::time::Instant::now();
    let mut n = 0u32;
    loop {
        n += 1;
        let failed = match attempt().await {
            Ok(v) => return Ok(v),
            Err(f) => f,
        };
        let decision = classify(failed.outcome, idempotent, failed.hint);
        match policy.next_delay(decision, n, started.elapsed()) {
            Some(delay) if deadline.is_some_and(|d| tokio::time::Instant::now() + delay > d) => {
                return Err(Stop::Deadline {
                    attempts: n,
                    last: failed.error,
                    delay,
                });
            }
            Some(delay) => {
                wait(&failed, delay);
                tokio::time::sleep(delay).await;
            }
            None if decision == Decision::Fail => return Err(Stop::Fail(failed.error)),
            None => {
                return Err(Stop::GaveUp {
                    attempts: n,
                    last: failed.error,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Attempts that fail with the given outcomes and hints, then succeed.
    fn script(
        steps: Vec<(Outcome, Option<Duration>)>,
    ) -> impl FnMut() -> std::future::Ready<Result<u32, Failed<String>>> {
        let steps = Arc::new(Mutex::new(steps.into_iter()));
        let mut calls = 0;
        move || {
            calls += 1;
            let next = steps.lock().unwrap().next();
            std::future::ready(match next {
                Some((outcome, hint)) => Err(Failed {
                    outcome,
                    hint,
                    error: format!("{outcome:?}"),
                }),
                None => Ok(calls),
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waits_exactly_as_long_as_miro_asks() {
        let policy = RetryPolicy::default();
        let t0 = tokio::time::Instant::now();
        let steps = vec![
            (Outcome::Status(429), Some(Duration::from_secs(30))),
            (Outcome::Status(429), Some(Duration::from_secs(7))),
        ];
        let r = run(&policy, false, None, script(steps), |_, _| {}).await;
        assert_eq!(
            r.ok(),
            Some(3),
            "429 is retried even for a non-idempotent write"
        );
        assert_eq!(t0.elapsed(), Duration::from_secs(37));
    }

    #[tokio::test(start_paused = true)]
    async fn backs_off_on_5xx_then_gives_up() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..Default::default()
        };
        let t0 = tokio::time::Instant::now();
        let steps = vec![(Outcome::Status(503), None); 5];
        match run(&policy, true, None, script(steps), |_, _| {}).await {
            Err(Stop::GaveUp { attempts, last }) => {
                assert_eq!((attempts, last.as_str()), (3, "Status(503)"))
            }
            _ => panic!("expected to give up"),
        }
        let waited = t0.elapsed();
        // Two backoffs: at most base*1 + base*2, at least half of that (full jitter).
        assert!(
            waited >= Duration::from_millis(375) && waited <= Duration::from_millis(750),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unsafe_write_is_not_repeated() {
        let t0 = tokio::time::Instant::now();
        let r = run(
            &RetryPolicy::default(),
            false,
            None,
            script(vec![(Outcome::Timeout, None)]),
            |_, _| {},
        )
        .await;
        assert!(matches!(r, Err(Stop::Fail(_))));
        assert_eq!(t0.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_time_budget_bounds_waiting() {
        let policy = RetryPolicy {
            max_elapsed: Duration::from_secs(60),
            ..Default::default()
        };
        let steps = vec![(Outcome::Status(429), Some(Duration::from_secs(45))); 3];
        let r = run(&policy, true, None, script(steps), |_, _| {}).await;
        assert!(
            matches!(r, Err(Stop::GaveUp { attempts: 2, .. })),
            "a second 45 s wait would pass 60 s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_past_the_deadline_is_handed_back_not_slept() {
        let t0 = tokio::time::Instant::now();
        let steps = vec![(Outcome::Status(429), Some(Duration::from_secs(45))); 3];
        let deadline = Some(t0 + Duration::from_secs(30));
        match run(
            &RetryPolicy::default(),
            true,
            deadline,
            script(steps),
            |_, _| {},
        )
        .await
        {
            Err(Stop::Deadline { delay, .. }) => assert_eq!(delay, Duration::from_secs(45)),
            _ => panic!("expected to stop at the deadline"),
        }
        assert_eq!(t0.elapsed(), Duration::ZERO, "nothing was slept");
    }

    #[test]
    fn classifier() {
        let w = Some(Duration::from_secs(3));
        assert_eq!(
            classify(Outcome::Status(429), false, w),
            Decision::Wait(Duration::from_secs(3))
        );
        assert_eq!(
            classify(Outcome::Status(429), false, None),
            Decision::Backoff
        );
        assert_eq!(
            classify(Outcome::Status(503), true, None),
            Decision::Backoff
        );
        assert_eq!(
            classify(Outcome::Status(503), false, None),
            Decision::Fail,
            "unsafe write"
        );
        assert_eq!(classify(Outcome::Status(501), true, None), Decision::Fail);
        assert_eq!(classify(Outcome::Status(404), true, None), Decision::Fail);
        assert_eq!(classify(Outcome::Timeout, true, None), Decision::Backoff);
        assert_eq!(classify(Outcome::Connect, false, None), Decision::Fail);
        assert_eq!(
            classify(Outcome::Unsent, false, None),
            Decision::Backoff,
            "never sent"
        );
        assert_eq!(classify(Outcome::Unreadable, true, None), Decision::Backoff);
        assert_eq!(classify(Outcome::Unreadable, false, None), Decision::Fail);
        assert_eq!(
            classify(Outcome::Local, true, None),
            Decision::Fail,
            "our bug or bad input"
        );
    }

    #[test]
    fn policy_bounds_attempts_and_time() {
        let p = RetryPolicy {
            max_attempts: 3,
            max_elapsed: Duration::from_secs(10),
            ..Default::default()
        };
        assert!(p.next_delay(Decision::Backoff, 1, Duration::ZERO).is_some());
        assert!(
            p.next_delay(Decision::Backoff, 3, Duration::ZERO).is_none(),
            "attempts exhausted"
        );
        assert!(
            p.next_delay(Decision::Wait(Duration::from_secs(11)), 1, Duration::ZERO)
                .is_none(),
            "too long"
        );
        assert!(p.next_delay(Decision::Fail, 1, Duration::ZERO).is_none());
        for attempt in 1..10 {
            assert!(p.backoff(attempt) <= p.max_delay);
        }
    }
}
