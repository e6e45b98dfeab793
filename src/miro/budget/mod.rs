//! One budget per process, reserved atomically. A caller hands in what a request costs and gets back
//! how long to wait; the reservation moves a "next free slot" forward under one lock, so concurrent
//! callers are spaced instead of all computing the same delay and firing together.
//!
//! Two ledgers feed it: REST credits per window, as Miro's `X-RateLimit-*` headers report them; and
//! SCIM requests per endpoint per 30 s (Miro's SCIM table). Both keep a small safety margin and
//! spread what is left over the time left, rather than sprinting into a wall and stalling. Time is
//! tokio's, so tests drive it with a paused clock.
use std::{collections::HashMap, sync::Mutex, time::Duration};

use tokio::time::Instant;

use super::ratelimit::BudgetSnapshot;

mod scim;
mod urgent;

use scim::Scim;

/// A request's claim on the budget.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Claim {
    /// A REST request costing this many credits.
    Rest(u64),
    /// A REST request on a cursor chain's critical path (`ratelimit::urgently`): it starts at once,
    /// ahead of those waiting for their turn, when the window under way holds it.
    Urgent(u64),
    /// A SCIM request to this endpoint (`GET /Users`, `PATCH /Users/{id}`, …).
    Scim(&'static str),
}

/// Miro's REST window, until its headers say otherwise.
const DEFAULT_WINDOW: Duration = Duration::from_secs(60);
/// After a window's reset, a moment for Miro's clock and ours to agree.
const SETTLE: Duration = Duration::from_millis(20);
/// The reset header counts whole seconds, so Miro's window may end up to a second before ours, and
/// a request takes a moment to arrive: what starts this close to our reset may count in the next
/// window, so it is charged to both.
const GUARD: Duration = Duration::from_millis(1_100);
/// How long a request reserved in a guessed window waits before it asks again.
const RECHECK: Duration = Duration::from_millis(250);

#[derive(Debug)]
struct Rest {
    limit: u64,
    /// What this process may still spend in the window: Miro's last word, less what was reserved since.
    remaining: u64,
    reset_at: Instant,
    window: Duration,
    next_free: Instant,
    /// The reset the last answer named, and what it said was left before it.
    last_reset: Instant,
    last_remaining: u64,
    /// Reservations not yet answered, by ticket: when each starts and what it costs. Miro may not
    /// have counted them yet, and those starting near a reset may count in the next window.
    pending: HashMap<u64, (Instant, u64)>,
    /// Of those, the ones still waiting for their turn that an urgent request may swap turns with
    /// (`urgent`), and by when each must start.
    movable: HashMap<u64, Option<Instant>>,
    next_ticket: u64,
    /// The end of the last window we left: an answer naming it (or earlier) is stale.
    left_behind: Instant,
    /// Whether `window` was measured (from two resets) rather than assumed.
    learned: bool,
}

/// What a reservation changes in the plan, to put back when it is not made after all.
#[derive(Clone, Copy)]
struct Plan {
    remaining: u64,
    reset_at: Instant,
    next_free: Instant,
    left_behind: Instant,
}

impl Rest {
    fn plan(&self) -> Plan {
        Plan {
            remaining: self.remaining,
            reset_at: self.reset_at,
            next_free: self.next_free,
            left_behind: self.left_behind,
        }
    }

    fn restore(&mut self, p: Plan) {
        self.remaining = p.remaining;
        self.reset_at = p.reset_at;
        self.next_free = p.next_free;
        self.left_behind = p.left_behind;
    }

    /// Charged to the window that ends at `reset_at`: a request starting in it, or close enough
    /// before it to count in it (`GUARD`).
    fn charged_to(&self, start: Instant, reset_at: Instant) -> bool {
        start
            >= reset_at
                .checked_sub(self.window + GUARD)
                .unwrap_or(reset_at)
    }

    /// Credits pending that may land in the window ending at `reset_at`, or later.
    fn pending_from(&self, reset_at: Instant) -> u64 {
        self.pending
            .values()
            .filter(|(start, _)| self.charged_to(*start, reset_at))
            .map(|(_, cost)| cost)
            .sum()
    }

    /// A reservation was given back: its credits return to the window that counted them, and
    /// when no other is left waiting for its turn, the plan starts again from the window under
    /// way, rather than queue behind requests never sent.
    fn give_back(&mut self, id: u64, now: Instant) {
        let Some((start, cost)) = self.forget(id) else {
            return;
        };
        if self.charged_to(start, self.reset_at) {
            self.remaining = (self.remaining + cost).min(self.limit);
        }
        if self.pending.values().any(|(start, _)| *start > now) {
            return;
        }
        // Windows ahead were rolled into by those reservations alone: back to the one under way,
        // which keeps its phase (each rolled window is a whole window after the one Miro named).
        let mut unrolled = false;
        while let Some(before) = self.reset_at.checked_sub(self.window)
            && before > now
        {
            self.reset_at = before;
            unrolled = true;
        }
        if unrolled {
            let before = self.reset_at.checked_sub(self.window);
            self.left_behind = before.map_or(self.left_behind, |b| self.left_behind.min(b));
            // What Miro last said of this window, or, for a window it has not spoken of yet, all.
            let tolerance = Duration::from_secs(1);
            let spoken = self.reset_at.max(self.last_reset) - self.reset_at.min(self.last_reset)
                <= tolerance;
            let base = if spoken {
                self.last_remaining
            } else {
                self.limit
            };
            self.remaining = base.saturating_sub(self.pending_from(self.reset_at));
        }
        self.next_free = now;
    }

