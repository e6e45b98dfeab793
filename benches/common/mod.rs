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
}

impl Daemon {
    /// `extra`: settings of its own (`--content sharing`, say).
    pub fn start(sim: &SimHandle, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_miro-connector"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--log-level",
                "warn,miro_connector::server=info",
            ])
            .args([
                "--miro-api-url",
                &sim.api_url(),
                "--miro-scim-url",
                &sim.scim_url(),
                "--rpc-timeout",
                "600s",
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
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, addr }
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
