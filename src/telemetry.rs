//! Logs (JSON when stdout is not a terminal) and Prometheus metrics.
use std::{
    io::IsTerminal,
    net::SocketAddr,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// Install the global subscriber; `RUST_LOG` wins over `level` when set.
pub fn init_logging(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if json {
        registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init()
    } else {
        registry.with(fmt::layer()).try_init()
    };
}

/// Commands that print their results log only when `RUST_LOG` asks, and then to stderr: their
/// outcome, or one line saying why they failed, is what a person reads.
pub fn init_client_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("off"));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .try_init();
}

/// Histogram samples wait in the Prometheus recorder until it renders or runs its upkeep. Nobody
/// may ever render it (metrics off, or never scraped), so the thread that records the
/// `DRAIN_EVERY`-th sample since the last drain drains them into the histograms' fixed buckets:
/// memory stays flat whatever the number of RPCs, with no timer and no task.
const DRAIN_EVERY: u64 = 1024;

struct Pending {
    handle: PrometheusHandle,
    samples: AtomicU64,
}

impl Pending {
    fn recorded(&self) {
        if self.samples.fetch_add(1, Ordering::Relaxed) + 1 >= DRAIN_EVERY
            && self.samples.swap(0, Ordering::Relaxed) >= DRAIN_EVERY
        {
            self.handle.run_upkeep();
        }
    }
}

/// The Prometheus recorder, with every histogram counting its samples towards the next drain.
struct Bounded {
    inner: PrometheusRecorder,
    pending: Arc<Pending>,
}

struct CountedHistogram {
    inner: Histogram,
    pending: Arc<Pending>,
}

impl HistogramFn for CountedHistogram {
    fn record(&self, value: f64) {
        self.inner.record(value);
        self.pending.recorded();
    }
}

impl Recorder for Bounded {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_counter(key, unit, description);
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_gauge(key, unit, description);
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_histogram(key, unit, description);
    }
    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.inner.register_counter(key, metadata)
    }
    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.inner.register_gauge(key, metadata)
    }
    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(CountedHistogram {
            inner: self.inner.register_histogram(key, metadata),
            pending: self.pending.clone(),
        }))
    }
}

fn bounded_recorder() -> Bounded {
    let inner = PrometheusBuilder::new()
        .set_buckets(&[
            0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
        ])
        .map(|b| b.build_recorder())
        .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
    let pending = Arc::new(Pending {
        handle: inner.handle(),
        samples: AtomicU64::new(0),
    });
    Bounded { inner, pending }
}

static PENDING: OnceLock<Arc<Pending>> = OnceLock::new();

/// Install the Prometheus recorder (once per process) and return its handle.
pub fn metrics_handle() -> PrometheusHandle {
    PENDING
        .get_or_init(|| {
            let recorder = bounded_recorder();
            let pending = recorder.pending.clone();
            let _ = metrics::set_global_recorder(recorder);
            pending
        })
        .handle
        .clone()
}

/// Histogram samples recorded since the last drain (`None` before the recorder is installed):
/// fewer than `DRAIN_EVERY` whatever the number of RPCs served.
pub fn pending_histogram_samples() -> Option<u64> {
    PENDING.get().map(|p| p.samples.load(Ordering::Relaxed))
}

/// Tasks alive on the current runtime: back to its baseline after every sync, or something leaks.
pub fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Serve `/metrics` (Prometheus) and `/runtime` (JSON) over HTTP until `shutdown` completes.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<SocketAddr> {
    let addr = listener.local_addr()?;
    let handle = metrics_handle();
    let app = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(move || async move {
                metrics::gauge!("tokio_alive_tasks").set(alive_tasks() as f64);
                handle.render()
            }),
        )
        // The process's own figures without rendering (and so draining) the recorder: what a soak
        // test reads after every sync while the metrics stay unscraped.
        .route(
            "/runtime",
            axum::routing::get(|| async {
                axum::Json(serde_json::json!({
                    "alive_tasks": alive_tasks(),
                    "pending_histogram_samples": pending_histogram_samples(),
                }))
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
    });
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without a drain every sample would wait for a render that may never come.
    #[test]
    fn an_unrendered_recorder_holds_fewer_than_drain_every_samples_and_loses_none() {
        let recorder = bounded_recorder();
        let pending = recorder.pending.clone();
        metrics::with_local_recorder(&recorder, || {
            for i in 0..100_000 {
                metrics::histogram!("h", "method" => "m").record(f64::from(i % 7) / 100.0);
            }
        });
        assert!(
            pending.samples.load(Ordering::Relaxed) < DRAIN_EVERY,
            "{} samples pending",
            pending.samples.load(Ordering::Relaxed)
        );
        let text = pending.handle.render();
        assert!(text.contains("h_count{method=\"m\"} 100000"), "{text}");
    }
}
