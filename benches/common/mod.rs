//! What the benches share: the connector as its own process, and what /proc says of a process.
use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

use miro_connector::sim::SimHandle;

/// The release binary serving against a simulator, on a free port, until `stop`.
pub struct Daemon {
    child: Child,
    pub addr: String,
    /// Its metrics listener (`/metrics`, `/runtime`).
    metrics: String,
}

impl Daemon {
    /// `extra`: settings of its own (`--content sharing`, say).
    ///
    /// `BENCH_DAEMON_LOG` (a log level, `debug` say) keeps the daemon's JSON log in
    /// `target/bench-daemon.log`, to trace a run.
    pub fn start(sim: &SimHandle, extra: &[&str]) -> Self {
        let metrics = free_addr();
        let kept = std::env::var("BENCH_DAEMON_LOG").ok();
        let log_level = match &kept {
            Some(level) => format!("warn,miro_connector::server=info,miro_connector={level}"),
            None => "warn,miro_connector::server=info".into(),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_miro-connector"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--log-level",
                &log_level,
            ])
            .args([
                "--miro-api-url",
                &sim.api_url(),
                "--miro-scim-url",
                &sim.scim_url(),
                "--rpc-timeout",
                "600s",
                "--metrics-listen",
                &metrics,
            ])
            .args(extra)
            .env("MIRO_ACCESS_TOKEN", sim.access_token())
            .env("MIRO_SCIM_TOKEN", sim.scim_token())
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the connector");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines.next().expect("the connector exited").expect("read");
            if let Some(i) = line.find("\"addr\":\"") {
                let rest = &line[i + 8..];
                break rest[..rest.find('"').unwrap_or(0)].to_string();
            }
        };
        let mut log = kept.and_then(|_| {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-daemon.log");
            std::fs::File::create(path).ok()
        });
        std::thread::spawn(move || {
            use std::io::Write;
            for line in lines.map_while(Result::ok) {
                if let Some(f) = log.as_mut() {
                    let _ = writeln!(f, "{line}");
                }
            }
        });
        Self {
            child,
            addr,
            metrics,
        }
    }

    /// What read-ahead did, from the daemon's counters: started, served and thrown away (by
    /// reason). Whatever was started and neither served nor in flight at the end cost credits
    /// the walk did not use.
    #[allow(dead_code)] // Not every bench prints it.
    pub fn readahead(&self) -> String {
        let text = http_get(&self.metrics, "/metrics");
        let mut parts = Vec::new();
        for line in text.lines().filter(|l| l.starts_with("miro_readahead_")) {
            let Some((name, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let name = name
                .trim_start_matches("miro_readahead_")
                .replace("_total", "");
            parts.push(format!("{name} {value}"));
        }
        parts.sort();
        if parts.is_empty() {
            "read-ahead: nothing started".into()
        } else {
            format!("read-ahead: {}", parts.join(", "))
        }
    }

    /// CPU seconds (user + system) and peak RSS in MiB, from /proc.
    pub fn usage(&self) -> (f64, f64) {
        usage(self.child.id())
    }

    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// A loopback address nothing listens on (yet).
pub fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").to_string()
}

/// The body of a plain HTTP/1.1 GET over loopback.
pub fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// CPU seconds (user + system) and peak RSS in MiB of a running process, from /proc.
pub fn usage(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm_kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    (ticks / 100.0, hwm_kb / 1024.0)
}

/// The walk's phases as the simulator saw them: per family of endpoints, when its first and last
/// requests arrived (seconds from `started`), the wall time between, and the time its credits take
/// at `rate` credits a second; then what the client spent after the last Miro request.
#[allow(dead_code)] // Not every bench prints one.
pub fn timeline(
    stats: &miro_connector::sim::Stats,
    started: std::time::SystemTime,
    wall: f64,
    rate: f64,
) -> String {
    type InPhase = fn(&str) -> bool;
    let phases: [(&str, InPhase); 6] = [
        ("member listing (REST and SCIM names)", |e| {
            e == "GET /v2/orgs/{org_id}/members" || e == "GET /Users"
        }),
        ("team and group listings", |e| {
            e == "GET /v2/orgs/{org_id}/teams" || e == "GET /v2/orgs/{org_id}/groups"
        }),
        ("team grants", |e| e.ends_with("/teams/{team_id}/members")),
        ("group grants", |e| {
            e.contains("/groups/{group_id}/") && !e.contains("boards") && !e.contains("projects")
        }),
        ("content", |e| {
            e.contains("boards") || e.contains("projects") || e.contains("classification")
        }),
        ("validate and the rest", |_| true),
    ];
    let t0 = started
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let secs = |ms: u64| ms.saturating_sub(t0) as f64 / 1000.0;
    let mut taken = std::collections::HashSet::new();
    let mut out = String::from(
        "| phase | first request | last request | wall | credits | budget time |\n|---|---|---|---|---|---|\n",
    );
    let mut last_any = 0;
    for (name, in_phase) in phases {
        let (mut first, mut last, mut credits) = (u64::MAX, 0, 0);
        for (e, s) in &stats.endpoints {
            if taken.contains(e) || !in_phase(e) {
                continue;
            }
            taken.insert(e.clone());
            first = first.min(s.first_ms);
            last = last.max(s.last_ms);
            credits += s.credits;
        }
        if first == u64::MAX {
            continue;
        }
        last_any = last_any.max(last);
        out.push_str(&format!(
            "| {name} | {:.1} s | {:.1} s | {:.1} s | {credits} | {:.1} s |\n",
            secs(first),
            secs(last),
            secs(last) - secs(first),
            credits as f64 / rate
        ));
    }
    out.push_str(&format!(
        "| after the last Miro request (the client alone) | {:.1} s | {wall:.1} s | {:.1} s | 0 | 0 |\n",
        secs(last_any),
        wall - secs(last_any)
    ));
    out
}
