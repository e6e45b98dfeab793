//! Writes to the same principal in flight at the same moment run one after another. Each write
//! reads current state first, so the first of several identical writes changes Miro and the rest
//! find it done (`GrantAlreadyExists`, `GrantAlreadyRevoked`): the platform, which records who
//! granted what from these answers, hears "newly granted" exactly once. Writes to different
//! principals still run in parallel. An entry lives only while a write for its key is in flight,
//! so the table is bounded by the RPCs in flight, never by the number served.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

type Table = Mutex<HashMap<String, Arc<AsyncMutex<()>>>>;

#[derive(Default)]
pub(crate) struct InFlight {
    table: Arc<Table>,
}

/// The right to write for one key; the next write for it starts when this is dropped.
pub(crate) struct Turn {
    table: Arc<Table>,
    guard: Option<OwnedMutexGuard<()>>,
}

fn lock(table: &Table) -> std::sync::MutexGuard<'_, HashMap<String, Arc<AsyncMutex<()>>>> {
    table.lock().unwrap_or_else(|e| e.into_inner())
}

impl InFlight {
    /// Wait for the writes already in flight for `key`, then take the turn.
    pub(crate) async fn turn(&self, key: String) -> Turn {
        let slot = lock(&self.table).entry(key).or_default().clone();
        let guard = slot.lock_owned().await;
        Turn {
            table: self.table.clone(),
            guard: Some(guard),
        }
    }

    /// Keys with a write in flight or waiting.
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.table).len()
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut table = lock(&self.table);
        // Release first: then only the table and waiters (who cloned under this lock) hold a slot.
        // Every slot nobody holds goes, this one and any a cancelled waiter left.
        self.guard.take();
        table.retain(|_, slot| Arc::strong_count(slot) > 1);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn same_key_waits_other_keys_do_not_and_the_table_empties() {
        let f = Arc::new(InFlight::default());
        let a = f.turn("user:1".into()).await;
        // Another key goes at once.
        let b = tokio::time::timeout(Duration::from_millis(100), f.turn("user:2".into()))
            .await
            .expect("another key is not held up");
        // The same key waits for the first turn to end.
        let f2 = f.clone();
        let waiting = tokio::spawn(async move { f2.turn("user:1".into()).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "a second write to user:1 waits");
        drop(a);
        let c = tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("it goes once the first is done")
            .unwrap();
        assert_eq!(f.len(), 2);
        drop((b, c));
        assert_eq!(f.len(), 0, "nothing is kept once no write is in flight");
    }

    #[tokio::test]
    async fn a_cancelled_waiter_leaves_nothing_behind() {
        let f = Arc::new(InFlight::default());
        let a = f.turn("k".into()).await;
        let f2 = f.clone();
        let waiting = tokio::spawn(async move { f2.turn("k".into()).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        waiting.abort();
        let _ = waiting.await;
        drop(a);
        assert_eq!(f.len(), 0);
    }
}
