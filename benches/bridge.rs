//! A full sync through ConductorOne's own runner: `baton-miro-bridge -f sync.c1z` (one-shot) in
//! front of the daemon (the release binary), against the simulator with Miro's real budget
//! (100,000 credits a minute) and a latency added to every Miro request.
//!
//! `cargo bench --bench bridge` runs the benchmark organization (100,000 members, 2,000 teams,
//! 500 user groups) at 100, 250 and 500 ms, each with `--workers 0` (baton's default: one call at a
//! time) and `--workers 16`, and prints the wall time against the budget's floor (credits ÷
//! 100,000 a minute), the 429s, and the peak RSS of the runner (parent and `_connector-service`
//! child together) and of the daemon. Knobs: BENCH_MEMBERS, BENCH_TEAMS, BENCH_LATENCIES ("100,250,500"),
//! BENCH_WORKERS ("0,16"), BATON_MIRO_BRIDGE_BIN (otherwise `go build` in bridge/). Figures also
//! go to `target/bench-bridge.json`.
// Bench code: a failed expectation is a failed run, and nothing here is a public API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]
use std::{
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use miro_connector::sim::{self, FaultConfig, FaultRule, SimConfig};
use serde_json::json;

mod common;
use common::{Daemon, timeline, usage};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn list(name: &str, default: &str) -> Vec<u64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

fn bridge_bin() -> PathBuf {
    if let Ok(b) = std::env::var("BATON_MIRO_BRIDGE_BIN") {
        return b.into();
    }
    let out = PathBuf::from(ROOT).join("target/baton-miro-bridge");
    let ok = Command::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(PathBuf::from(ROOT).join("bridge"))
        .env("CGO_ENABLED", "0")
        .status()
        .expect("run go build")
        .success();
    assert!(ok, "go build of the bridge failed");
    out
}

/// A process's children (the runner re-executes itself as `_connector-service`).
fn children(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')?
                        .1
                        .split_whitespace()
                        .nth(1)?
                        .parse()
                        .ok()
                })
                == Some(pid)
        })
        .collect()
}

struct Run {
    phases: String,
    wall: Duration,
    credits: u64,
    requests: u64,
    rate_limited: u64,
    runner_mib: f64,
    daemon_mib: f64,
}

async fn run(bridge: &PathBuf, members: usize, teams: usize, latency: u64, workers: u64) -> Run {
    let mut cfg = SimConfig::new(sim::data::generate(7, members, teams));
    cfg.faults = FaultConfig {
        seed: 1,
        rules: vec![FaultRule {
            latency_ms: latency,
            ..Default::default()
        }],
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::start(cfg, listener).await.unwrap();
    let daemon = Daemon::start(&sim, &[]);
    let dir = tempfile::tempdir().unwrap();
    let c1z = dir.path().join("sync.c1z");
    sim.reset_stats();
    let started = Instant::now();
    let started_at = std::time::SystemTime::now();
    let mut child = Command::new(bridge)
        .args([
            "--connector-addr",
            &daemon.addr,
            "--workers",
            &workers.to_string(),
        ])
        .arg("-f")
        .arg(&c1z)
        .arg("--c1z-temp-dir")
        .arg(dir.path())
        .env("BATON_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the bridge");
    // The runner's peak: its own and its children's high-water marks, summed (each only grows).
    let mut peaks = std::collections::HashMap::<u32, f64>::new();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        for p in std::iter::once(child.id()).chain(children(child.id())) {
            let hwm = usage(p).1;
            let e = peaks.entry(p).or_default();
            *e = e.max(hwm);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let wall = started.elapsed();
    assert!(status.success(), "the bridge's sync failed: {status}");
    let stats = sim.stats();
    let phases = format!(
        "{}\n  {}",
        timeline(&stats, started_at, wall.as_secs_f64(), 100_000.0 / 60.0),
        daemon.readahead()
    );
    let (_, daemon_mib) = daemon.usage();
    daemon.stop();
    sim.shutdown().await;
    Run {
        phases,
        wall,
        credits: stats.credits,
        requests: stats.requests,
        rate_limited: stats.rate_limited,
        runner_mib: peaks.values().sum(),
        daemon_mib,
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benches; nothing to list here.
    }
    let members = list("BENCH_MEMBERS", "100000")[0] as usize;
    let teams = list("BENCH_TEAMS", "2000")[0] as usize;
    let bridge = bridge_bin();
    let mut rows = Vec::new();
    println!(
        "through the bridge (one-shot): {members} members, {teams} teams, Miro's budget of 100,000 credits a minute"
    );
    println!(
        "| latency | --workers | wall | budget floor | wall ÷ floor | 429s | requests | runner peak RSS | daemon peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for latency in list("BENCH_LATENCIES", "100,250,500") {
        for workers in list("BENCH_WORKERS", "0,16") {
            let r = run(&bridge, members, teams, latency, workers).await;
            let floor = r.credits as f64 / 100_000.0 * 60.0;
            println!(
                "| {latency} ms | {workers} | {:.1} s | {floor:.1} s | {:.3}× | {} | {} | {:.1} MiB | {:.1} MiB |",
                r.wall.as_secs_f64(),
                r.wall.as_secs_f64() / floor,
                r.rate_limited,
                r.requests,
                r.runner_mib,
                r.daemon_mib
            );
            println!(
                "\nwhere the time went ({latency} ms, --workers {workers}):\n{}",
                r.phases
            );
            rows.push(json!({
                "latency_ms": latency, "workers": workers, "wall_s": r.wall.as_secs_f64(),
                "floor_s": floor, "credits": r.credits, "requests": r.requests,
                "rate_limited": r.rate_limited, "runner_peak_rss_mib": r.runner_mib,
                "daemon_peak_rss_mib": r.daemon_mib,
            }));
        }
    }
    let report = json!({"members": members, "teams": teams, "runs": rows});
    let path = PathBuf::from(ROOT).join("target/bench-bridge.json");
    let _ = std::fs::write(path, serde_json::to_vec_pretty(&report).unwrap());
}
