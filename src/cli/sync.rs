//! `miro-connector sync`: a full sync in the official client's order, with progress on a terminal,
//! a deterministic snapshot and a summary. JSON Lines stream to the file as records arrive; only the
//! resources stay in memory (the walk visits each), so a 100,000-member organization fits in tens
//! of megabytes.
use std::{
    collections::BTreeMap, fs::File, io::BufWriter, io::Write, path::PathBuf, time::Instant,
};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::{
    Failure,
    target::{self, ConnectArgs, rpc_failure},
};
use crate::{
    client::{self, Observer, Phase, Sink, Snapshot, WalkError},
    connector::annotations::find,
    pb, telemetry,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// One JSON document (held in memory until the sync ends).
    Json,
    /// One JSON record per line, written as the records arrive: for large organizations.
    Jsonl,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub target: ConnectArgs,
    /// Write a snapshot of resource types, resources, entitlements and grants here.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Snapshot format [default: jsonl when --out ends in .jsonl, else json]. Records come in the
    /// walk's order (resource types, resources, static entitlements, entitlements, grants; each in
    /// the connector's order, which is Miro's), the same for the same organization whatever
    /// --workers is. A resource only a grant names (a custom admin role) comes just before that
    /// grant. json holds the whole snapshot in memory; jsonl streams it.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Resources whose entitlements and grants are listed at once, as the parallel syncer does.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub workers: usize,
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
    let format = args.out.as_ref().map(|path| {
        args.format
            .unwrap_or(if path.extension().is_some_and(|e| e == "jsonl") {
                Format::Jsonl
            } else {
                Format::Json
            })
    });
    let cannot_write = |path: &PathBuf, e: &dyn std::fmt::Display| {
        Failure::runtime(format!("cannot write {}: {e}", path.display()))
    };
    // Open the file first: a path that cannot be written fails before the sync, not after it.
    let mut output = match (&args.out, format) {
        (Some(path), Some(Format::Jsonl)) => Output::Lines(BufWriter::new(
            File::create(path).map_err(|e| cannot_write(path, &e))?,
        )),
        (Some(path), Some(Format::Json)) => {
            File::create(path).map_err(|e| cannot_write(path, &e))?;
            Output::Document(Box::default())
        }
        _ => Output::Nothing,
    };
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
    let mut counted = Counting {
        inner: &mut output,
        resources: BTreeMap::new(),
        types: Vec::new(),
        entitlements: 0,
        grants: 0,
    };
    let result = client::walk(
        target.channel.clone(),
        &mut progress,
        &mut counted,
        args.workers,
    )
    .await;
    progress.bar.finish_and_clear();
    target.close().await;
    let tally = result.map_err(|e| match e {
        WalkError::Rpc(s) => rpc_failure("sync failed", s),
        WalkError::Write(e) => match &args.out {
            Some(path) => cannot_write(path, &e),
            None => Failure::runtime(e),
        },
    })?;
    let Counting {
        resources,
        types,
        entitlements,
        grants,
        ..
    } = counted;
    if let Some(path) = &args.out {
        output.finish(path).map_err(|e| cannot_write(path, &e))?;
    }
    println!("{:<14} {:>10}", "resource types", types.len());
    for t in &types {
        println!("  {:<12} {:>10}", t, resources.get(t).copied().unwrap_or(0));
    }
    println!("{:<14} {:>10}", "entitlements", entitlements);
    println!("{:<14} {:>10}", "grants", grants);
    println!("{:<14} {:>10}", "RPCs", tally.rpcs);
    println!(
        "{:<14} {:>9.1}s",
        "rate waits",
        tally.rate_limit_wait_ms as f64 / 1000.0
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

/// Where the records go: a JSON Lines file written as they come, a document kept until the end,
/// or nowhere (a summary only).
enum Output {
    Lines(BufWriter<File>),
    Document(Box<Snapshot>),
    Nothing,
}

impl Output {
    fn line(&mut self, record: Value) -> std::io::Result<()> {
        if let Output::Lines(out) = self {
            serde_json::to_writer(&mut *out, &record)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn finish(self, path: &std::path::Path) -> std::io::Result<()> {
        match self {
            Output::Lines(mut out) => out.flush(),
            Output::Document(snap) => {
                let mut out = BufWriter::new(File::create(path)?);
                let doc = json!({
                    "resource_types": snap.resource_types.iter().map(type_record).collect::<Vec<_>>(),
                    "resources": snap.resources.iter().map(resource_record).collect::<Vec<_>>(),
                    "entitlements": snap.entitlements.iter().map(entitlement_record).collect::<Vec<_>>(),
                    "grants": snap.grants.iter().map(grant_record).collect::<Vec<_>>(),
                });
                serde_json::to_writer_pretty(&mut out, &doc)?;
                out.write_all(b"\n")?;
                out.flush()
            }
            Output::Nothing => Ok(()),
        }
    }
}

impl Sink for Output {
    fn resource_type(&mut self, t: &pb::ResourceType) -> std::io::Result<()> {
        match self {
            Output::Document(s) => s.resource_type(t),
            _ => self.line(type_record(t)),
        }
    }
    fn resource(&mut self, r: &pb::Resource) -> std::io::Result<()> {
        match self {
            Output::Document(s) => s.resource(r),
            _ => self.line(resource_record(r)),
        }
    }
    fn entitlement(&mut self, e: &pb::Entitlement) -> std::io::Result<()> {
        match self {
            Output::Document(s) => s.entitlement(e),
            _ => self.line(entitlement_record(e)),
        }
    }
    fn grant(&mut self, g: &pb::Grant) -> std::io::Result<()> {
        match self {
            Output::Document(s) => s.grant(g),
            _ => self.line(grant_record(g)),
        }
    }
}

/// Counts for the summary, on the way to the output.
struct Counting<'a> {
    inner: &'a mut Output,
    types: Vec<String>,
    resources: BTreeMap<String, u64>,
    entitlements: u64,
    grants: u64,
}

impl Sink for Counting<'_> {
    fn resource_type(&mut self, t: &pb::ResourceType) -> std::io::Result<()> {
        self.types.push(t.id.clone());
        self.inner.resource_type(t)
    }
    fn resource(&mut self, r: &pb::Resource) -> std::io::Result<()> {
        let t =
            r.id.as_ref()
                .map(|i| i.resource_type.clone())
                .unwrap_or_default();
        *self.resources.entry(t).or_default() += 1;
        self.inner.resource(r)
    }
    fn entitlement(&mut self, e: &pb::Entitlement) -> std::io::Result<()> {
        self.entitlements += 1;
        self.inner.entitlement(e)
    }
    fn grant(&mut self, g: &pb::Grant) -> std::io::Result<()> {
        self.grants += 1;
        self.inner.grant(g)
    }
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

fn type_record(t: &pb::ResourceType) -> Value {
    json!({"kind": "resource_type", "id": t.id, "display_name": t.display_name})
}

fn resource_record(r: &pb::Resource) -> Value {
    let status = r.status.as_ref().map(|s| match s.status {
        1 => "enabled",
        2 => "disabled",
        3 => "deleted",
        _ => "unspecified",
    });
    let email = find::<pb::UserTrait>(&r.annotations)
        .and_then(|u| u.emails.first().map(|e| e.address.clone()));
    json!({"kind": "resource", "id": id(r.id.as_ref()), "display_name": r.display_name,
        "traits": traits(r), "status": status, "email": email})
}

fn entitlement_record(e: &pb::Entitlement) -> Value {
    json!({"kind": "entitlement", "id": e.id,
        "resource": id(e.resource.as_ref().and_then(|r| r.id.as_ref())),
        "slug": e.slug, "display_name": e.display_name})
}

fn grant_record(g: &pb::Grant) -> Value {
    json!({"kind": "grant", "id": g.id, "entitlement": g.entitlement.as_ref().map(|e| e.id.clone()),
        "principal": id(g.principal.as_ref().and_then(|p| p.id.as_ref()))})
}
