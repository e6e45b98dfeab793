//! Whether the client is still walking. Read-ahead for a walk the client has stopped is called
//! off before it reaches Miro: a request still waiting for its turn is not sent, and its credits
//! go back to the budget. A walk has stopped when one of its RPCs is cancelled (the client went
//! away mid-call, as the runner does when a task is cancelled), or when no RPC has been under way
//! for `IDLE` (a client that stopped between calls).
//!
//! Read-ahead started by an RPC belongs to the walk as it was when that RPC began: an RPC that
//! began before a call-off (it was answering when the client went away) starts nothing, and a page
//! that arrives after one starts no page after it.
//!
//! The daemon cannot tell one client's walk from another's, so a cancelled RPC calls off all
//! read-ahead: a walk still under way then asks for those pages itself, at the cost of their
//! head start, never of a credit.
use std::{
    sync::{Arc, Mutex, Once, Weak},
    time::Duration,
};

use tokio::{sync::watch, time::Instant};

/// No RPC under way for this long: the client stopped. A sequential client's gap between two
/// calls is under a millisecond; the runner's own work between two phases can be longer, and
/// what was read ahead for the phase before is of no use to the next one. This is also the
/// window in which a client that stops between calls (nothing to cancel) may still see a
/// read-ahead whose turn on the budget came.
pub(crate) const IDLE: Duration = Duration::from_millis(250);

tokio::task_local! {
    /// The call-off epoch when the RPC running this task began.
    static BEGAN: u64;
}

/// The call-off epoch when the current RPC began (None outside an RPC).
pub(crate) fn rpc_epoch() -> Option<u64> {
    BEGAN.try_with(|e| *e).ok()
}

/// A client seen with two RPCs under way at once is taken for a parallel one for this long.
const PARALLEL: Duration = Duration::from_secs(10);

#[derive(Default)]
struct State {
    in_flight: usize,
    /// When an RPC last began while another was under way.
    parallel: Option<Instant>,
    /// Counts the periods with no RPC under way, so that the idle check knows whether the one it
    /// timed is still going on.
    idle: u64,
}

pub(crate) struct Calls {
    state: Mutex<State>,
    off: watch::Sender<u64>,
    /// A period with no RPC under way began: its number, and when.
    quiet: watch::Sender<(u64, Instant)>,
    checking: Once,
}

impl Calls {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::default(),
            off: watch::Sender::new(0),
            quiet: watch::Sender::new((0, Instant::now())),
            checking: Once::new(),
        })
    }

    /// What read-ahead started now listens to (`ratelimit::unless_called_off`).
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.off.subscribe()
    }

    pub(crate) fn call_off(&self) {
        self.off.send_modify(|n| *n += 1);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An RPC begins: run its work in `Rpc::run`, and call `Rpc::done` when it ends. Dropped
    /// before that, it was cancelled.
    pub(crate) fn rpc(self: &Arc<Self>) -> Rpc {
        self.checking.call_once(|| {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(check_idle(Arc::downgrade(self), self.quiet.subscribe()));
            }
        });
        let mut s = self.state();
        s.in_flight += 1;
        if s.in_flight > 1 {
            s.parallel = Some(Instant::now());
        }
        drop(s);
        Rpc {
            calls: self.clone(),
            began: *self.off.borrow(),
            done: false,
        }
    }

    /// Whether the client calls one at a time: no RPC began while another was under way in the
    /// last `PARALLEL`. A parallel client keeps the budget busy with its own calls, and a page
    /// read far ahead for it would only queue before the pages its workers wait for.
    pub(crate) fn one_at_a_time(&self) -> bool {
        self.state()
            .parallel
            .is_none_or(|t| t.elapsed() >= PARALLEL)
    }
}

/// One task for the daemon's life (it ends with `Calls`): each period with no RPC under way that
/// lasts `IDLE` calls read-ahead off.
async fn check_idle(calls: Weak<Calls>, mut quiet: watch::Receiver<(u64, Instant)>) {
    while quiet.changed().await.is_ok() {
        let (period, began) = *quiet.borrow_and_update();
        tokio::time::sleep_until(began + IDLE).await;
        let Some(calls) = calls.upgrade() else { return };
        let still = {
            let s = calls.state();
            s.in_flight == 0 && s.idle == period
        };
        if still {
            calls.call_off();
        }
    }
}

/// An RPC under way.
pub(crate) struct Rpc {
    calls: Arc<Calls>,
    began: u64,
    done: bool,
}

impl Rpc {
    /// The RPC's work, which read-ahead then knows as begun before or after a call-off.
    pub(crate) async fn run<F: Future>(&self, f: F) -> F::Output {
        BEGAN.scope(self.began, f).await
    }

    pub(crate) fn done(mut self) {
        self.done = true;
    }
}

impl Drop for Rpc {
    fn drop(&mut self) {
        let mut s = self.calls.state();
        s.in_flight -= 1;
        if !self.done {
            drop(s);
            self.calls.call_off();
        } else if s.in_flight == 0 {
            // Told under the lock, so that the idle check never hears of a period after a later one.
            s.idle += 1;
            self.calls.quiet.send_replace((s.idle, Instant::now()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_idle_check_serves_every_rpc_and_only_a_whole_quiet_period_calls_off() {
        let calls = Calls::new();
        let off = calls.subscribe();
        let tasks = || {
            tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks()
        };
        let before = tasks();
        for _ in 0..1_000 {
            calls.rpc().done();
        }
        assert!(tasks() <= before + 1, "{} tasks for 1,000 RPCs", tasks());
        tokio::time::sleep(IDLE / 2).await;
        assert_eq!(*off.borrow(), 0, "quiet for less than IDLE");
        tokio::time::sleep(IDLE).await;
        assert_eq!(*off.borrow(), 1, "the client stopped between calls");
        // An RPC that runs longer than IDLE, and a quiet period cut short, call nothing off.
        let long = calls.rpc();
        tokio::time::sleep(IDLE * 2).await;
        long.done();
        tokio::time::sleep(IDLE / 2).await;
        calls.rpc().done();
        tokio::time::sleep(IDLE * 3 / 5).await;
        assert_eq!(*off.borrow(), 1, "no quiet period lasted IDLE");
        tokio::time::sleep(IDLE / 2).await;
        assert_eq!(*off.borrow(), 2);
        assert_eq!(tasks(), before + 1, "still the one check");
        drop(calls);
        tokio::time::sleep(IDLE).await;
        assert_eq!(tasks(), before, "the check ends with its calls");
    }
}