    /// Charge a reservation starting at `start` to the window: its ticket.
    fn book(&mut self, start: Instant, cost: u64) -> u64 {
        self.remaining = self.remaining.saturating_sub(cost);
        self.next_ticket += 1;
        self.pending.insert(self.next_ticket, (start, cost));
        self.next_ticket
    }

    /// A reservation answered or given back.
    fn forget(&mut self, id: u64) -> Option<(Instant, u64)> {
        self.movable.remove(&id);
        self.pending.remove(&id)
    }

    /// Held back from every window: other requests of the same app and user, and rounding.
    fn margin(&self) -> u64 {
        (self.limit / 100).max(1)
    }

    /// A window that has ended locally is assumed renewed, less what is already on its way to it.
    fn roll(&mut self) {
        self.left_behind = self.reset_at;
        self.reset_at += self.window;
        self.remaining = self.limit.saturating_sub(self.pending_from(self.reset_at));
    }

    fn reserve(&mut self, cost: u64, now: Instant) -> (Instant, u64) {
        let mut start = now.max(self.next_free);
        while start >= self.reset_at {
            self.roll();
        }
        loop {
            let usable = self.remaining.saturating_sub(self.margin());
            let fits = cost <= usable;
            if fits || cost > self.limit.saturating_sub(self.margin()) {
                if fits && self.remaining - cost >= self.limit / 2 {
                    // Half the window goes at once: a small job never waits.
                } else if fits {
                    // Past half, spread what is left evenly over the time left: no wall to stall at.
                    let left = self.reset_at.saturating_duration_since(start);
                    self.next_free = start + left.mul_f64(cost as f64 / usable as f64);
                } else {
                    // More than a whole window: go once the window is fresh, and let Miro judge.
                    start = start.max(self.reset_at + SETTLE);
                    self.roll();
                    self.next_free = start;
                }
                return (start, self.book(start, cost));
            }
            // Not in this window: at the next one's start, and everyone after queues behind.
            start = self.reset_at + SETTLE;
            self.next_free = start;
            self.roll();
        }
    }

    fn observe(&mut self, limit: u64, remaining: u64, reset_at: Instant, now: Instant) {
        // The header counts whole seconds, so one window's resets agree to within a second.
        let tolerance = Duration::from_secs(1);
        if reset_at <= self.left_behind + tolerance {
            // An answer from a window already left (it was on its way): nothing new in it.
            return;
        }
        if reset_at > self.last_reset + tolerance {
            // Miro moved on to a new window. Each reset is late by less than a second, so a step
            // plus a second is never shorter than the window: the shortest such is the estimate.
            self.window = self.window.min(reset_at - self.last_reset + tolerance);
            self.learned = true;
            self.last_remaining = remaining;
        }
        self.last_reset = reset_at;
        self.last_remaining = self.last_remaining.min(remaining);
        self.limit = limit;
        let same = reset_at.max(self.reset_at) - reset_at.min(self.reset_at) <= tolerance;
        if same {
            // Miro does not count yet what is still on its way: keep the lower of the two. Every
            // answer's reset is the true one or up to a second later: the earliest is the closest.
            self.remaining = self.remaining.min(remaining);
            self.reset_at = self.reset_at.min(reset_at);
        } else {
            // Our idea of the window was wrong (never seen, or rolled on by guess): Miro's wins,
            // less what is on its way to it, and the plan starts again from now.
            if reset_at > self.reset_at {
                self.left_behind = self.reset_at;
            }
            self.reset_at = reset_at;
            self.remaining = remaining.saturating_sub(self.pending_from(reset_at));
            self.next_free = self.next_free.min(now);
        }
    }
}

/// One reserved request: it is answered when Miro's headers are read, or when the ticket is
/// dropped. Dropped before `sending` (the request was never sent: its RPC was cancelled, or the
/// wait would outlast it), its credits go back to the window.
pub(crate) struct Ticket<'a> {
    budget: &'a Budget,
    id: Option<u64>,
    sent: bool,
    /// Reserved in a window whose length is still a guess: sleep the wait, then reserve again.
    pub(crate) provisional: bool,
}

