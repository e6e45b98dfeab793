//! SIGTERM and SIGINT: the first starts a graceful shutdown, a second one exits at once.
use tokio::signal::unix::{Signal, SignalKind, signal};

/// Signal handlers, installed before anything is announced so an early signal is never missed.
pub(super) struct Signals(Option<(Signal, Signal)>);

pub(super) fn install() -> Signals {
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(int)) => Signals(Some((term, int))),
        _ => Signals(None),
    }
}

impl Signals {
    /// Wait for the first signal; a second one then exits the process at once.
    pub(super) async fn first(self) {
        let Some((mut term, mut int)) = self.0 else {
            // Without signal handlers there is nothing to wait for but Ctrl-C.
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
            eprintln!("miro-connector: second signal, exiting now");
            std::process::exit(130);
        });
    }
}
