use std::{fmt::Write, path::PathBuf};

use clap::Args;

use super::{Failure, signal};
use crate::{
    config::LogFormat,
    sim::{self, FaultConfig, FaultRule, LastCursor, SimConfig},
    telemetry,
};

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// REST access token the simulator accepts.
    #[arg(long, default_value = "sim-access-token")]
    pub access_token: String,
    /// SCIM token the simulator accepts.
    #[arg(long, default_value = "sim-scim-token")]
    pub scim_token: String,
    #[command(flatten)]
    pub data: OrgArgs,
    /// REST credits per minute (Miro: 100000); 0 turns rate limiting off.
    #[arg(long, default_value_t = 100_000)]
    pub rest_budget: u64,
    /// Length of the REST budget window (Miro: one minute).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub rest_window: std::time::Duration,
    /// Send Retry-After on 429 answers.
    #[arg(long)]
    pub retry_after: bool,
    /// What the last page's cursor looks like.
    #[arg(long, value_enum, default_value_t = LastCursor::Omit)]
    pub last_cursor: LastCursor,
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Fault configuration (JSON, as PUT /_sim/faults takes it).
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct OrgArgs {
    /// Members to generate.
    #[arg(long, default_value_t = 250)]
    pub members: usize,
    /// Teams to generate.
    #[arg(long, default_value_t = 12)]
    pub teams: usize,
    /// Seed of the generated organization.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// An organization from a JSON fixture (the shape of GET /_sim/state) instead.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["members", "teams", "seed"])]
    pub fixture: Option<PathBuf>,
}

impl OrgArgs {
    pub fn org(&self) -> Result<sim::Org, Failure> {
        match &self.fixture {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Failure::usage(format!("--fixture {}: {e}", path.display())))?;
                serde_json::from_str(&text).map_err(|e| {
                    Failure::usage(format!(
                        "--fixture {}: not an organization: {e}",
                        path.display()
                    ))
                })
            }
            None if self.members == 0 => Err(Failure::usage("--members must be at least 1")),
            None => Ok(sim::data::generate(self.seed, self.members, self.teams)),
        }
    }
}

pub(super) async fn run(args: SimulateArgs) -> Result<(), Failure> {
    let signals = signal::install();
    telemetry::init_logging(LogFormat::Text, "info");
    let mut cfg = SimConfig::new(args.data.org()?);
    cfg.access_token = args.access_token;
    cfg.scim_token = args.scim_token;
    cfg.rest_budget = (args.rest_budget > 0).then_some(args.rest_budget);
    cfg.rest_window = args.rest_window;
    cfg.retry_after = args.retry_after;
    cfg.last_cursor = args.last_cursor;
    cfg.faults = match &args.faults {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::usage(format!("--faults {}: {e}", path.display())))?;
            serde_json::from_str(&text)
                .map_err(|e| Failure::usage(format!("--faults {}: {e}", path.display())))?
        }
        None => FaultConfig::default(),
    };
    if args.latency_ms > 0 {
        cfg.faults.rules.push(FaultRule {
            latency_ms: args.latency_ms,
            ..Default::default()
        });
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| Failure::runtime(format!("cannot listen on {}: {e}", args.listen)))?;
    let (members, teams) = (cfg.org.members.len(), cfg.org.teams.len());
    let sim = sim::start(cfg, listener).await.map_err(Failure::runtime)?;
    let mut out = String::new();
    let _ = writeln!(out, "Miro simulator: {members} members, {teams} teams");
    let _ = writeln!(
        out,
        "  REST  {}   token {}",
        sim.api_url(),
        sim.access_token()
    );
    let _ = writeln!(
        out,
        "  SCIM  {}   token {}",
        sim.scim_url(),
        sim.scim_token()
    );
    let _ = writeln!(
        out,
        "  admin {}/_sim/stats | /_sim/state | /_sim/reset | /_sim/faults",
        sim.api_url()
    );
    super::say(&out);
    signals.first().await;
    sim.shutdown().await;
    Ok(())
}
