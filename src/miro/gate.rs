//! How many requests may be in flight to Miro at once, sized by Little's law: to spend the budget,
//! the requests in flight must be its rate (credits a second ÷ what a request costs) times how long
//! one takes. A fixed bound either idles the budget when Miro is slow or sends bursts when it is
//! fast. The budget (`budget`) still decides when each request may start, to the credit, so a
//! slower Miro gets more requests waiting on it, never more requests a minute; `max` (the
//! `--miro-max-concurrency` setting) bounds them whatever Miro's latency. SCIM requests have a
//! budget of their own, so they have a lane of their own, sized the same way: a SCIM lookup for
//! each member page must not take the slots REST needs to keep its budget busy.
use std::{sync::Mutex, time::Duration};

use tokio::sync::Notify;

/// Never fewer REST requests: a first answer to learn from.
const MIN: usize = 4;
/// Never fewer SCIM requests.
const MIN_SCIM: usize = 2;
/// SCIM's reads a second: 200 a 30 s window per endpoint, Miro's SCIM table.
const SCIM_RATE: f64 = 200.0 / 30.0;
/// Above the computed need: latency varies from one request to the next.
const HEADROOM: f64 = 1.5;
/// The weight of the newest sample in the moving averages.
const ALPHA: f64 = 0.1;

#[derive(Debug)]
struct State {
    /// REST and SCIM requests in flight.
    rest: usize,
    scim: usize,
    /// Seconds a REST request takes, once sent, and what it costs in credits.
    latency: Mean,
    cost: Mean,
    /// Seconds a SCIM request takes: its own, since a SCIM page of 1,000 users takes longer
    /// than a REST page of 100, and each lane is sized by its own.
    scim_latency: Mean,
}

/// A moving average: the plain mean until there are enough samples for it, so that a first
/// answer (a connection being set up, a cheap endpoint) does not weigh for the next twenty.
#[derive(Debug, Default, Clone, Copy)]
struct Mean {
    value: Option<f64>,
    samples: u32,
}

impl Mean {
    fn add(&mut self, new: f64) {
        self.samples = (self.samples + 1).min((1.0 / ALPHA) as u32);
        let weight = ALPHA.max(1.0 / f64::from(self.samples));
        self.value = Some(self.value.map_or(new, |o| o + weight * (new - o)));
    }
}

#[derive(Debug)]
pub(crate) struct Gate {
    max: usize,
    state: Mutex<State>,
    freed: Notify,
}

/// A request in flight; its slot frees when this drops.
pub(crate) struct Slot<'a> {
    gate: &'a Gate,
    scim: bool,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut s = self.gate.lock();
        match self.scim {
            true => s.scim -= 1,
            false => s.rest -= 1,
        }
        drop(s);
        self.gate.freed.notify_waiters();
    }
}

impl Gate {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            state: Mutex::new(State {
                rest: 0,
                scim: 0,
                latency: Mean::default(),
                cost: Mean::default(),
                scim_latency: Mean::default(),
            }),
            freed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bound now, for a budget of `rate` credits a second (None: not known yet).
    #[cfg(test)]
    fn limit(&self, rate: Option<f64>) -> usize {
        let s = self.lock();
        limit_of(&s, rate, self.max)
    }

    /// Seconds a REST request takes once sent (moving average), once one has been answered.
    pub(crate) fn latency(&self) -> Option<f64> {
        self.lock().latency.value
    }

    /// Wait for a slot under the bound of its lane (REST, or SCIM) and under `max` for both.
    pub(crate) async fn enter(&self, rate: Option<f64>, scim: bool) -> Slot<'_> {
        loop {
            let freed = self.freed.notified();
            {
                let mut s = self.lock();
                let fits = match scim {
                    true => s.scim < scim_limit_of(&s, self.max),
                    false => s.rest < limit_of(&s, rate, self.max),
                };
                if fits && s.rest + s.scim < self.max {
                    match scim {
                        true => s.scim += 1,
                        false => s.rest += 1,
                    }
                    metrics::gauge!("miro_requests_in_flight").set((s.rest + s.scim) as f64);
                    return Slot { gate: self, scim };
                }
            }
            freed.await;
        }
    }

    /// A request in SCIM's lane (`scim`) or REST's was answered after `took`, for `cost` credits.
    fn record(&self, scim: bool, took: Duration, cost: u64) {
        let mut s = self.lock();
        let took = took.as_secs_f64();
        if scim {
            s.scim_latency.add(took);
            return;
        }
        s.latency.add(took);
        s.cost.add(cost as f64);
        let limit = limit_of(&s, None, self.max);
        metrics::gauge!("miro_in_flight_limit").set(limit as f64);
    }
}

impl Slot<'_> {
    /// Its request was answered after `took`; a REST request cost `cost` credits.
    pub(crate) fn record(&self, took: Duration, cost: u64) {
        self.gate.record(self.scim, took, cost);
    }
}

