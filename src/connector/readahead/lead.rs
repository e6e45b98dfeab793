//! How a listing's pages are put on their way ahead of the client: by following their cursors
//! (`lead`), or all at once where the cursors are known in advance (`lead_each`).
use std::{sync::Arc, time::Instant};

use super::{Chain, Pages, ReadAhead, calls, chain::spawn, lock};

impl ReadAhead {
    /// Have the `n` pages of a listing from `cursor` on their way: what the store holds is
    /// followed by its cursor, an answer still in flight is told to go on when it arrives, and the
    /// first page missing is started (unless the store is full).
    pub(crate) fn lead<T: Send + 'static>(
        &self,
        pages: &Arc<Pages<T>>,
        cursor: Option<&str>,
        n: usize,
    ) {
        self.lead_as(pages, cursor, n, None, false);
    }

    /// `lead` from the first page of a resource the client has not reached yet (`walking`):
    /// `plan` (its kind and id) chose it. Not started if the client has asked for it since.
    /// `whole`: past the `n` pages, the rest of its chain, while the store has room for it.
    pub(crate) fn lead_planned<T: Send + 'static>(
        &self,
        pages: &Arc<Pages<T>>,
        n: usize,
        plan: (&'static str, &str),
        whole: bool,
    ) {
        self.lead_as(pages, None, n, Some(plan), whole);
    }

    /// The client read a page: the walk is still coming to what was read for its next resources
    /// (it may walk one large team's cursor chain for longer than `MAX_AGE`), so their age restarts.
    pub(crate) fn walking(&self) {
        let now = Some(Instant::now());
        let mut inner = lock(&self.inner);
        let planned = inner.entries.values_mut().filter(|e| e.chain.planned);
        planned.for_each(|e| e.kept = now);
    }

    fn lead_as<T: Send + 'static>(
        &self,
        pages: &Arc<Pages<T>>,
        cursor: Option<&str>,
        n: usize,
        plan: Option<(&'static str, &str)>,
        whole: bool,
    ) {
        if !self.enabled || n == 0 {
            return;
        }
        let mut inner = lock(&self.inner);
        // Asked for since the plan chose it: the client's own request is (or was) under way. The
        // store's lock is held from here to the spawn, so an ask after this check finds the entry.
        if plan.is_some_and(|(kind, id)| self.plans.was_asked(kind, id)) {
            return;
        }
        let planned = plan.is_some();
        inner.purge_stale(Instant::now());
        let mut cursor = cursor.map(str::to_string);
        for i in 0..n {
            let key = pages.key(cursor.as_deref());
            let more = n - 1 - i;
            match inner.entries.get_mut(&key) {
                None => {
                    let chain = Chain {
                        more,
                        epoch: calls::rpc_epoch(),
                        planned,
                        whole,
                        order: None,
                    };
                    return spawn(&self.inner, &mut inner, pages, cursor.as_deref(), chain);
                }
                Some(e) if e.arrived.is_none() => {
                    e.chain.more = e.chain.more.max(more);
                    return;
                }
                Some(e) => match e.next.clone() {
                    Some(c) => cursor = Some(c),
                    None => return,
                },
            }
        }
    }

    /// Have each of these pages of a listing on its way at once, none after it: pages whose
    /// cursors are known before the page before them arrives (SCIM's `startIndex` pages).
    pub(crate) fn lead_each<T: Send + 'static>(&self, pages: &Arc<Pages<T>>, cursors: &[String]) {
        if !self.enabled {
            return;
        }
        let mut inner = lock(&self.inner);
        inner.purge_stale(Instant::now());
        for c in cursors {
            if !inner.entries.contains_key(&pages.key(Some(c))) {
                let chain = Chain {
                    more: 0,
                    epoch: calls::rpc_epoch(),
                    planned: false,
                    whole: false,
                    order: None,
                };
                spawn(&self.inner, &mut inner, pages, Some(c), chain);
            }
        }
    }
}
