//! A faithful Miro simulator (REST v2 under `/v1`, `/v2`; SCIM 2.0 under `/api/v1/scim`), written
//! from Miro's OpenAPI spec and documentation. It shares no types with `crate::miro` on purpose: a
//! misunderstanding in the adapter then shows up as a failing test.
mod answer;
pub mod audit;
mod boards;
mod classification;
mod content;
pub mod data;
mod faults;
mod group_members;
mod groups;
mod levels;
mod limits;
mod minimum;
mod projects;
mod rest;
mod scim;
pub mod state;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    middleware,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub use faults::{FaultConfig, FaultRule};
pub use limits::Stats;
pub use minimum::{ContentMinimum, ContentParts, content_minimum};
pub use state::Org;

/// What the last page of a cursor list carries: Miro documents "empty" but not whether the field
/// is sent at all, so both are simulated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LastCursor {
    #[default]
    Omit,
    Empty,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub access_token: String,
    pub scim_token: String,
    pub org: Org,
    /// Scopes reported by `/v1/oauth-token`.
    pub scopes: Vec<String>,
    /// REST credits per window (Miro: 100,000 a minute); `None` turns REST limiting off.
    pub rest_budget: Option<u64>,
    pub rest_window: Duration,
    /// Enforce SCIM's per-endpoint limits per 30 s window.
    pub scim_limits: bool,
    pub scim_window: Duration,
    /// Whether a 429 carries `Retry-After` (undocumented by Miro).
    pub retry_after: bool,
    pub last_cursor: LastCursor,
    pub faults: FaultConfig,
    /// Longest SCIM filter accepted, in clauses (Miro documents none; set it to see a refusal).
    pub scim_max_filter_clauses: Option<usize>,
    /// Seeds the audit log's sign-ins and board openings.
    pub audit_seed: u64,
    /// The names write events carry in the audit log, by kind of write (Miro publishes none; a
    /// test shuffles them to show that nothing depends on them).
    pub audit_names: Vec<String>,
}

pub const DEFAULT_SCOPES: &[&str] = &[
    "identity:read",
    "organizations:read",
    "organizations:teams:read",
    "organizations:teams:write",
    "organizations:groups:read",
    "organizations:groups:write",
    "team:read",
    "team:write",
    "boards:read",
    "boards:write",
    "projects:read",
    "projects:write",
    "auditlogs:read",
];

impl SimConfig {
    pub fn new(org: Org) -> Self {
        Self {
            access_token: "sim-access-token".into(),
            scim_token: "sim-scim-token".into(),
            org,
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            rest_budget: Some(100_000),
            rest_window: Duration::from_secs(60),
            scim_limits: true,
            scim_window: Duration::from_secs(30),
            retry_after: false,
            last_cursor: LastCursor::Omit,
            faults: FaultConfig::default(),
            scim_max_filter_clauses: None,
            audit_seed: 7,
            audit_names: audit::WRITE_EVENT_NAMES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

pub(crate) struct Shared {
    pub cfg: SimConfig,
    pub org: RwLock<Org>,
    pub limits: Mutex<limits::Limits>,
    pub stats: Mutex<Stats>,
    pub faults: Mutex<faults::FaultState>,
    pub audit: Mutex<audit::Log>,
    /// When the simulator started: its seeded audit events lie in the 90 days before.
    pub started_ms: i64,
}

pub(crate) type AppState = Arc<Shared>;

/// A running simulator; dropping it does not stop it, `shutdown` does.
pub struct SimHandle {
    pub addr: SocketAddr,
    shared: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl SimHandle {
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn scim_url(&self) -> String {
        format!("http://{}/api/v1/scim", self.addr)
    }
    pub fn access_token(&self) -> &str {
        &self.shared.cfg.access_token
    }
    pub fn scim_token(&self) -> &str {
        &self.shared.cfg.scim_token
    }
    /// The organization as it is now.
    pub fn org(&self) -> Org {
        self.shared
            .org
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    pub fn stats(&self) -> Stats {
        self.shared
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    pub fn reset_stats(&self) {
        *self.shared.stats.lock().unwrap_or_else(|e| e.into_inner()) = Stats::default();
    }
    pub fn set_faults(&self, faults: FaultConfig) {
        *self.shared.faults.lock().unwrap_or_else(|e| e.into_inner()) =
            faults::FaultState::new(faults);
    }
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Start the simulator on an already bound listener (tests bind port 0).
pub async fn start(cfg: SimConfig, listener: TcpListener) -> std::io::Result<SimHandle> {
    let addr = listener.local_addr()?;
    let started_ms = audit::now_ms();
    let shared = Arc::new(Shared {
        audit: Mutex::new(seeded_log(&cfg, started_ms)),
        started_ms,
        org: RwLock::new(cfg.org.clone()),
        limits: Mutex::new(limits::Limits::default()),
        stats: Mutex::new(Stats::default()),
        faults: Mutex::new(faults::FaultState::new(cfg.faults.clone())),
        cfg,
    });
    let app = router(shared.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(SimHandle {
        addr,
        shared,
        stop: Some(tx),
        task,
    })
}

fn router(shared: AppState) -> Router {
    let api = rest::routes()
        .merge(groups::routes())
        .merge(group_members::routes())
        .merge(boards::routes())
        .merge(classification::routes())
        .merge(projects::routes())
        .merge(audit::routes())
        .merge(Router::new().nest("/api/v1/scim", scim::routes()))
        .route_layer(middleware::from_fn_with_state(shared.clone(), limits::gate));
    let admin = Router::new()
        .route("/_sim/stats", get(stats))
        .route("/_sim/state", get(state))
        .route("/_sim/reset", post(reset))
        .route("/_sim/faults", get(get_faults).put(put_faults));
    api.merge(admin).fallback(not_found).with_state(shared)
}

async fn stats(State(s): State<AppState>) -> Json<Stats> {
    Json(s.stats.lock().unwrap_or_else(|e| e.into_inner()).clone())
}

async fn state(State(s): State<AppState>) -> Json<Org> {
    Json(s.org.read().unwrap_or_else(|e| e.into_inner()).clone())
}

fn seeded_log(cfg: &SimConfig, now: i64) -> audit::Log {
    audit::Log::seeded(&cfg.org, cfg.audit_seed, now, cfg.audit_names.clone())
}

/// Back to the organization (and audit log) the simulator started with, with zeroed counters and
/// budgets.
async fn reset(State(s): State<AppState>) -> StatusCode {
    *s.audit.lock().unwrap_or_else(|e| e.into_inner()) = seeded_log(&s.cfg, s.started_ms);
    *s.org.write().unwrap_or_else(|e| e.into_inner()) = s.cfg.org.clone();
    *s.stats.lock().unwrap_or_else(|e| e.into_inner()) = Stats::default();
    *s.limits.lock().unwrap_or_else(|e| e.into_inner()) = limits::Limits::default();
    StatusCode::NO_CONTENT
}

async fn get_faults(State(s): State<AppState>) -> Json<FaultConfig> {
    Json(
        s.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .config
            .clone(),
    )
}

async fn put_faults(State(s): State<AppState>, Json(cfg): Json<FaultConfig>) -> StatusCode {
    *s.faults.lock().unwrap_or_else(|e| e.into_inner()) = faults::FaultState::new(cfg);
    StatusCode::NO_CONTENT
}

async fn not_found() -> Response {
    answer::error(
        StatusCode::NOT_FOUND,
        "notFound",
        "The requested resource was not found",
    )
    .into_response()
}
