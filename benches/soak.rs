//! Soak: one daemon serving hundreds of full syncs back to back, the way it lives as a sidecar.
//!
//! `cargo bench --bench soak` starts the simulator (`miro-connector simulate`, 5,000 members, a
//! fault mix of 2% 5xx, 0.5% truncated bodies and 0.5% dropped connections) and the daemon
//! (`serve`, `--metrics-listen` on but never scraped) as processes, then runs `miro-connector sync
//! --connect` again and again, alternating one call at a time (`--workers 1`) and `--workers 8`.
//! After each sync it records the daemon's RSS, open file descriptors and threads (from /proc),
//! its live tokio tasks (`/runtime`, which does not render the metrics), the simulator's RSS, and
//! a hash of the sync's output, which must never change. It prints the RSS slope over the second
//! half of the run, then runs 50 syncs at once and says how close RSS comes back to its baseline.
//! `SOAK_SYNCS` (500), `SOAK_MEMBERS` (5,000), `SOAK_TEAMS` (100) and `SOAK_CONCURRENT` (50)
//! change the sizes; figures go to `target/bench-soak.json` too.
// Bench code: a failed expectation is a failed run, and nothing here is a public API.
#![allow(clippy::expect_used, clippy::panic, unreachable_pub)]
use std::{
    hash::{DefaultHasher, Hasher},
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

// Shared with the other benches; this one uses a part.
#[allow(dead_code)]
mod common;
use common::{free_addr, http_get};

const BIN: &str = env!("CARGO_BIN_EXE_miro-connector");

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A child process ended when dropped, so a failed assertion leaves nothing running.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What /proc says of a process now: RSS in MiB, open file descriptors, threads.
fn proc_figures(pid: u32) -> (f64, usize, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    (field("VmRSS:") / 1024.0, fds, field("Threads:") as usize)
}

/// Live tokio tasks, from the daemon's `/runtime` (plain HTTP/1.1 over loopback).
fn alive_tasks(metrics: &str) -> u64 {
    let json = http_get(metrics, "/runtime");
    let v: serde_json::Value = serde_json::from_str(&json).expect("/runtime answers JSON");
    v["alive_tasks"].as_u64().expect("alive_tasks")
}

fn start_sim(members: usize, teams: usize) -> (Proc, String) {
    let faults = std::env::temp_dir().join(format!("soak-faults-{}.json", std::process::id()));
    std::fs::write(
        &faults,
        r#"{"seed": 7, "rules": [{"error_rate": 0.02, "truncate_rate": 0.005, "drop_rate": 0.005}]}"#,
    )
    .expect("write the fault file");
    let addr = free_addr();
    let mut child = Command::new(BIN)
        .args(["simulate", "--listen", &addr, "--rest-budget", "0"])
        .args([
            "--members",
            &members.to_string(),
            "--teams",
            &teams.to_string(),
        ])
        .arg("--faults")
        .arg(&faults)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the simulator");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    // It prints its URLs once it listens.
    let _ = lines
        .find(|l| l.as_deref().is_ok_and(|l| l.contains("REST")))
        .expect("the simulator started");
    std::thread::spawn(move || lines.for_each(drop));
    (Proc(child), addr)
}

fn start_daemon(sim: &str) -> (Proc, String, String) {
    let (listen, metrics) = (free_addr(), free_addr());
    let child = Command::new(BIN)
        .args(["serve", "--listen", &listen, "--metrics-listen", &metrics])
        .args(["--miro-api-url", &format!("http://{sim}")])
        .args(["--miro-scim-url", &format!("http://{sim}/api/v1/scim")])
        .args(["--log-format", "json", "--log-level", "error"])
        .env("MIRO_ACCESS_TOKEN", "sim-access-token")
        .env("MIRO_SCIM_TOKEN", "sim-scim-token")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the daemon");
    (Proc(child), listen, metrics)
}

/// One full sync through the `sync` command; the hash of what it wrote.
fn sync(addr: &str, workers: usize, out: &std::path::Path) -> u64 {
    let status = Command::new(BIN)
        .args(["sync", "--connect", addr, "--format", "jsonl", "--workers"])
        .arg(workers.to_string())
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("run the sync command");
    assert!(status.success(), "a sync failed: {status}");
    let mut h = DefaultHasher::new();
    h.write(&std::fs::read(out).expect("read the sync's output"));
    h.finish()
}

/// Least-squares slope of `ys` against their index.
fn slope(ys: &[f64]) -> f64 {
    let n = ys.len() as f64;
    let mx = (n - 1.0) / 2.0;
    let my = ys.iter().sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        num += (i as f64 - mx) * (y - my);
        den += (i as f64 - mx).powi(2);
    }
    if den == 0.0 { 0.0 } else { num / den }
}

