//! Read-ahead: Miro requests a walk will make next, started before the client asks for them, so
//! the budget, not Miro's latency, sets a sync's pace. Two sources of "next": the next pages of a
//! listing the client is reading (their cursors are known as soon as this page arrives, or, for
//! `startIndex` pages, at once: `lead`), and the next resources of a walk (`plan`), learned from
//! the order in which the client asks for them.
//!
//! The store keeps what was read by the exact request (what, resource, cursor, page size) and
//! serves each answer at most once: the RPC that asks takes it, in flight or done. It is bounded:
//! `MAX_ENTRIES` entries and `MAX_BYTES` (estimated) bytes; an answer unclaimed `MAX_AGE` after it
//! arrived (for a resource the client has not reached yet, after the client's last page read, up
//! to `MAX_KEPT`) is thrown away. A write throws away what it touches, and never reads from here. What
//! is still waiting for its turn when the client stops walking is called off (`calls`).
use std::{
    any::Any,
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use tokio::sync::{Notify, oneshot};

use crate::miro::{
    MiroError,
    paging::Page,
    ratelimit::{deadline, note_wait, tracking_waits, unless_called_off, with_deadline},
};

pub(crate) mod calls;
mod lead;
pub(crate) mod plan;
pub(crate) mod reads;

/// Entries in flight or waiting to be claimed.
pub(crate) const MAX_ENTRIES: usize = 256;
/// What the waiting answers may hold, as estimated by `page_weight`.
pub(crate) const MAX_BYTES: usize = 8 << 20;
/// An answer nobody claimed this long after it arrived is stale: the walk went elsewhere.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(30);
/// An answer read for a resource the client has not reached yet is kept while the client reads
/// on (`walking`), but never longer than this after it arrived.
pub(crate) const MAX_KEPT: Duration = Duration::from_secs(300);

/// One Miro request, exactly: the same key means the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub what: &'static str,
    /// The resource the answer is about (a team, a group; empty for the organization's members).
    pub resource: String,
    pub cursor: String,
    pub limit: usize,
}

type Answer = Box<dyn Any + Send>;

struct Entry {
    id: u64,
    /// When the answer arrived (None: in flight).
    arrived: Option<Instant>,
    /// For a resource the client has not reached yet (a plan's). `kept`: its age counts from
    /// there (its arrival, or the client's last page read since).
    planned: bool,
    kept: Option<Instant>,
    weight: usize,
    /// The cursor after this page, once it arrived.
    next: Option<String>,
    /// Pages after this one to start when it arrives.
    extend: usize,
    rx: oneshot::Receiver<Answer>,
    task: tokio::task::AbortHandle,
}

struct Inner {
    entries: HashMap<Key, Entry>,
    bytes: usize,
    next_id: u64,
    calls: Arc<calls::Calls>,
    /// Told when an answer arrives or an entry goes (`first_ready` waits on it).
    changed: Arc<Notify>,
}

impl Inner {
    fn remove(&mut self, key: &Key) -> Option<Entry> {
        let e = self.entries.remove(key)?;
        self.bytes -= e.weight;
        self.changed.notify_waiters();
        Some(e)
    }

    fn discard(&mut self, key: &Key, reason: &'static str) {
        if let Some(e) = self.remove(key) {
            e.task.abort();
            metrics::counter!("miro_readahead_discarded_total", "reason" => reason).increment(1);
        }
    }

