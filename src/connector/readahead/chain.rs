//! How a page read ahead is started, and how its chain goes on when it arrives: the `more` pages
//! asked for after it, and for a plan's whole chain, the rest while there is room.
use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use tokio::sync::oneshot;

use super::{
    Answer, Chain, DEEP_BYTES, Entry, Inner, Key, MAX_AGE, MAX_BYTES, MAX_DEEP, MAX_ENTRIES, Pages,
    Resume, lock,
};
use crate::miro::{
    MiroError,
    paging::Page,
    ratelimit::{tracking_waits, unless_called_off, with_deadline},
};

impl Inner {
    /// Whether a whole chain may go past its first pages: only for a client that calls one at a
    /// time (two 100 ms runs with 16 workers through the runner took 1.164× and 1.194× with it,
    /// against 1.085× and 1.126× without), and while the store has room.
    fn room_to_deepen(&self) -> bool {
        let planned = self.entries.values().filter(|e| e.chain.planned).count();
        self.bytes < DEEP_BYTES && planned < MAX_DEEP && self.calls.one_at_a_time()
    }

    /// A plan's page was claimed: the whole chains stopped for want of room go on, the nearest
    /// first. Only a claim makes room for more: a walk that stopped reads nothing further.
    pub(super) fn resume(&mut self, store: &Arc<Mutex<Inner>>) {
        while self.room_to_deepen() {
            let stopped = self.entries.iter().filter(|(_, e)| e.resume.is_some());
            let Some(k) = stopped
                .min_by_key(|(_, e)| e.chain.order)
                .map(|(k, _)| k.clone())
            else {
                return;
            };
            if let Some(go) = self.entries.get_mut(&k).and_then(|e| e.resume.take()) {
                go(store, self);
            }
        }
    }
}

/// Start the page at `cursor`, and when it arrives, the pages after it that `chain` asks for (or
/// as many as the store is told by then).
pub(super) fn spawn<T: Send + 'static>(
    store: &Arc<Mutex<Inner>>,
    inner: &mut Inner,
    pages: &Arc<Pages<T>>,
    cursor: Option<&str>,
    chain: Chain,
) {
    if inner.entries.len() >= MAX_ENTRIES || inner.bytes >= MAX_BYTES {
        return;
    }
    let call_off = inner.calls.subscribe();
    let epoch = chain.epoch.unwrap_or(*call_off.borrow());
    if *call_off.borrow() != epoch {
        metrics::counter!("miro_readahead_discarded_total", "reason" => "called off").increment(1);
        return;
    }
    let key = pages.key(cursor);
    inner.next_id += 1;
    let id = inner.next_id;
    let chain = Chain {
        epoch: Some(epoch),
        order: chain.order.or(Some(id)),
        ..chain
    };
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
            let chain = inner.entries.get_mut(&k).filter(|e| e.id == id).map(|e| {
                e.arrived = Some(Instant::now());
                e.kept = e.arrived;
                e.weight = weight;
                e.next = next.clone();
                e.chain
            });
            if let Some(chain) = chain {
                inner.changed.notify_waiters();
                inner.bytes += weight;
                if inner.bytes > MAX_BYTES {
                    inner.discard(&k, "full");
                    return;
                }
                if let Some(c) = next.filter(|c| !inner.entries.contains_key(&pages2.key(Some(c))))
                {
                    go_on(&store2, &mut inner, &pages2, &k, c, chain);
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
            chain,
            kept: None,
            weight: 0,
            next: None,
            resume: None,
            rx,
            task,
        },
    );
    metrics::counter!("miro_readahead_started_total").increment(1);
}

/// The page at `key` arrived with `next` after it, not yet in the store: start it if its chain
/// asks for it, now or (a whole chain without room) once there is room.
fn go_on<T: Send + 'static>(
    store: &Arc<Mutex<Inner>>,
    inner: &mut Inner,
    pages: &Arc<Pages<T>>,
    key: &Key,
    next: String,
    chain: Chain,
) {
    if chain.more > 0 {
        let chain = Chain {
            more: chain.more - 1,
            ..chain
        };
        return spawn(store, inner, pages, Some(&next), chain);
    }
    if !chain.whole {
        return;
    }
    if inner.room_to_deepen() {
        return spawn(store, inner, pages, Some(&next), chain);
    }
    let pages = pages.clone();
    let resume: Resume = Box::new(move |store, inner| {
        if !inner.entries.contains_key(&pages.key(Some(&next))) {
            spawn(store, inner, &pages, Some(&next), chain);
        }
    });
    if let Some(e) = inner.entries.get_mut(key) {
        e.resume = Some(resume);
    }
}

/// An estimate of what a page holds in memory: its items and the strings they carry.
fn page_weight<T, C>(p: &Page<T, C>) -> usize {
    std::mem::size_of::<Page<T, C>>() + p.items.len() * (std::mem::size_of::<T>() + 96)
}
