//! What a full sync costs: Miro requests and credits against the computed minimum, wall time with a
//! simulated Miro latency under Miro's real budget, the connector's CPU time and peak RSS, gRPC
//! overhead per page; then a sync squeezed by a small budget. The connector runs as its own process
//! (the release binary) so its CPU and memory are its own.
//!
//! Then the same organization walked by the `sync` command with 16 workers (wall time against the
//! budget's floor, the command's own peak RSS).
//!
//! `cargo bench --bench sync` (100,000 members, 2,000 teams, 100 ms a request: about 25 minutes).
//! Sizes and knobs: BENCH_MEMBERS, BENCH_TEAMS, BENCH_LATENCY_MS, BENCH_WORKERS, BENCH_GROUPS (0: none), BENCH_SQUEEZE_MEMBERS,
//! BENCH_SQUEEZE_TEAMS, BENCH_OUT (default target/bench-sync.json).
// Test code: a failed unwrap is a failed test, and nothing here is a public API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]
use std::time::{Duration, Instant};

use miro_connector::sim::{self, FaultConfig, FaultRule, SimConfig};
use serde_json::{Value, json};

mod common;
mod cost;
mod walk;
use cost::{credits, is_group_endpoint, minimum};
use walk::{Walk, by_endpoint, sync_run};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benches; nothing to list here.
    }
    let members = env_num("BENCH_MEMBERS", 100_000) as usize;
    let teams = env_num("BENCH_TEAMS", 2_000) as usize;
    let latency = env_num("BENCH_LATENCY_MS", 100);

    // The simulator itself: generating the organization and serving its pages.
    let t = Instant::now();
    let mut org = sim::data::generate(42, members, teams);
    // BENCH_GROUPS=0: the organization as it was before user groups, to compare with older figures.
    if env_num("BENCH_GROUPS", 1) == 0 {
        org.groups.clear();
    }
    let generate_s = t.elapsed().as_secs_f64();
    let memberships = org.memberships();
    let group_memberships = org.group_memberships();
    let assignments: usize = org.groups.values().map(|g| g.teams.len()).sum();
    let assigned_teams = org
        .groups
        .values()
        .flat_map(|g| &g.teams)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    println!(
        "organization: {members} members, {teams} teams, {memberships} memberships (generated in {generate_s:.2} s)"
    );
    println!(
        "user groups:  {} groups, {group_memberships} memberships, {assignments} assignments to {assigned_teams} teams",
        org.groups.len()
    );
    let sim_pages = {
        let mut cfg = SimConfig::new(org.clone());
        cfg.rest_budget = None;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let s = sim::start(cfg, listener).await.unwrap();
        let http = reqwest::Client::new();
        let t = Instant::now();
        let mut cursor = String::new();
        let mut pages = 0u64;
        loop {
            let url = format!(
                "{}/v2/orgs/{}/members?limit=100&cursor={cursor}",
                s.api_url(),
                org.id
            );
            let v: Value = http
                .get(url)
                .bearer_auth(s.access_token())
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            pages += 1;
            match v["cursor"].as_str() {
                Some(c) if !c.is_empty() => cursor = c.to_string(),
                _ => break,
            }
        }
        let rate = pages as f64 / t.elapsed().as_secs_f64();
        s.shutdown().await;
        println!("simulator: {pages} member pages served at {rate:.0} pages/s");
        rate
    };

    // A full sync under Miro's real budget (100,000 credits a minute) with `latency` ms a request.
    let mut cfg = SimConfig::new(org.clone());
    cfg.faults = FaultConfig {
        seed: 1,
        rules: vec![FaultRule {
            latency_ms: latency,
            ..Default::default()
        }],
    };
    println!(
        "full sync: {latency} ms a Miro request, Miro's budget of 100,000 credits a minute enforced ..."
    );
    let (run, org) = sync_run(cfg.clone(), Walk::Sequential, &[]).await;
    let min = minimum(&org);
    let min_requests: u64 = min.values().sum();
    let min_credits: u64 = min.iter().map(|(e, n)| credits(e) * n).sum();
    let requests = run.stats.requests;
    let spent = run.stats.credits;
    let budget_minutes = spent as f64 / 100_000.0;
    let cpu_share = run.cpu / run.wall.as_secs_f64();

    println!();
    println!(
        "{:<50} {:>9} {:>9} {:>11}",
        "endpoint", "requests", "minimum", "credits"
    );
    for (e, s) in &run.stats.endpoints {
        println!(
            "{e:<50} {:>9} {:>9} {:>11}",
            s.requests,
            min.get(e.as_str()).copied().unwrap_or(0),
            s.credits
        );
    }
    println!(
        "{:<50} {requests:>9} {min_requests:>9} {spent:>11}",
        "total"
    );
    let pct = |a: u64, b: u64| (a as f64 / b.max(1) as f64 - 1.0) * 100.0;
    println!();
    println!(
        "requests vs minimum       {:+.2}%   (target within 5%)",
        pct(requests, min_requests)
    );
    println!(
        "credits vs minimum        {:+.2}%   (target within 5%; minimum {min_credits})",
        pct(spent, min_credits)
    );
    let group_min_requests: u64 = min
        .iter()
        .filter(|(e, _)| is_group_endpoint(e))
        .map(|(_, n)| n)
        .sum();
    let group_min_credits: u64 = min
        .iter()
        .filter(|(e, _)| is_group_endpoint(e))
        .map(|(e, n)| credits(e) * n)
        .sum();
    let (group_requests, group_credits) = run
        .stats
        .endpoints
        .iter()
        .filter(|(e, _)| is_group_endpoint(e))
        .fold((0, 0), |(r, c), (_, s)| (r + s.requests, c + s.credits));
    println!(
        "groups: requests          {group_requests} (minimum {group_min_requests}: {:+.2}%)",
        pct(group_requests, group_min_requests)
    );
    println!(
        "groups: credits           {group_credits} (minimum {group_min_credits}: {:+.2}%)",
        pct(group_credits, group_min_credits)
    );
    println!(
        "429 answers               {}       (target 0)",
        run.stats.rate_limited
    );
    println!(
        "wall time                 {:.1} s  ({latency} ms a request, budget enforced)",
        run.wall.as_secs_f64()
    );
    println!(
        "time the budget imposes   {:.1} s  ({spent} credits at 100,000 a minute)",
        budget_minutes * 60.0
    );
    println!(
        "connector CPU             {:.2} s = {:.2}% of wall (target under 5%)",
        run.cpu,
        cpu_share * 100.0
    );
    println!(
        "connector peak RSS        {:.1} MiB (target under 100 MiB)",
        run.rss_mib
    );
    println!("RPCs                      {}", run.rpcs);
    println!("{}", run.readahead);
    println!(
        "gRPC round trip, no Miro  {:.0} µs a page (ListGrants on a user)",
        run.pages_per_rpc_us.unwrap_or_default()
    );

    // The same organization, walked by the `sync` command with 16 workers, as the parallel syncer
    // walks it: the budget, not the walk, should set the pace.
    let workers = env_num("BENCH_WORKERS", 16) as usize;
    println!();
    println!(
        "parallel: `miro-connector sync --workers {workers} --format jsonl`, {latency} ms a request, Miro's budget enforced ..."
    );
    let (par, _) = sync_run(cfg, Walk::Command { workers }, &[]).await;
    let floor = par.stats.credits as f64 * 60.0 / 100_000.0;
    let par_ratio = par.wall.as_secs_f64() / floor.max(f64::EPSILON);
    println!(
        "429 answers               {}       (target 0)",
        par.stats.rate_limited
    );
    println!(
        "credits vs minimum        {:+.2}%   (target +0%)",
        pct(par.stats.credits, min_credits)
    );
    println!(
        "wall time                 {:.1} s = {par_ratio:.3}x the budget floor of {floor:.1} s (target at most 1.03x)",
        par.wall.as_secs_f64()
    );
    println!(
        "connector peak RSS        {:.1} MiB (target under 100 MiB)",
        par.rss_mib
    );
    println!(
        "sync command peak RSS     {:.1} MiB for {} records (target under 100 MiB)",
        par.command_rss_mib.unwrap_or_default(),
        par.command_records
    );

    // Squeeze: a budget far below what the sync wants; it must pace, not hit 429s.
    let sq_members = env_num("BENCH_SQUEEZE_MEMBERS", 10_000) as usize;
    let sq_teams = env_num("BENCH_SQUEEZE_TEAMS", 200) as usize;
    let window = Duration::from_secs(10);
    let budget = 10_000u64;
    let mut cfg = SimConfig::new(sim::data::generate(7, sq_members, sq_teams));
    cfg.rest_budget = Some(budget);
    cfg.rest_window = window;
    println!();
    println!(
        "squeeze: {sq_members} members, {sq_teams} teams, {budget} credits per {} s ...",
        window.as_secs()
    );
    let (sq, _) = sync_run(cfg, Walk::Sequential, &[]).await;
    // Credits spent over what the budget allows in the elapsed time (the first window is free).
    let windows = sq.wall.as_secs_f64() / window.as_secs_f64();
    let allowed = budget as f64 * windows.ceil().max(1.0);
    let throughput = sq.stats.credits as f64 / (budget as f64 * windows).max(1.0);
    println!(
        "429 answers               {}       (target 0)",
        sq.stats.rate_limited
    );
    println!(
        "credits                   {} in {:.1} s ({:.1} windows; {:.0} allowed)",
        sq.stats.credits,
        sq.wall.as_secs_f64(),
        windows,
        allowed
    );
    println!(
        "budget throughput         {:.1}%   (target at least 90%)",
        throughput * 100.0
    );

    let out = std::env::var("BENCH_OUT").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-sync.json").to_string()
    });
    let report = json!({
        "organization": {"members": members, "teams": teams, "memberships": memberships, "groups": org.groups.len(),
            "group_memberships": group_memberships, "group_assignments": assignments, "teams_with_groups": assigned_teams,
            "generate_seconds": generate_s, "simulator_member_pages_per_second": sim_pages},
        "full_sync": {
            "latency_ms_per_request": latency,
            "requests": requests, "minimum_requests": min_requests, "requests_over_minimum_pct": pct(requests, min_requests),
            "credits": spent, "minimum_credits": min_credits, "credits_over_minimum_pct": pct(spent, min_credits),
            "rate_limited": run.stats.rate_limited,
            "wall_seconds": run.wall.as_secs_f64(), "budget_imposed_seconds": budget_minutes * 60.0,
            "connector_cpu_seconds": run.cpu, "connector_cpu_share_of_wall": cpu_share, "connector_peak_rss_mib": run.rss_mib,
            "rpcs": run.rpcs, "grpc_round_trip_us_per_page": run.pages_per_rpc_us,
            "group_requests": group_requests, "group_minimum_requests": group_min_requests,
            "group_credits": group_credits, "group_minimum_credits": group_min_credits,
            "by_endpoint": by_endpoint(&run.stats), "minimum_by_endpoint": min,
        },
        "parallel": {
            "workers": workers, "credits": par.stats.credits, "credits_over_minimum_pct": pct(par.stats.credits, min_credits),
            "rate_limited": par.stats.rate_limited, "wall_seconds": par.wall.as_secs_f64(),
            "budget_floor_seconds": floor, "wall_over_floor": par_ratio,
            "connector_peak_rss_mib": par.rss_mib, "sync_command_peak_rss_mib": par.command_rss_mib,
            "sync_command_records": par.command_records, "by_endpoint": by_endpoint(&par.stats),
        },
        "squeeze": {
            "members": sq_members, "teams": sq_teams, "budget_credits": budget, "window_seconds": window.as_secs(),
            "credits": sq.stats.credits, "wall_seconds": sq.wall.as_secs_f64(), "rate_limited": sq.stats.rate_limited,
            "budget_throughput": throughput, "by_endpoint": by_endpoint(&sq.stats),
        },
    });
    if let Some(dir) = std::path::Path::new(&out).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!();
    println!("wrote {out}");
}
