//! What content access costs: for each mode, a full sync (the `sync` command, 16 workers) of a
//! generated organization under Miro's real budget with a simulated latency, its Miro requests and
//! credits against the computed minimum (the organization's own accounts, teams and groups plus its
//! boards and Spaces, `sim::content_minimum`), and its wall time against the budget's floor. The
//! mode's cost is what it adds to the `off` sync: the bench prints the added wall time beside the
//! time the added credits take at Miro's rate.
//!
//! `cargo bench --bench content` (100,000 members, 2,000 teams, modes off and sharing, 100 ms a
//! request: about an hour). Knobs: BENCH_MEMBERS, BENCH_TEAMS, BENCH_LATENCY_MS, BENCH_WORKERS,
//! BENCH_MODES (comma-separated: off, sharing, members, classification: sharing with each board's
//! label), BENCH_OUT (default target/bench-content.json).
// Test code: a failed unwrap is a failed test, and nothing here is a public API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]
use miro_connector::sim::{self, ContentParts, FaultConfig, FaultRule, SimConfig, content_minimum};
use serde_json::json;

mod common;
// Shared with the sync bench, which uses all of them; this one uses a part.
#[allow(dead_code)]
mod cost;
#[allow(dead_code)]
mod walk;
use walk::{Walk, by_endpoint, sync_run};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Credits a minute of Miro's REST budget.
const RATE: f64 = 100_000.0;

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let members = env_num("BENCH_MEMBERS", 100_000) as usize;
    let teams = env_num("BENCH_TEAMS", 2_000) as usize;
    let latency = env_num("BENCH_LATENCY_MS", 100);
    let workers = env_num("BENCH_WORKERS", 16) as usize;
    let modes = std::env::var("BENCH_MODES").unwrap_or_else(|_| "off,sharing".into());
    let org = sim::data::generate(42, members, teams);

    // The shape of the content, as the README states it.
    let mut per_team: Vec<usize> = org
        .teams
        .keys()
        .map(|t| org.boards.values().filter(|b| &b.team_id == t).count())
        .collect();
    per_team.sort_unstable();
    let board_members: usize = org.boards.values().map(|b| b.members.len()).sum();
    let shared: usize = org.boards.values().filter(|b| !b.groups.is_empty()).count();
    let linked = org
        .boards
        .values()
        .filter(|b| b.sharing.access != "private")
        .count();
    println!(
        "organization: {members} members, {teams} teams, {} boards (per team: median {}, max {}), {:.2} members a board, {shared} shared with groups, {linked} open by link, {} labelled, {} Spaces",
        org.boards.len(),
        per_team[per_team.len() / 2],
        per_team.last().copied().unwrap_or(0),
        board_members as f64 / org.boards.len().max(1) as f64,
        org.boards
            .values()
            .filter(|b| b.classification.is_some())
            .count(),
        org.projects.len()
    );

    let mut cfg = SimConfig::new(org.clone());
    cfg.faults = FaultConfig {
        seed: 1,
        rules: vec![FaultRule {
            latency_ms: latency,
            ..Default::default()
        }],
    };
    let base = cost::minimum(&org);
    let base_requests: u64 = base.values().sum();
    let base_credits: u64 = base.iter().map(|(e, n)| cost::credits(e) * n).sum();
    println!(
        "| mode | requests | computed minimum | ratio | credits | minimum credits | wall | budget floor | wall ÷ floor | 429s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut figures = Vec::new();
    let mut off_wall = None;
    for mode in modes.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        // `classification` is `sharing` with each board's label.
        let (content, args): (Option<ContentParts>, &[&str]) = match mode {
            "off" => (None, &["--content", "off"]),
            "sharing" => (Some(ContentParts::default()), &["--content", "sharing"]),
            "members" => (
                Some(ContentParts {
                    members: true,
                    ..Default::default()
                }),
                &["--content", "members"],
            ),
            "classification" => (
                Some(ContentParts {
                    classification: true,
                    ..Default::default()
                }),
                &["--content", "sharing", "--content-classification"],
            ),
            other => panic!("unknown mode {other}"),
        };
        let extra = content_minimum(&org, content.unwrap_or_default(), &|_| true);
        let (min_requests, min_credits) = match content {
            None => (base_requests, base_credits),
            Some(_) => (
                base_requests + extra.requests(),
                base_credits + extra.credits(),
            ),
        };
        let (run, _) = sync_run(cfg.clone(), Walk::Command { workers }, args).await;
        let s = &run.stats;
        let ratio = s.requests as f64 / min_requests as f64;
        let floor = s.credits as f64 / RATE * 60.0;
        let wall = run.wall.as_secs_f64();
        println!(
            "| {mode} | {} | {min_requests} | {ratio:.4} | {} | {min_credits} | {wall:.1} s | {floor:.1} s | {:.3}× | {} |",
            s.requests,
            s.credits,
            wall / floor,
            s.rate_limited
        );
        println!(
            "\n  where the time went ({mode}):\n{}\n  {}",
            common::timeline(s, run.started, wall, RATE / 60.0),
            run.readahead
        );
        if content.is_some() {
            assert!(
                ratio <= 1.05,
                "{mode}: {ratio:.4}× the computed minimum of requests"
            );
        }
        let added = off_wall.map(|off: f64| {
            let added_credits = s.credits.saturating_sub(base_credits) as f64;
            (wall - off, added_credits / RATE * 60.0)
        });
        if let Some((added_wall, added_floor)) = added {
            println!(
                "  {mode} adds {added_wall:.1} s to the off sync; its added credits take {added_floor:.1} s of Miro's budget ({:.3}×)",
                added_wall / added_floor.max(f64::EPSILON)
            );
        }
        if content.is_none() {
            off_wall = Some(wall);
        }
        figures.push(json!({
            "mode": mode, "requests": s.requests, "minimum_requests": min_requests,
            "credits": s.credits, "minimum_credits": min_credits, "wall_s": wall,
            "budget_floor_s": floor, "rate_limited": s.rate_limited,
            "added_wall_s": added.map(|a| a.0), "added_floor_s": added.map(|a| a.1),
            "daemon_peak_rss_mib": run.rss_mib, "endpoints": by_endpoint(s),
        }));
    }
    let out = std::env::var("BENCH_OUT").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-content.json").into()
    });
    let report = json!({
        "members": members, "teams": teams, "latency_ms": latency, "workers": workers,
        "boards": org.boards.len(), "spaces": org.projects.len(), "figures": figures,
    });
    std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!("figures written to {out}");
}