impl Ticket<'_> {
    /// How much longer to wait for its turn (an urgent request may have taken it); zero when it
    /// is here, and from then on it stays.
    pub(crate) fn due(&self) -> Duration {
        self.id
            .map_or(Duration::ZERO, |id| self.budget.due(id, Instant::now()))
    }

    /// The request is about to leave: from now on, its credits count as spent.
    pub(crate) fn sending(&mut self) {
        self.sent = true;
    }

    pub(crate) fn observe(&mut self, limit: u64, remaining: u64, reset_in: Duration) {
        self.budget
            .observe(self.id.take(), limit, remaining, reset_in, Instant::now());
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        match self.id {
            Some(id) if self.sent => self.budget.answered(id),
            Some(id) => self.budget.refund(id),
            None => {}
        }
    }
}

/// The process's budget; share it (`Arc`) between the REST and SCIM clients.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    rest: Mutex<Option<Rest>>,
    scim: Mutex<Scim>,
}

impl Budget {
    /// Reserve a slot for one request: how long to wait before sending it, and its ticket, to hold
    /// until the answer. A REST request that could not start before `deadline` reserves nothing,
    /// and learns how long it would have waited.
    pub(crate) fn ticket(
        &self,
        claim: Claim,
        now: Instant,
        deadline: Option<Instant>,
    ) -> Result<(Duration, Ticket<'_>), Duration> {
        let (start, id, provisional) = match claim {
            Claim::Rest(cost) | Claim::Urgent(cost) => match self.rest().as_mut() {
                Some(rest) => {
                    let plan = rest.plan();
                    let urgent = matches!(claim, Claim::Urgent(_));
                    let (start, id) = match urgent {
                        true => rest.reserve_urgent(cost, now),
                        false => rest.reserve(cost, now),
                    };
                    // Past the reset Miro named, windows are our guess until one was measured:
                    // wait only until Miro can say, then reserve again.
                    let known = rest.last_reset.max(now) + SETTLE + RECHECK;
                    let guessed = !rest.learned && start > known;
                    let start = if guessed { known } else { start };
                    if deadline.is_some_and(|d| start > d) {
                        // Never made: the requests after it do not queue behind it.
                        rest.forget(id);
                        rest.restore(plan);
                        return Err(start - now);
                    }
                    if !urgent && !guessed && start > now {
                        rest.movable.insert(id, deadline);
                    }
                    (start, Some(id), guessed)
                }
                // Nothing known yet: the first answers will tell.
                None => (now, None, false),
            },
            Claim::Scim(endpoint) => (
                self.scim
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .reserve(endpoint, now),
                None,
                false,
            ),
        };
        Ok((
            start.saturating_duration_since(now),
            Ticket {
                budget: self,
                id,
                sent: false,
                provisional,
            },
        ))
    }

    /// A reservation never sent: its credits go back.
    fn refund(&self, id: u64) {
        if let Some(r) = self.rest().as_mut() {
            r.give_back(id, Instant::now());
        }
    }

    fn rest(&self) -> std::sync::MutexGuard<'_, Option<Rest>> {
        self.rest.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A REST request was sent, and answered without headers or not at all.
    fn answered(&self, id: u64) {
        if let Some(r) = self.rest().as_mut() {
            r.forget(id);
        }
    }

    /// How much longer a reservation waits (its turn may have moved), or zero: it goes now, and
    /// its turn no longer moves.
    fn due(&self, id: u64, now: Instant) -> Duration {
        self.rest()
            .as_mut()
            .map_or(Duration::ZERO, |r| r.due(id, now))
    }

    /// What a REST answer said: the window's limit, what is left, and how long until it resets.
    fn observe(
        &self,
        id: Option<u64>,
        limit: u64,
        remaining: u64,
        reset_in: Duration,
        now: Instant,
    ) {
        let reset_at = now + reset_in;
        let mut rest = self.rest();
        match rest.as_mut() {
            Some(r) => {
                if let Some(id) = id {
                    r.forget(id);
                }
                r.observe(limit, remaining, reset_at, now);
            }
            None => {
                *rest = Some(Rest {
                    limit,
                    remaining,
                    reset_at,
                    window: DEFAULT_WINDOW,
                    next_free: now,
                    last_reset: reset_at,
                    last_remaining: remaining,
                    pending: HashMap::new(),
                    movable: HashMap::new(),
                    next_ticket: 0,
                    left_behind: now,
                    learned: false,
                })
            }
        }
    }

    /// Miro's REST rate in credits a second, once an answer has said.
    pub(crate) fn rest_rate(&self) -> Option<f64> {
        self.rest()
            .as_ref()
            .map(|r| r.limit as f64 / r.window.as_secs_f64().max(1.0))
    }

    /// The REST budget as this process sees it now.
    pub(crate) fn snapshot(&self, now: Instant) -> Option<BudgetSnapshot> {
        let rest = self.rest.lock().unwrap_or_else(|e| e.into_inner());
        rest.as_ref().map(|r| BudgetSnapshot {
            limit: r.limit,
            remaining: r.remaining,
            reset_at: Some(
                std::time::SystemTime::now() + r.reset_at.saturating_duration_since(now),
            ),
        })
    }
}

#[cfg(test)]
mod tests;
