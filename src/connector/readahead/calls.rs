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
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::watch;

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

#[derive(Default)]
struct State {
    in_flight: usize,
    /// Counts the periods with no RPC under way, so that a timer knows whether its is over.
    idle: u64,
}

pub(crate) struct Calls {
    state: Mutex<State>,
    off: watch::Sender<u64>,
}

impl Calls {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::default(),
            off: watch::Sender::new(0),
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
        self.state().in_flight += 1;
        Rpc {
            calls: self.clone(),
            began: *self.off.borrow(),
            done: false,
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
        let idle = {
            let mut s = self.calls.state();
            s.in_flight -= 1;
            (s.in_flight == 0).then(|| {
                s.idle += 1;
                s.idle
            })
        };
        if !self.done {
            self.calls.call_off();
            return;
        }
        if let Some(period) = idle
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let calls = self.calls.clone();
            rt.spawn(async move {
                tokio::time::sleep(IDLE).await;
                let still = {
                    let s = calls.state();
                    s.in_flight == 0 && s.idle == period
                };
                if still {
                    calls.call_off();
                }
            });
        }
    }
}
