//! Miro's `X-RateLimit-*` headers and `Retry-After`, and what one RPC learns about its waits: how
//! long it waited on Miro's limits (to report), and how long it may wait at most (its deadline).
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;

#[derive(Debug, Clone, PartialEq)]
pub struct BudgetSnapshot {
    pub limit: u64,
    pub remaining: u64,
    pub reset_at: Option<SystemTime>,
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

tokio::task_local! {
    static DEADLINE: tokio::time::Instant;
}

/// Run `f` with a deadline: a wait on Miro's limits that would end after it is not slept, and the
/// call ends early with what it knows (rate limited until when).
pub async fn with_deadline<F: Future>(deadline: tokio::time::Instant, f: F) -> F::Output {
    DEADLINE.scope(deadline, f).await
}

pub(crate) fn deadline() -> Option<tokio::time::Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

tokio::task_local! {
    static URGENT: ();
}

/// Run `f` as the critical path of a cursor chain: its REST requests go before those waiting for
/// their turn on the budget (never past what the window holds). Every page of the chain waits
/// for the one before it, so a turn lost there is lost to the whole chain; a request off the
/// chain that waits one turn longer delays only itself.
pub async fn urgently<F: Future>(f: F) -> F::Output {
    URGENT.scope((), f).await
}

pub(crate) fn urgent() -> bool {
    URGENT.try_with(|()| ()).is_ok()
}

tokio::task_local! {
    static CALL_OFF: tokio::sync::watch::Receiver<u64>;
}

/// Run `f` as work that may be called off: when `call_off` changes, a request of `f`'s still
/// waiting for its turn (on the budget or for a slot) is not sent, and ends as rate limited.
pub async fn unless_called_off<F: Future>(
    call_off: tokio::sync::watch::Receiver<u64>,
    f: F,
) -> F::Output {
    CALL_OFF.scope(call_off, f).await
}

/// Wait for `f`, unless the work was called off first (None).
pub(crate) async fn waiting<F: Future>(f: F) -> Option<F::Output> {
    let Ok(mut call_off) = CALL_OFF.try_with(|c| c.clone()) else {
        return Some(f.await);
    };
    tokio::select! {
        biased;
        Ok(()) = call_off.changed() => None,
        out = f => Some(out),
    }
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
}
