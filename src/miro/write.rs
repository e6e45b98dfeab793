//! Writes that are not idempotent (a team invite, a SCIM create). The transport resends one only
//! when it was never sent; after an ambiguous failure (a time-out, a 5xx, an unreadable answer) it
//! may have landed, so state is read back first, and the write is sent again only if it did not.
use serde::de::DeserializeOwned;

use super::{
    error::MiroError,
    http::{Call, Transport},
    retry::Decision,
};

impl Transport {
    pub(crate) async fn write_verified<T, F, Fut>(
        &self,
        call: &Call,
        verify: F,
    ) -> Result<T, MiroError>
    where
        T: DeserializeOwned,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Option<T>, MiroError>>,
    {
        let started = tokio::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let e = match self.json::<T>(call).await {
                Err(e) if e.is_ambiguous() => e,
                other => return other,
            };
            if let Some(landed) = verify().await? {
                return Ok(landed);
            }
            match self
                .retry
                .next_delay(Decision::Backoff, attempt, started.elapsed())
            {
                Some(delay) => {
                    tracing::warn!(endpoint = call.endpoint, delay_ms = delay.as_millis() as u64, error = %e,
                        "the write did not land; sending it again");
                    tokio::time::sleep(delay).await;
                }
                None => return Err(e),
            }
        }
    }
}