struct Sample {
    rss: f64,
    fds: usize,
    threads: usize,
    tasks: u64,
    sim_rss: f64,
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benches; nothing to list here.
    }
    let syncs = env_num("SOAK_SYNCS", 500).max(2);
    let members = env_num("SOAK_MEMBERS", 5_000);
    let teams = env_num("SOAK_TEAMS", 100);
    let concurrent = env_num("SOAK_CONCURRENT", 50);
    let (sim, sim_addr) = start_sim(members, teams);
    let (daemon, addr, metrics) = start_daemon(&sim_addr);
    let (dpid, spid) = (daemon.0.id(), sim.0.id());
    let dir = tempfile_dir();
    let out = dir.join("sync.jsonl");
    // The daemon answers once it is ready; the first sync waits for it.
    wait_for(&metrics);
    let started = Instant::now();
    let mut samples = Vec::with_capacity(syncs);
    let mut first_hash = None;
    let mut records = 0;
    for i in 0..syncs {
        let workers = if i % 2 == 0 { 1 } else { 8 };
        let hash = sync(&addr, workers, &out);
        let expected = *first_hash.get_or_insert(hash);
        assert_eq!(
            hash, expected,
            "sync {i} (workers {workers}) wrote something else"
        );
        if i == 0 {
            records = std::fs::read_to_string(&out).map_or(0, |s| s.lines().count());
        }
        // Let the connection of the command that just exited close on the daemon's side.
        std::thread::sleep(Duration::from_millis(100));
        let (rss, fds, threads) = proc_figures(dpid);
        samples.push(Sample {
            rss,
            fds,
            threads,
            tasks: alive_tasks(&metrics),
            sim_rss: proc_figures(spid).0,
        });
        if (i + 1) % 50 == 0 {
            eprintln!(
                "soak: {} syncs, {:.0} s, daemon {rss:.1} MiB, {fds} fds, {threads} threads, {} tasks",
                i + 1,
                started.elapsed().as_secs_f64(),
                samples[i].tasks
            );
        }
    }
    let wall = started.elapsed();
    let half = &samples[syncs / 2..];
    let rss: Vec<f64> = half.iter().map(|s| s.rss).collect();
    let sim_rss: Vec<f64> = half.iter().map(|s| s.sim_rss).collect();
    let per_sync = slope(&rss);
    let sim_per_sync = slope(&sim_rss);
    let first = &samples[0];
    let last = &samples[syncs - 1];
    // Idle pooled connections to Miro (at most --miro-max-concurrency) keep a task each, so the
    // baseline is what the first syncs of both kinds leave; a leak would climb past it.
    let tasks_base = samples.iter().take(4).map(|s| s.tasks).max().unwrap_or(0);
    let tasks_max = samples.iter().map(|s| s.tasks).max().unwrap_or(0);
    let tasks_over = samples.iter().filter(|s| s.tasks > tasks_base).count();

    // Then everyone at once: how far RSS climbs, and how close it comes back.
    let before = proc_figures(dpid).0;
    let peak = std::sync::Arc::new(std::sync::Mutex::new(before));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let r = proc_figures(dpid).0;
                let mut p = peak.lock().unwrap_or_else(|e| e.into_inner());
                *p = p.max(r);
                drop(p);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let conc_started = Instant::now();
    std::thread::scope(|s| {
        for i in 0..concurrent {
            let (addr, out) = (&addr, dir.join(format!("c{i}.jsonl")));
            let expected = first_hash.unwrap_or_default();
            s.spawn(move || {
                assert_eq!(sync(addr, 8, &out), expected, "concurrent sync {i}");
            });
        }
    });
    let conc_wall = conc_started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = watcher.join();
    std::thread::sleep(Duration::from_secs(2));
    let (after, after_fds, after_threads) = proc_figures(dpid);
    let after_tasks = alive_tasks(&metrics);
    let peak = *peak.lock().unwrap_or_else(|e| e.into_inner());

    println!(
        "\nsoak: {syncs} full syncs of {members} members, {teams} teams ({records} records each), \
         alternating --workers 1 and 8, faults 2% 5xx + 0.5% truncated + 0.5% dropped, \
         --metrics-listen on and never scraped; {:.0} s",
        wall.as_secs_f64()
    );
    println!("| figure | first sync | last sync |");
    println!("|---|---|---|");
    println!(
        "| daemon RSS | {:.2} MiB | {:.2} MiB |",
        first.rss, last.rss
    );
    println!("| open file descriptors | {} | {} |", first.fds, last.fds);
    println!("| threads | {} | {} |", first.threads, last.threads);
    println!("| live tokio tasks | {} | {} |", first.tasks, last.tasks);
    println!(
        "| simulator RSS | {:.2} MiB | {:.2} MiB |",
        first.sim_rss, last.sim_rss
    );
    println!(
        "daemon RSS over the last {} syncs: slope {:+.5} MiB a sync = {:+.3} MiB over them (goal < 1 MiB)",
        half.len(),
        per_sync,
        per_sync * half.len() as f64
    );
    println!(
        "simulator RSS over the same syncs: {:+.3} MiB",
        sim_per_sync * half.len() as f64
    );
    println!(
        "live tasks after each sync: baseline {tasks_base} (after the first syncs), highest {tasks_max}, \
         {tasks_over} syncs above the baseline; every output identical"
    );
    println!(
        "{concurrent} syncs at once ({:.0} s): daemon RSS {before:.1} MiB before, {peak:.1} MiB at peak, \
         {after:.1} MiB 2 s after ({:+.1} MiB); {after_fds} fds, {after_threads} threads, {after_tasks} tasks",
        conc_wall.as_secs_f64(),
        after - before
    );
    let report = serde_json::json!({
        "syncs": syncs, "members": members, "teams": teams, "records": records,
        "wall_s": wall.as_secs_f64(),
        "daemon_rss_mib": {"first": first.rss, "last": last.rss,
            "slope_second_half_mib_per_sync": per_sync,
            "growth_second_half_mib": per_sync * half.len() as f64},
        "fds": {"first": first.fds, "last": last.fds},
        "threads": {"first": first.threads, "last": last.threads},
        "tasks": {"first": first.tasks, "last": last.tasks, "baseline": tasks_base, "max": tasks_max,
            "syncs_above_baseline": tasks_over},
        "sim_rss_mib": {"first": first.sim_rss, "last": last.sim_rss,
            "growth_second_half_mib": sim_per_sync * sim_rss.len() as f64},
        "concurrent": {"syncs": concurrent, "before_mib": before, "peak_mib": peak,
            "after_mib": after, "tasks_after": after_tasks},
    });
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-soak.json");
    let _ = std::fs::write(path, serde_json::to_vec_pretty(&report).unwrap_or_default());
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("soak-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("a temp dir");
    d
}

/// Wait until the daemon's metrics listener answers (it binds with the gRPC one).
fn wait_for(metrics: &str) {
    for _ in 0..300 {
        if std::net::TcpStream::connect(metrics).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the daemon never listened on {metrics}");
}
