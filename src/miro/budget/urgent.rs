//! Urgent requests (`Claim::Urgent`): the next page of a cursor chain, which every later page of
//! the chain waits for. An urgent request goes before those waiting for their turn, and the window's
//! credits stay what they were:
//! - when the window under way holds its credits, it starts now, and the turns after it move back
//!   by its spacing;
//! - when the budget is spent to the end of the window (the usual case once a sync keeps it busy),
//!   it swaps turns with the earliest request of the same cost still waiting for its turn. That
//!   request waits until the urgent one's turn instead (never past its own deadline), so each
//!   window is charged the same credits, only in another order.
use std::time::Duration;

use tokio::time::Instant;

use super::{GUARD, Rest};

impl Rest {
    /// Reserve an urgent request: now, else the earliest turn it can take.
    pub(super) fn reserve_urgent(&mut self, cost: u64, now: Instant) -> (Instant, u64) {
        if let Some(id) = self.at_once(cost, now) {
            return (now, id);
        }
        let (_, id) = self.reserve(cost, now);
        (self.take_turn(id, now), id)
    }

    /// Start now, if the window under way (not one that reservations ahead rolled into) holds it.
    fn at_once(&mut self, cost: u64, now: Instant) -> Option<u64> {
        let current = now < self.reset_at
            && self
                .reset_at
                .checked_sub(self.window)
                .is_none_or(|began| began <= now);
        let usable = self.remaining.saturating_sub(self.margin());
        if !current || cost > usable {
            return None;
        }
        if self.remaining - cost < self.limit / 2 {
            let from = self.next_free.max(now);
            let left = self.reset_at.saturating_duration_since(from);
            self.next_free = from + left.mul_f64(cost as f64 / usable as f64);
        }
        Some(self.book(now, cost))
    }

    /// The urgent reservation `id` takes the earliest turn of the same cost still waiting, and
    /// gives that request its own: when it starts.
    fn take_turn(&mut self, id: u64, now: Instant) -> Instant {
        let Some(&(mine, cost)) = self.pending.get(&id) else {
            return now;
        };
        let earliest = self
            .movable
            .iter()
            .filter_map(|(other, deadline)| {
                let (start, c) = *self.pending.get(other)?;
                let fits = c == cost && start > now && start < mine;
                (fits && deadline.is_none_or(|d| mine <= d)).then_some((start, *other))
            })
            .min();
        let Some((theirs, other)) = earliest else {
            return mine;
        };
        // Its turn is in the window under way: go now; the window is charged the same.
        let start = match self.in_window_of(now, theirs) {
            true => now,
            false => theirs,
        };
        self.pending.insert(other, (mine, cost));
        self.pending.insert(id, (start, cost));
        start
    }

    /// Whether `t` is in the window that holds `now`, clear of its end (`GUARD`).
    fn in_window_of(&self, now: Instant, t: Instant) -> bool {
        let end = if now < self.last_reset {
            // The window Miro last named.
            self.last_reset
        } else if self.learned {
            // Whole windows back from the last one reserved in.
            let Some(ahead) = self.reset_at.checked_duration_since(now) else {
                return false;
            };
            let after = (ahead.as_secs_f64() / self.window.as_secs_f64()).ceil() - 1.0;
            self.reset_at - self.window.mul_f64(after.max(0.0))
        } else {
            // Its end is a guess.
            return false;
        };
        t + GUARD < end
    }

    /// How much longer `id` waits; zero once its turn is here, and then its turn stays.
    pub(super) fn due(&mut self, id: u64, now: Instant) -> Duration {
        match self.pending.get(&id) {
            Some(&(start, _)) if start > now => start - now,
            _ => {
                self.movable.remove(&id);
                Duration::ZERO
            }
        }
    }
}