fn scim_limit_of(s: &State, max: usize) -> usize {
    // Until a SCIM answer came back, REST's latency is the best guess.
    match s.scim_latency.value.or(s.latency.value) {
        Some(latency) => {
            ((SCIM_RATE * latency * HEADROOM).ceil() as usize).clamp(MIN_SCIM.min(max), max)
        }
        None => max,
    }
}

fn limit_of(s: &State, rate: Option<f64>, max: usize) -> usize {
    let need = match (rate, s.latency.value, s.cost.value) {
        (Some(rate), Some(latency), Some(cost)) if cost > 0.0 => {
            (rate / cost * latency * HEADROOM).ceil() as usize
        }
        // Until the budget and a few answers are known, the upper bound: the budget paces anyway.
        _ => max,
    };
    need.clamp(MIN.min(max), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_follows_latency_and_cost_within_its_limits() {
        let g = Gate::new(32);
        let rate = Some(100_000.0 / 60.0);
        assert_eq!(g.limit(rate), 32, "nothing measured yet: the upper bound");
        for _ in 0..200 {
            g.record(false, Duration::from_millis(250), 50);
        }
        // 33 requests a second of 50 credits, 0.25 s each: 8.3 in flight, 12.5 with headroom.
        assert_eq!(g.limit(rate), 13);
        for _ in 0..200 {
            g.record(false, Duration::from_millis(500), 50);
        }
        assert_eq!(g.limit(rate), 25);
        for _ in 0..200 {
            g.record(false, Duration::from_secs(5), 50);
        }
        assert_eq!(
            g.limit(rate),
            32,
            "a slow Miro never gets more than the upper bound"
        );
        for _ in 0..200 {
            g.record(false, Duration::from_millis(1), 500);
        }
        assert_eq!(g.limit(rate), MIN, "a fast Miro still gets a few");
    }

    #[test]
    fn a_first_answer_does_not_outweigh_the_next_ones() {
        let g = Gate::new(32);
        g.record(false, Duration::from_millis(2), 50);
        for _ in 0..3 {
            g.record(false, Duration::from_millis(102), 50);
        }
        // The mean of four, where a moving average from the first would say 29 ms.
        assert!(
            (g.latency().unwrap() - 0.077).abs() < 1e-9,
            "{:?}",
            g.latency()
        );
    }

    #[tokio::test]
    async fn scim_requests_take_no_rest_slot() {
        let g = Gate::new(32);
        let rate = Some(100_000.0 / 60.0);
        for _ in 0..50 {
            g.record(false, Duration::from_millis(500), 500);
        }
        // Member pages at 0.5 s: REST needs 3.3 a second, 2.5 in flight, at least 4.
        assert_eq!(g.limit(rate), MIN);
        let scim: Vec<_> = futures::future::join_all((0..5).map(|_| g.enter(rate, true))).await;
        let rest: Vec<_> = futures::future::join_all((0..4).map(|_| g.enter(rate, false))).await;
        let more = tokio::time::timeout(Duration::from_millis(50), g.enter(rate, false)).await;
        assert!(more.is_err(), "REST's lane is full");
        let more = tokio::time::timeout(Duration::from_millis(50), g.enter(rate, true)).await;
        assert!(more.is_err(), "SCIM's too: 6.7 a second × 0.5 s × 1.5");
        drop(scim);
        let _ = g.enter(rate, true).await;
        drop(rest);
    }

    #[test]
    fn each_lane_is_sized_by_its_own_latency() {
        let g = Gate::new(32);
        let rate = Some(100_000.0 / 60.0);
        for _ in 0..50 {
            g.record(false, Duration::from_millis(250), 50);
            g.record(true, Duration::from_secs(1), 0);
        }
        // REST pages at 0.25 s: 12.5 in flight with headroom, whatever SCIM takes.
        assert_eq!(g.limit(rate), 13);
        assert_eq!(g.latency(), Some(0.25));
        // SCIM pages of 1,000 users at 1 s: 6.7 a second × 1 s × 1.5. Sized by REST's 0.25 s,
        // the lane would hold 3 and SCIM would run at 3 a second.
        assert_eq!(scim_limit_of(&g.lock(), g.max), 10);
    }

    #[tokio::test]
    async fn a_full_gate_waits_for_a_slot() {
        let g = std::sync::Arc::new(Gate::new(4));
        let slots: Vec<_> = futures::future::join_all((0..4).map(|_| g.enter(None, false))).await;
        let g2 = g.clone();
        let waiting = tokio::spawn(async move {
            let _s = g2.enter(None, false).await;
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!waiting.is_finished(), "a fifth request waits");
        drop(slots);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("it goes once a slot frees")
            .unwrap();
    }
}
