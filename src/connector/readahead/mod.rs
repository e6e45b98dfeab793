//! Read-ahead: Miro requests a walk will make next, started before the client asks for them, so
//! the budget, not Miro's latency, sets a sync's pace. Two sources of "next": the next pages of a
//! listing the client is reading (their cursors are known as soon as this page arrives, or, for
//! `startIndex` pages, at once: `lead`), and the next resources of a walk (`plan`), learned from
//! the order in which the client asks for them.
//!
//! The store keeps what was read by the exact request (what, resource, cursor, page size) and
//! serves each answer at most once: the RPC that asks takes it, in flight or done. It is bounded:
//! `MAX_ENTRIES` entries and `MAX_BYTES` (estimated) bytes; a plan's chains go past their first
//! pages only while it holds fewer than `MAX_DEEP` pages for resources the client has not reached
//! (`chain`). An answer unclaimed `MAX_AGE` after it arrived (for a resource the client has not
//! reached yet, after the client's last page read, up to `MAX_KEPT`) is thrown away. A write throws
//! away what it touches, and never reads from here. What is still waiting for its turn when the
//! client stops walking is called off (`calls`).
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
    ratelimit::{deadline, note_wait},
};

pub(crate) mod calls;
mod chain;
mod lead;
pub(crate) mod plan;
pub(crate) mod reads;

/// Entries in flight or waiting to be claimed.
pub(crate) const MAX_ENTRIES: usize = 512;
/// What the waiting answers may hold, as estimated by `page_weight`.
pub(crate) const MAX_BYTES: usize = 12 << 20;
/// A plan's chain goes on past its first pages (`Chain::whole`) only while fewer pages than this
/// are held for resources the client has not reached, and the store holds under `DEEP_BYTES`.
/// One call at a time, the client walks a large team's chain a round trip a page; meanwhile
/// these keep the budget busy with the next teams' later pages (24 of them, their first six
/// each, are at most 144 more).
pub(crate) const MAX_DEEP: usize = 240;
pub(crate) const DEEP_BYTES: usize = 8 << 20;
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
    chain: Chain,
    /// For a plan's page (`chain.planned`), its age counts from there: its arrival, or the
    /// client's last page read since.
    kept: Option<Instant>,
    weight: usize,
    /// The cursor after this page, once it arrived.
    next: Option<String>,
    /// A whole chain that stopped here for want of room: its next page, started when a plan's
    /// page is claimed (`Inner::resume`).
    resume: Option<Resume>,
    rx: oneshot::Receiver<Answer>,
    task: tokio::task::AbortHandle,
}

type Resume = Box<dyn FnOnce(&Arc<Mutex<Inner>>, &mut Inner) + Send>;

/// How a page read ahead goes on.
#[derive(Debug, Clone, Copy)]
struct Chain {
    /// Pages after this one to start when it arrives.
    more: usize,
    /// The call-off epoch of what asks for it (the page before it, or the RPC that leads; None:
    /// now): a walk called off since then starts nothing more.
    epoch: Option<u64>,
    /// For a resource the client has not reached yet (a plan's).
    planned: bool,
    /// Past `more`, the rest of the chain while there is room (`Inner::room_to_deepen`).
    whole: bool,
    /// The id of the chain's first page: plans start the nearest resources first, so the lowest
    /// is resumed first.
    order: Option<u64>,
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
            let claimed = inner.remove(key);
            if claimed.as_ref().is_some_and(|e| e.chain.planned) {
                inner.resume(&self.inner);
            }
            claimed.map(|e| Claimed {
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
