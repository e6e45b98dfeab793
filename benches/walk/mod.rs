//! How the sync benchmark walks a full sync: the library's walker in-process, one call at a time,
//! or the `sync` command as its own process with N workers; what each run measured.
use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use miro_connector::{
    client,
    pb::{self, grants_service_client::GrantsServiceClient},
    sim::{self, Org, SimConfig, Stats},
};
use serde_json::{Value, json};
use tonic::transport::Channel;

use super::common::{Daemon, usage};

/// How the bench walks the sync: the library's walker in-process, one call at a time, or the
/// `sync` command as its own process with N workers writing JSON Lines (its RSS is measured too).
#[derive(Clone, Copy)]
pub enum Walk {
    Sequential,
    Command { workers: usize },
}

pub async fn channel(addr: &str) -> Channel {
    let ch = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
    for _ in 0..600 {
        let r = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await;
        if r.is_ok_and(|r| r.into_inner().status == 1) {
            return ch;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the connector never became ready");
}

pub fn by_endpoint(stats: &Stats) -> Value {
    stats
        .endpoints
        .iter()
        .map(|(k, e)| {
            (
                k.clone(),
                json!({"requests": e.requests, "credits": e.credits, "by_status": e.by_status}),
            )
        })
        .collect()
}

pub struct Run {
    pub stats: Stats,
    pub wall: Duration,
    /// When the walk started, for `common::timeline`.
    #[allow(dead_code)] // Not every bench prints a timeline.
    pub started: std::time::SystemTime,
    pub cpu: f64,
    pub rss_mib: f64,
    pub rpcs: u64,
    pub pages_per_rpc_us: Option<f64>,
    /// Peak RSS of the `sync` command, when it walked.
    pub command_rss_mib: Option<f64>,
    /// Records the `sync` command wrote.
    pub command_records: u64,
    /// What read-ahead started, served and threw away (`Daemon::readahead`).
    pub readahead: String,
}

/// Run `miro-connector sync --connect addr --workers n --format jsonl`, sampling its peak RSS
/// (VmHWM only grows, so the last sample before it exits is the peak, give or take 50 ms).
pub fn sync_command(addr: &str, workers: usize) -> (f64, u64) {
    // One file per bench process: two benches at once must not delete each other's output.
    let out = format!(
        "{}/target/bench-sync-{}.jsonl",
        env!("CARGO_MANIFEST_DIR"),
        std::process::id()
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_miro-connector"))
        .args([
            "sync",
            "--connect",
            addr,
            "--format",
            "jsonl",
            "--out",
            &out,
        ])
        .args(["--workers", &workers.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the sync command");
    let mut peak = 0.0f64;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        peak = peak.max(usage(child.id()).1);
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "the sync command failed: {status}");
    let records = BufReader::new(std::fs::File::open(&out).unwrap())
        .lines()
        .count() as u64;
    let _ = std::fs::remove_file(&out);
    (peak, records)
}

/// A run; `daemon_args` are the daemon's own settings.
pub async fn sync_run(cfg: SimConfig, walk: Walk, daemon_args: &[&str]) -> (Run, Org) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::start(cfg, listener).await.unwrap();
    let daemon = Daemon::start(&sim, daemon_args);
    let ch = channel(&daemon.addr).await;
    sim.reset_stats();
    let (cpu0, _) = daemon.usage();
    let t0 = Instant::now();
    let started = std::time::SystemTime::now();
    let (snap, command) = match walk {
        Walk::Sequential => (
            Some(client::full_sync(ch.clone(), &mut ()).await.expect("sync")),
            None,
        ),
        Walk::Command { workers } => {
            let addr = daemon.addr.clone();
            let measured = tokio::task::spawn_blocking(move || sync_command(&addr, workers))
                .await
                .unwrap();
            (None, Some(measured))
        }
    };
    let wall = t0.elapsed();
    let (cpu1, rss) = daemon.usage();
    let stats = sim.stats();
    // gRPC overhead: ListGrants on users answers from the request alone (no Miro request).
    let per_rpc = match &snap {
        Some(snap) => {
            let users: Vec<&pb::Resource> = snap
                .resources
                .iter()
                .filter(|r| r.id.as_ref().is_some_and(|i| i.resource_type == "user"))
                .take(2000)
                .collect();
            let mut grants = GrantsServiceClient::new(ch);
            let t = Instant::now();
            for u in &users {
                grants
                    .list_grants(pb::GrantsServiceListGrantsRequest {
                        resource: Some((*u).clone()),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
            }
            Some(t.elapsed().as_secs_f64() * 1e6 / users.len().max(1) as f64)
        }
        None => None,
    };
    let org = sim.org();
    let readahead = daemon.readahead();
    daemon.stop();
    sim.shutdown().await;
    (
        Run {
            stats,
            wall,
            started,
            cpu: cpu1 - cpu0,
            rss_mib: rss,
            rpcs: snap.as_ref().map_or(0, |s| s.rpcs),
            pages_per_rpc_us: per_rpc,
            command_rss_mib: command.map(|c| c.0),
            command_records: command.map_or(0, |c| c.1),
            readahead,
        },
        org,
    )
}