    fn purge_stale(&mut self, now: Instant) {
        let stale: Vec<Key> = self
            .entries
            .iter()
            .filter(|(_, e)| match (e.arrived, e.kept) {
                (Some(t), Some(k)) => now - k > MAX_AGE || now - t > MAX_KEPT,
                _ => false,
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            tracing::debug!(what = k.what, resource = %k.resource, cursor = %k.cursor, "aged out");
            self.discard(&k, "age");
        }
    }
}

pub(crate) struct ReadAhead {
    enabled: bool,
    inner: Arc<Mutex<Inner>>,
    pub(crate) plans: plan::Plans,
}

/// An answer claimed while in flight: dropping it (an RPC cancelled) stops the request, as a
/// request made by the RPC itself would stop.
struct Claimed {
    rx: oneshot::Receiver<Answer>,
    task: tokio::task::AbortHandle,
}

impl Drop for Claimed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

type KeyAt = Box<dyn Fn(Option<&str>) -> Key + Send + Sync>;
type PageOf<T> = BoxFuture<'static, Result<Page<T>, MiroError>>;
type RequestAt<T> = Box<dyn Fn(Option<&str>) -> PageOf<T> + Send + Sync>;

/// One listing's pages: the key of a page and the request for it, from its cursor.
pub(crate) struct Pages<T> {
    pub key: KeyAt,
    pub request: RequestAt<T>,
}

impl<T> Pages<T> {
    pub(crate) fn key(&self, cursor: Option<&str>) -> Key {
        (self.key)(cursor)
    }
}

/// Start the page at `cursor`, and when it arrives, the `more` pages after it (or as many as the
/// store is told by then). `epoch`: the call-off epoch of what asks for it (the page before it, or
/// the RPC that leads): a walk called off since then starts nothing more.
fn spawn<T: Send + 'static>(
    store: &Arc<Mutex<Inner>>,
    inner: &mut Inner,
    pages: &Arc<Pages<T>>,
    cursor: Option<&str>,
    more: usize,
    epoch: Option<u64>,
    planned: bool,
) {
    if inner.entries.len() >= MAX_ENTRIES || inner.bytes >= MAX_BYTES {
        return;
    }
    let call_off = inner.calls.subscribe();
    let epoch = epoch.unwrap_or(*call_off.borrow());
    if *call_off.borrow() != epoch {
        metrics::counter!("miro_readahead_discarded_total", "reason" => "called off").increment(1);
        return;
    }
    let key = pages.key(cursor);
    inner.next_id += 1;
    let id = inner.next_id;
    let (tx, rx) = oneshot::channel();
    let fetch = (pages.request)(cursor);
    let (store2, pages2, k) = (store.clone(), pages.clone(), key.clone());
    let task = tokio::spawn(async move {
        // A wait on the budget longer than an answer may be kept is not worth making.
        let deadline = tokio::time::Instant::now() + MAX_AGE;
        let fetch = unless_called_off(call_off.clone(), with_deadline(deadline, fetch));
        let (answer, waited) = tracking_waits(fetch).await;
        let weight = answer.as_ref().map_or(0, page_weight);
        let next = answer.as_ref().ok().and_then(|p| p.next.clone());
        {
            let mut inner = lock(&store2);
            // Given up on the budget (called off, or no turn within `MAX_AGE`): nothing to serve or
            // keep; the listing's next lead asks again.
            if matches!(answer, Err(MiroError::RateLimited { .. }))
                && inner.entries.get(&k).is_some_and(|e| e.id == id)
            {
                let called_off = *call_off.borrow() != epoch;
                inner.discard(&k, if called_off { "called off" } else { "unusable" });
                return;
            }
            // Claimed while in flight (no longer in the store): the RPC waiting for it takes it,
            // and keeps the listing's lead itself.
            let more = inner.entries.get_mut(&k).filter(|e| e.id == id).map(|e| {
                e.arrived = Some(Instant::now());
                e.kept = e.arrived;
                e.weight = weight;
                e.next = next.clone();
                e.extend
            });
            if let Some(more) = more {
                inner.changed.notify_waiters();
                inner.bytes += weight;
                if inner.bytes > MAX_BYTES {
                    inner.discard(&k, "full");
                    return;
                }
                if let Some(c) = next.as_deref().filter(|_| more > 0)
                    && !inner.entries.contains_key(&pages2.key(Some(c)))
                {
                    let (more, epoch) = (more - 1, Some(epoch));
                    spawn(&store2, &mut inner, &pages2, Some(c), more, epoch, planned);
                }
            }
        }
        let _ = tx.send(Box::new((answer, waited)) as Answer);
    })
    .abort_handle();
    inner.entries.insert(
        key,
        Entry {
            id,
            arrived: None,
            planned,
            kept: None,
            weight: 0,
            next: None,
            extend: more,
            rx,
            task,
        },
    );
    metrics::counter!("miro_readahead_started_total").increment(1);
}

/// An estimate of what a page holds in memory: its items and the strings they carry.
pub(crate) fn page_weight<T, C>(p: &Page<T, C>) -> usize {
    std::mem::size_of::<Page<T, C>>() + p.items.len() * (std::mem::size_of::<T>() + 96)
}

