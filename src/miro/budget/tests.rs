//! The budget against a fake Miro, on a paused clock.
use std::sync::Arc;

use super::*;

/// Miro's side of a fixed window: it charges what arrives and says what is left.
struct FakeMiro {
    limit: u64,
    window: Duration,
    started: Instant,
    used: u64,
    overspent: u64,
    charged: u64,
    per_window: Vec<u64>,
}

impl FakeMiro {
    /// Charge a request arriving now; answer (remaining, reset in), rounded up to whole
    /// seconds as the epoch-seconds header is.
    fn charge(&mut self, cost: u64, now: Instant) -> (u64, Duration) {
        while now >= self.started + self.window {
            self.per_window.push(self.used);
            self.started += self.window;
            self.used = 0;
        }
        self.used += cost;
        self.charged += cost;
        if self.used > self.limit {
            self.overspent += 1;
        }
        let left = (self.started + self.window) - now;
        let whole = Duration::from_secs(left.as_secs() + u64::from(left.subsec_nanos() > 0));
        (self.limit.saturating_sub(self.used), whole)
    }
}

/// A fake Miro of 10,000 credits per 10 s window, and a budget that has read its first answer.
fn started() -> (Arc<Mutex<FakeMiro>>, Arc<Budget>) {
    let t0 = Instant::now();
    let miro = Arc::new(Mutex::new(FakeMiro {
        limit: 10_000,
        window: Duration::from_secs(10),
        started: t0,
        used: 0,
        overspent: 0,
        charged: 0,
        per_window: Vec::new(),
    }));
    let budget = Arc::new(Budget::default());
    let (remaining, reset_in) = miro.lock().unwrap().charge(50, t0);
    budget.observe(None, 10_000, remaining, reset_in, t0);
    (miro, budget)
}

