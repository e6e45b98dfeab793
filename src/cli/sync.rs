//! `miro-connector sync`: a full sync in the official client's order, with progress on a terminal,
//! a deterministic snapshot and a summary.
use std::{io::Write, path::PathBuf, time::Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::{
    Failure,
    target::{self, ConnectArgs, rpc_failure},
};
use crate::{
    client::{self, Observer, Phase, Snapshot},
    connector::annotations::find,
    pb, telemetry,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// One JSON document.
    Json,
    /// One JSON record per line, for large organizations.
    Jsonl,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub target: ConnectArgs,
    /// Write a snapshot of resource types, resources, entitlements and grants here.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Snapshot format [default: jsonl when --out ends in .jsonl, else json].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

struct Progress {
    bar: ProgressBar,
    counts: [u64; 5],
    pages: u64,
}

impl Observer for Progress {
    fn page(&mut self, phase: Phase, items: usize, waited_ms: u64) {
        self.counts[phase as usize] += items as u64;
        self.pages += 1;
        let name = match phase {
            Phase::ResourceTypes => "resource types",
            Phase::Resources => "resources",
            Phase::StaticEntitlements => "static entitlements",
            Phase::Entitlements => "entitlements",
            Phase::Grants => "grants",
        };
        self.bar.set_message(format!(
            "{name}: {}  ({} pages; rate-limit waits {:.1} s)",
            self.counts[phase as usize],
            self.pages,
            waited_ms as f64 / 1000.0
        ));
        self.bar.tick();
    }
}

pub(super) async fn run(args: SyncArgs) -> Result<(), Failure> {
    telemetry::init_client_logging();
    let started = Instant::now();
    let target = target::open(&args.target).await?;
    // ProgressBar draws only on a terminal; elsewhere it stays silent.
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut progress = Progress {
        bar,
        counts: [0; 5],
        pages: 0,
    };
    let result = client::full_sync(target.channel.clone(), &mut progress).await;
    progress.bar.finish_and_clear();
    target.close().await;
    let snap = result.map_err(|s| rpc_failure("sync failed", s))?;
    if let Some(path) = &args.out {
        let format = args
            .format
            .unwrap_or(if path.extension().is_some_and(|e| e == "jsonl") {
                Format::Jsonl
            } else {
                Format::Json
            });
        write_snapshot(&snap, path, format)
            .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display())))?;
    }
    println!("{:<14} {:>10}", "resource types", snap.resource_types.len());
    for t in &snap.resource_types {
        let n = snap
            .resources
            .iter()
            .filter(|r| r.id.as_ref().is_some_and(|i| i.resource_type == t.id))
            .count();
        println!("  {:<12} {:>10}", t.id, n);
    }
    println!("{:<14} {:>10}", "entitlements", snap.entitlements.len());
    println!("{:<14} {:>10}", "grants", snap.grants.len());
    println!("{:<14} {:>10}", "RPCs", snap.rpcs);
    println!(
        "{:<14} {:>9.1}s",
        "rate waits",
        snap.rate_limit_wait_ms as f64 / 1000.0
    );
    println!(
        "{:<14} {:>9.1}s",
        "elapsed",
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = &args.out {
        println!("snapshot       {}", path.display());
    }
    Ok(())
}

fn id(r: Option<&pb::ResourceId>) -> String {
    r.map(|i| format!("{}:{}", i.resource_type, i.resource))
        .unwrap_or_default()
}

fn traits(r: &pb::Resource) -> Vec<&'static str> {
    let mut t = Vec::new();
    if find::<pb::UserTrait>(&r.annotations).is_some() {
        t.push("user");
    }
    if find::<pb::GroupTrait>(&r.annotations).is_some() {
        t.push("group");
    }
    if find::<pb::RoleTrait>(&r.annotations).is_some() {
        t.push("role");
    }
    t
}

/// Records in a deterministic order, so two snapshots diff cleanly.
fn records(snap: &Snapshot) -> Vec<Value> {
    let mut types: Vec<Value> = snap
        .resource_types
        .iter()
        .map(|t| json!({"kind": "resource_type", "id": t.id, "display_name": t.display_name}))
        .collect();
    let mut resources: Vec<Value> = snap
        .resources
        .iter()
        .map(|r| {
            let status = r.status.as_ref().map(|s| match s.status {
                1 => "enabled",
                2 => "disabled",
                3 => "deleted",
                _ => "unspecified",
            });
            let email = find::<pb::UserTrait>(&r.annotations).and_then(|u| u.emails.first().map(|e| e.address.clone()));
            json!({"kind": "resource", "id": id(r.id.as_ref()), "display_name": r.display_name, "traits": traits(r), "status": status, "email": email})
        })
        .collect();
    let mut ents: Vec<Value> = snap
        .entitlements
        .iter()
        .map(|e| json!({"kind": "entitlement", "id": e.id, "resource": id(e.resource.as_ref().and_then(|r| r.id.as_ref())), "slug": e.slug, "display_name": e.display_name}))
        .collect();
    let mut grants: Vec<Value> = snap
        .grants
        .iter()
        .map(|g| {
            json!({"kind": "grant", "id": g.id, "entitlement": g.entitlement.as_ref().map(|e| e.id.clone()), "principal": id(g.principal.as_ref().and_then(|p| p.id.as_ref()))})
        })
        .collect();
    for list in [&mut types, &mut resources, &mut ents, &mut grants] {
        list.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    }
    types
        .into_iter()
        .chain(resources)
        .chain(ents)
        .chain(grants)
        .collect()
}

fn write_snapshot(snap: &Snapshot, path: &std::path::Path, format: Format) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let recs = records(snap);
    match format {
        Format::Jsonl => {
            for r in recs {
                serde_json::to_writer(&mut out, &r)?;
                out.write_all(b"\n")?;
            }
        }
        Format::Json => {
            let group = |k: &str| {
                recs.iter()
                    .filter(|r| r["kind"] == k)
                    .cloned()
                    .collect::<Vec<_>>()
            };
            let doc = json!({"resource_types": group("resource_type"), "resources": group("resource"), "entitlements": group("entitlement"), "grants": group("grant")});
            serde_json::to_writer_pretty(&mut out, &doc)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()
}