impl ReadAhead {
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            inner: Arc::new(Mutex::new(Inner {
                entries: HashMap::new(),
                bytes: 0,
                next_id: 0,
                calls: calls::Calls::new(),
                changed: Arc::new(Notify::new()),
            })),
            plans: plan::Plans::default(),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// An RPC begins: while none is under way, or when one is cancelled, read-ahead is called off.
    pub(crate) fn rpc(&self) -> calls::Rpc {
        lock(&self.inner).calls.rpc()
    }

    /// Of `keys`, the one to serve first: the answer that arrived first (none waits until it
    /// is too old to serve). While all are still in flight, the first to arrive, whichever it is:
    /// one may wait for the budget's next minute while another arrives now. Past the RPC's
    /// deadline, the one asked for first. None when the store holds none of them.
    pub(crate) async fn first_ready(&self, keys: &[Key]) -> Option<usize> {
        loop {
            let changed = lock(&self.inner).changed.clone();
            // Made before the store is read, so that no arrival after the read is missed.
            let arrival = changed.notified();
            let asked_first = {
                let inner = lock(&self.inner);
                let held = |i: usize| inner.entries.get(&keys[i]).map(|e| (e.arrived, e.id, i));
                let waiting = || (0..keys.len()).filter_map(held);
                let arrived = waiting()
                    .filter_map(|(arrived, _, i)| arrived.map(|t| (t, i)))
                    .min();
                if let Some((_, i)) = arrived {
                    return Some(i);
                }
                waiting().map(|(_, id, i)| (id, i)).min()?.1
            };
            let Some(d) = deadline() else {
                arrival.await;
                continue;
            };
            if tokio::time::timeout_at(d, arrival).await.is_err() {
                return Some(asked_first);
            }
        }
    }

    /// The answer to `key`: read ahead when it was (in flight or done, and then it is gone from
    /// the store), else fetched now by `direct`.
    pub(crate) async fn fetch<T, F>(&self, key: &Key, direct: F) -> Result<Page<T>, MiroError>
    where
        T: Send + 'static,
        F: Future<Output = Result<Page<T>, MiroError>>,
    {
        let claimed = {
            let mut inner = lock(&self.inner);
            inner.purge_stale(Instant::now());
            inner.remove(key).map(|e| Claimed {
                rx: e.rx,
                task: e.task,
            })
        };
        if let Some(mut c) = claimed {
            let answer = match deadline() {
                Some(d) => tokio::time::timeout_at(d, &mut c.rx).await.ok(),
                None => Some((&mut c.rx).await),
            };
            if let Some(Ok(answer)) = answer
                && let Ok(done) = answer.downcast::<(Result<Page<T>, MiroError>, Duration)>()
                && !matches!(done.0, Err(MiroError::RateLimited { .. }))
            {
                metrics::counter!("miro_readahead_served_total").increment(1);
                // The budget's wait was the read-ahead's; the answer it delays is this RPC's.
                note_wait(done.1);
                return done.0;
            }
            // Thrown away, past this RPC's deadline, or given up on the budget (which this RPC's
            // own deadline may allow): ask now, as if nothing had been read ahead.
            metrics::counter!("miro_readahead_discarded_total", "reason" => "unusable")
                .increment(1);
        }
        direct.await
    }

    /// The client's sync is over (Cleanup): nothing it left waiting is sent, nothing read for it
    /// is kept, and its plans go.
    pub(crate) fn sync_over(&self) {
        lock(&self.inner).calls.call_off();
        self.discard(None, "sync over");
        self.plans.clear();
    }

    /// Throw away what the store holds about these resources, or everything (a write changed
    /// them).
    pub(crate) fn forget(&self, resources: Option<&[&str]>) {
        self.discard(resources, "write");
    }

    fn discard(&self, resources: Option<&[&str]>, reason: &'static str) {
        let mut inner = lock(&self.inner);
        let gone: Vec<Key> = inner
            .entries
            .keys()
            .filter(|k| resources.is_none_or(|r| r.contains(&k.resource.as_str())))
            .cloned()
            .collect();
        for k in gone {
            inner.discard(&k, reason);
        }
    }

    /// Entries in flight or waiting, and their estimated bytes.
    #[cfg(test)]
    pub(crate) fn held(&self) -> (usize, usize) {
        let inner = lock(&self.inner);
        (inner.entries.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests;
