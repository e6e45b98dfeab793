//! What the event feeds cost and how fast they read: 16 readers of the usage feed, each from 100
//! days back until caught up, beside a full sync (the `sync` command, 16 workers) of the same
//! organization, all under Miro's real budget with a simulated latency. Prints events a second,
//! credits per 1,000 events, and the sync's wall time beside the readers.
//!
//! `cargo bench --bench events`. Knobs: BENCH_MEMBERS (default 20,000), BENCH_TEAMS (200),
//! BENCH_LATENCY_MS (100), BENCH_READERS (16), BENCH_OUT (default target/bench-events.json).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]
use std::time::{Duration, Instant};

use miro_connector::{
    pb,
    sim::{self, FaultConfig, FaultRule, SimConfig},
};
use serde_json::json;

mod common;
#[allow(dead_code)]
mod walk;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One reader: the whole usage feed from 100 days back, page after page; events read.
async fn read_feed(ch: tonic::transport::Channel) -> usize {
    let mut client = pb::event_service_client::EventServiceClient::new(ch);
    let start = std::time::SystemTime::now() - Duration::from_secs(100 * 24 * 3600);
    let (mut cursor, mut read) = (String::new(), 0);
    loop {
        let page = client
            .list_events(pb::ListEventsRequest {
                event_feed_id: "miro_usage".into(),
                cursor: cursor.clone(),
                start_at: cursor.is_empty().then(|| start.into()),
                page_size: 1000,
                ..Default::default()
            })
            .await;
        let page = match page {
            Ok(p) => p.into_inner(),
            // The budget ran out before a page: the runner's task would be retried; so is this.
            Err(s) if s.code() == tonic::Code::Unavailable => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(s) => panic!("ListEvents: {s}"),
        };
        read += page.events.len();
        cursor = page.cursor;
        if !page.has_more {
            return read;
        }
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let members = env_num("BENCH_MEMBERS", 20_000) as usize;
    let teams = env_num("BENCH_TEAMS", 200) as usize;
    let latency = env_num("BENCH_LATENCY_MS", 100);
    let readers = env_num("BENCH_READERS", 16) as usize;
    let mut cfg = SimConfig::new(sim::data::generate(42, members, teams));
    cfg.faults = FaultConfig {
        rules: vec![FaultRule {
            latency_ms: latency,
            ..Default::default()
        }],
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::start(cfg, listener).await.unwrap();
    let daemon = common::Daemon::start(
        &sim,
        &["--events", "--events-lag", "0s", "--content", "sharing"],
    );
    let ch = walk::channel(&daemon.addr).await;
    sim.reset_stats();
    let t0 = Instant::now();
    let addr = daemon.addr.clone();
    let sync = tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        walk::sync_command(&addr, 16);
        t.elapsed()
    });
    let mut feeds = tokio::task::JoinSet::new();
    for _ in 0..readers {
        let ch = ch.clone();
        feeds.spawn(async move {
            let t = Instant::now();
            (read_feed(ch).await, t.elapsed())
        });
    }
    let mut per_reader = Vec::new();
    while let Some(r) = feeds.join_next().await {
        per_reader.push(r.unwrap());
    }
    let readers_done = t0.elapsed();
    let sync_wall = sync.await.unwrap();
    let stats = sim.stats();
    let audit = &stats.endpoints["GET /v2/audit/logs"];
    let events: usize = per_reader.iter().map(|r| r.0).sum();
    let slowest = per_reader.iter().map(|r| r.1).max().unwrap_or_default();
    let out = json!({
        "members": members,
        "teams": teams,
        "latency_ms": latency,
        "readers": readers,
        "events_per_reader": per_reader.first().map(|r| r.0),
        "events": events,
        "readers_wall_s": readers_done.as_secs_f64(),
        "slowest_reader_s": slowest.as_secs_f64(),
        "events_per_second": events as f64 / readers_done.as_secs_f64(),
        "audit_requests": audit.requests,
        "audit_credits": audit.credits,
        "credits_per_1000_events": audit.credits as f64 * 1000.0 / events.max(1) as f64,
        "sync_wall_s": sync_wall.as_secs_f64(),
        "credits": stats.credits,
        "rate_limited": stats.rate_limited,
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
    let path = std::env::var("BENCH_OUT")
        .unwrap_or_else(|_| format!("{}/target/bench-events.json", env!("CARGO_MANIFEST_DIR")));
    std::fs::write(path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
    daemon.stop();
    sim.shutdown().await;
}
