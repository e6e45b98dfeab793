//! Coming back after UNAVAILABLE, as the official client does.
use tonic::Status;

use super::Tally;
use crate::{connector::annotations::find, pb};

/// Consecutive tries of one page before the walk gives up (the official client never does): many
/// when the daemon says it is rate limited and when to come back, a couple for other outages.
const MAX_RETRIES: u32 = 30;
const MAX_BLIND_RETRIES: u32 = 2;

/// One RPC, tried again after UNAVAILABLE or DEADLINE_EXCEEDED as the official client does.
pub(super) async fn with_retries<T, Fut>(
    tally: &mut Tally,
    mut call: impl FnMut() -> Fut,
) -> Result<T, Status>
where
    Fut: Future<Output = Result<T, Status>>,
{
    let mut attempt = 0;
    loop {
        tally.rpcs += 1;
        match call().await {
            Err(s) if retryable(&s) && attempt < limit_for(&s) => {
                attempt += 1;
                tally.retries += 1;
                tokio::time::sleep(retry_wait(&s, attempt)).await;
            }
            other => return other,
        }
    }
}

fn limit_for(s: &Status) -> u32 {
    if rate_limit(s).is_some() {
        MAX_RETRIES
    } else {
        MAX_BLIND_RETRIES
    }
}

fn rate_limit(s: &Status) -> Option<pb::RateLimitDescription> {
    use prost::Message;
    let st = pb::RpcStatus::decode(s.details()).ok()?;
    find::<pb::RateLimitDescription>(&st.details)
}

fn retryable(s: &Status) -> bool {
    matches!(
        s.code(),
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded
    )
}

/// The official client's wait (baton-sdk `pkg/retry`): until `reset_at` when a RateLimitDescription
/// says nothing remains, (reset − now) / remaining when some does, else one second per attempt;
/// at most a minute.
fn retry_wait(s: &Status, attempt: u32) -> std::time::Duration {
    use std::time::{Duration, SystemTime};
    let linear = Duration::from_secs(u64::from(attempt));
    let described = rate_limit(s).and_then(|d| {
        let reset: SystemTime = d.reset_at?.try_into().ok()?;
        let until = reset.duration_since(SystemTime::now()).ok()?;
        Some(if d.remaining <= 0 {
            until
        } else {
            Duration::from_secs((until.as_secs_f64() / d.remaining as f64).ceil() as u64)
        })
    });
    described
        .filter(|w| !w.is_zero())
        .unwrap_or(linear)
        .min(Duration::from_secs(60))
}