/// 32 callers, 20 requests each, through the budget to the fake Miro; `urgent` callers claim
/// `Claim::Urgent`. What Miro saw.
async fn callers(urgent: fn(u64) -> bool) -> Arc<Mutex<FakeMiro>> {
    let (miro, budget) = started();
    let mut tasks = Vec::new();
    for caller in 0..32u64 {
        let (budget, miro) = (budget.clone(), miro.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..20u64 {
                let cost = if (caller + i) % 3 == 0 { 500 } else { 100 };
                let claim = match urgent(caller) {
                    true => Claim::Urgent(cost),
                    false => Claim::Rest(cost),
                };
                let (wait, mut ticket) = budget.ticket(claim, Instant::now(), None).unwrap();
                // As `http` waits: until its turn, which an urgent request may have moved.
                let mut wait = wait;
                while !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                    wait = ticket.due();
                }
                // The request travels 40 ms to Miro, and the answer 40 ms back.
                tokio::time::sleep(Duration::from_millis(40)).await;
                let (remaining, reset_in) = miro.lock().unwrap().charge(cost, Instant::now());
                tokio::time::sleep(Duration::from_millis(40)).await;
                ticket.observe(10_000, remaining, reset_in - Duration::from_millis(40));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    miro
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_never_overspend_a_window() {
    let miro = callers(|_| false).await;
    let m = miro.lock().unwrap();
    assert_eq!(m.overspent, 0, "a window was overspent: {:?}", m.per_window);
    // Throughput: once the window's length is learned (a few windows in), pacing uses most of
    // each window; the margin, the guard band and whole-second resets cost the rest.
    let steady = &m.per_window[5..m.per_window.len() - 1];
    assert!(!steady.is_empty());
    for used in steady {
        assert!(
            *used >= 8_500,
            "a window used only {used} of 10,000: {:?}",
            m.per_window
        );
    }
}

#[tokio::test(start_paused = true)]
async fn urgent_callers_never_overspend_a_window_either() {
    let miro = callers(|caller| caller % 4 == 0).await;
    let m = miro.lock().unwrap();
    assert_eq!(m.overspent, 0, "a window was overspent: {:?}", m.per_window);
}

#[tokio::test(start_paused = true)]
async fn an_urgent_request_goes_first_and_each_window_is_charged_the_same() {
    let now = Instant::now();
    let b = Budget::default();
    b.observe(None, 10_000, 10_000, Duration::from_secs(10), now);
    let take = |claim| b.ticket(claim, now, None).unwrap();
    let charged = |b: &Budget| {
        let r = b.rest();
        let r = r.as_ref().unwrap();
        let mut first = 0;
        for (start, cost) in r.pending.values() {
            if *start < now + Duration::from_secs(10) {
                first += cost;
            }
        }
        first
    };
    // Half the window at once, then two waiting their turn (about 2 s apart).
    let mut held: Vec<_> = (0..8).map(|_| take(Claim::Rest(1_000))).collect();
    assert!(held[7].0 > Duration::from_secs(3), "{:?}", held[7].0);
    // The window under way holds one more: an urgent one goes now, ahead of the two.
    let urgent = take(Claim::Urgent(1_000));
    assert_eq!(urgent.0, Duration::ZERO);
    assert_eq!(charged(&b), 9_000);
    // The window is spent: the next one waits for the next window...
    let next = take(Claim::Rest(1_000));
    assert!(next.0 >= Duration::from_secs(10), "{:?}", next.0);
    // ... but an urgent one takes the turn of the first still waiting, which takes its turn in
    // the next window. The first window is charged what it was.
    let (wait, _swapped) = take(Claim::Urgent(1_000));
    assert_eq!(wait, Duration::ZERO);
    assert_eq!(charged(&b), 9_000);
    let moved = held[6].1.due();
    assert!(moved >= Duration::from_secs(10), "{moved:?}");
    assert!(
        held[7].1.due() < Duration::from_secs(10),
        "only one turn moved"
    );
    // A request whose turn has come keeps it: it is no longer swapped.
    tokio::time::advance(held[7].0).await;
    assert_eq!(held[7].1.due(), Duration::ZERO);
    let (late, _) = take(Claim::Urgent(1_000));
    assert!(late > Duration::from_secs(5), "{late:?}");
    assert_eq!(held[7].1.due(), Duration::ZERO);
    held.clear();
}

#[tokio::test(start_paused = true)]
async fn requests_are_spread_not_sprinted() {
    let now = Instant::now();
    let b = Budget::default();
    b.observe(None, 10_000, 10_000, Duration::from_secs(10), now);
    // Each held until its answer: a ticket dropped unsent would give its slot back.
    let tickets: Vec<_> = (0..10)
        .map(|_| b.ticket(Claim::Rest(1_000), now, None).unwrap())
        .collect();
    let waits: Vec<Duration> = tickets.iter().map(|(w, _)| *w).collect();
    // Half the window at once; then what is left (4,900 usable of 5,000) is spread over the
    // 10 s left: one 1,000-credit request about every 2 s.
    assert!(waits[..6].iter().all(|w| w.is_zero()), "{waits:?}");
    for pair in waits[5..9].windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap > Duration::from_millis(1_800) && gap < Duration::from_millis(2_400),
            "{waits:?}"
        );
    }
    // The tenth does not fit the window's usable credits: it waits for the next window.
    assert!(waits[9] >= Duration::from_secs(10), "{waits:?}");
}

#[tokio::test(start_paused = true)]
async fn miro_saying_less_is_left_slows_us_down() {
    let now = Instant::now();
    let b = Budget::default();
    b.observe(None, 10_000, 10_000, Duration::from_secs(10), now);
    let (wait, mut first) = b.ticket(Claim::Rest(500), now, None).unwrap();
    assert_eq!(wait, Duration::ZERO);
    // Another tool of the same admin spent most of the window.
    first.observe(10_000, 550, Duration::from_secs(9));
    let wait = b.ticket(Claim::Rest(500), now, None).unwrap().0;
    assert!(wait >= Duration::from_secs(9), "{wait:?}");
}

#[tokio::test(start_paused = true)]
async fn scim_stays_under_its_per_endpoint_limit() {
    let t0 = Instant::now();
    let b = Budget::default();
    let mut starts = Vec::new();
    for _ in 0..600 {
        starts.push(t0 + b.ticket(Claim::Scim("GET /Users"), t0, None).unwrap().0);
    }
    let limit = 200;
    for (i, s) in starts.iter().enumerate() {
        let in_window = starts[i..]
            .iter()
            .take_while(|t| **t < *s + scim::SCIM_WINDOW)
            .count();
        assert!(
            in_window <= limit,
            "{in_window} requests in 30 s from request {i}"
        );
    }
    // Another endpoint has its own ledger.
    assert_eq!(
        b.ticket(Claim::Scim("DELETE /Users/{id}"), t0, None)
            .unwrap()
            .0,
        Duration::ZERO
    );
    // A few requests go at once: no waiting for a small job.
    let fresh = Budget::default();
    for _ in 0..20 {
        assert_eq!(
            fresh.ticket(Claim::Scim("GET /Users"), t0, None).unwrap().0,
            Duration::ZERO
        );
    }
}

/// Ledgers that run for months: a request's trace goes once it is answered or out of the window.
#[tokio::test(start_paused = true)]
async fn the_ledgers_keep_nothing_of_requests_long_answered() {
    let t0 = Instant::now();
    let b = Budget::default();
    b.observe(None, 100_000, 100_000, Duration::from_secs(60), t0);
    let mut now = t0;
    for i in 0..20_000u64 {
        let (wait, mut ticket) = b.ticket(Claim::Rest(50), now, None).unwrap();
        // Half are answered with headers, half fail or are cancelled (the ticket is dropped).
        if i % 2 == 0 {
            ticket.observe(100_000, 50_000, Duration::from_secs(30));
        }
        let start = b.ticket(Claim::Scim("GET /Users"), now, None).unwrap().0;
        now += wait.max(start);
    }
    assert!(b.rest().as_ref().unwrap().pending.is_empty());
    let scim = b.scim.lock().unwrap();
    assert!(scim.logged() <= 200, "{} SCIM starts kept", scim.logged());
}

#[tokio::test(start_paused = true)]
async fn a_guessed_window_holds_nothing_back_and_an_unsent_request_gives_its_credits_back() {
    let now = Instant::now();
    let b = Budget::default();
    // Miro's window ends in 2 s; how long the next one lasts is not known yet.
    b.observe(None, 1_000, 1_000, Duration::from_secs(2), now);
    let tickets: Vec<_> = (0..5)
        .map(|_| b.ticket(Claim::Rest(400), now, None).unwrap())
        .collect();
    let (wait, last) = &tickets[4];
    // The fifth fits only in the window after next, which is a guess: it waits until Miro's
    // reset (plus a moment) and asks again, not a whole guessed window.
    assert!(last.provisional);
    assert!(*wait <= Duration::from_millis(2_300), "{wait:?}");
    assert!(tickets[..4].iter().all(|(_, t)| !t.provisional));
    let left = || b.rest().as_ref().unwrap().remaining;
    let before = left();
    let mut tickets: Vec<_> = tickets.into_iter().map(|(_, t)| t).collect();
    let last = tickets.pop().unwrap();
    drop(last);
    assert_eq!(left(), before + 400, "never sent, so never spent");
    let mut sent = tickets.pop().unwrap();
    sent.sending();
    drop(sent);
    assert_eq!(left(), before + 400, "sent, answered or not: spent");
}

#[tokio::test(start_paused = true)]
async fn a_request_refused_by_its_deadline_or_never_sent_leaves_no_queue_behind() {
    let now = Instant::now();
    let b = Budget::default();
    b.observe(None, 10_000, 10_000, Duration::from_secs(10), now);
    // Half the window goes at once; from then on each request waits its turn.
    let sent: Vec<_> = (0..6)
        .map(|_| b.ticket(Claim::Rest(1_000), now, None).unwrap().1)
        .collect();
    let probe = || b.ticket(Claim::Rest(1_000), now, Some(now)).map(|(w, _)| w);
    let turn = probe().unwrap_err();
    // Not sent, every later request is answered from the same plan: nothing was left to undo.
    assert!(turn > Duration::ZERO);
    assert_eq!(probe().unwrap_err(), turn, "a refused request queued");
    // Requests that wait their turn, then are never sent (their RPC was cancelled): the queue
    // they built goes with them.
    let waiting: Vec<_> = (0..5)
        .map(|_| b.ticket(Claim::Rest(1_000), now, None).unwrap())
        .collect();
    assert!(waiting[4].0 > turn * 2, "{:?}", waiting[4].0);
    drop(waiting);
    let again = b.ticket(Claim::Rest(1_000), now, Some(now)).map(|(w, _)| w);
    assert!(
        again.is_ok_and(|w| w <= turn),
        "requests never sent still queue: {again:?}"
    );
    // One still waiting for its turn keeps its place, and what comes after queues behind it.
    let _now_sent = b.ticket(Claim::Rest(1_000), now, None).unwrap();
    let (kept, _waits) = b.ticket(Claim::Rest(1_000), now, None).unwrap();
    assert!(kept > Duration::ZERO);
    drop(b.ticket(Claim::Rest(1_000), now, None).unwrap());
    assert!(probe().unwrap_err() > kept);
    drop(sent);
}

#[tokio::test(start_paused = true)]
async fn callers_cancelled_while_waiting_never_make_a_window_overspent() {
    let (miro, budget) = started();
    let mut tasks = Vec::new();
    for caller in 0..32u64 {
        let (budget, miro) = (budget.clone(), miro.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..20u64 {
                let cost = if (caller + i) % 3 == 0 { 500 } else { 100 };
                let now = Instant::now();
                // Some may wait 5 s at most; some give up half-way through their wait.
                let deadline = (i % 4 == 0).then(|| now + Duration::from_secs(5));
                let Ok((wait, mut ticket)) = budget.ticket(Claim::Rest(cost), now, deadline) else {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    continue;
                };
                if (caller * 7 + i) % 5 == 0 && !wait.is_zero() {
                    tokio::time::sleep(wait / 2).await;
                    continue;
                }
                tokio::time::sleep(wait).await;
                ticket.sending();
                tokio::time::sleep(Duration::from_millis(40)).await;
                let (remaining, reset_in) = miro.lock().unwrap().charge(cost, Instant::now());
                tokio::time::sleep(Duration::from_millis(40)).await;
                ticket.observe(10_000, remaining, reset_in - Duration::from_millis(40));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let m = miro.lock().unwrap();
    assert_eq!(m.overspent, 0, "a window was overspent: {:?}", m.per_window);
    assert!(m.charged > 50_000, "{}", m.charged);
}
