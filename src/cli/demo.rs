use std::fmt::Write;

use clap::Args;

use super::{Failure, say, serve, signal, simulate::OrgArgs};
use crate::{
    config::{LogFormat, Settings, SettingsArgs},
    sim::{self, SimConfig},
    telemetry,
};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the connector's gRPC server listens.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub listen: std::net::SocketAddr,
    #[command(flatten)]
    pub data: OrgArgs,
}

fn url(s: &str) -> Result<url::Url, Failure> {
    s.parse().map_err(Failure::runtime)
}

pub(super) async fn run(args: DemoArgs) -> Result<(), Failure> {
    let signals = signal::install();
    telemetry::init_logging(LogFormat::Text, "warn");
    telemetry::metrics_handle();
    let cfg = SimConfig::new(args.data.org()?);
    let (members, teams, groups, boards, spaces) = (
        cfg.org.members.len(),
        cfg.org.teams.len(),
        cfg.org.groups.len(),
        cfg.org.boards.len(),
        cfg.org.projects.len(),
    );
    // The team with the most boards, for the board listing below.
    let busiest = cfg
        .org
        .teams
        .keys()
        .max_by_key(|t| cfg.org.boards.values().filter(|b| &b.team_id == *t).count())
        .cloned()
        .unwrap_or_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(Failure::runtime)?;
    let sim = sim::start(cfg, listener).await.map_err(Failure::runtime)?;
    let settings_args = SettingsArgs {
        listen: Some(args.listen),
        miro_api_url: Some(url(&sim.api_url())?),
        miro_scim_url: Some(url(&sim.scim_url())?),
        miro_access_token: Some(sim.access_token().into()),
        miro_scim_token: Some(sim.scim_token().into()),
        provisioning: Some(true),
        content: Some(crate::connector::ContentMode::Sharing),
        content_classification: Some(true),
        events: Some(true),
        ..Default::default()
    };
    let settings = Settings::load(&settings_args, &Default::default()).map_err(Failure::usage)?;
    let daemon = serve::start(&settings).await?;
    let a = daemon.addr;
    let mut out = String::new();
    let _ = writeln!(out, "miro-connector demo");
    let _ = writeln!(
        out,
        "  Miro simulator  {} ({members} members, {teams} teams, {groups} user groups, {boards} boards, {spaces} Spaces; SCIM at {})",
        sim.api_url(),
        sim.scim_url()
    );
    let _ = writeln!(
        out,
        "  connector gRPC  {a} (plaintext, provisioning on, content access: sharing, with classification labels, event feeds on)"
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "See the whole organization as the official client syncs it:"
    );
    let _ = writeln!(
        out,
        "  miro-connector sync --connect {a} --out snapshot.jsonl"
    );
    let _ = writeln!(
        out,
        "Or through ConductorOne's own runner, into a .c1z (bridge/: go build -o baton-miro-bridge .):"
    );
    let _ = writeln!(out, "  baton-miro-bridge --connector-addr {a} -f sync.c1z");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Or single calls (grpcurl uses server reflection, no proto files needed):"
    );
    let _ = writeln!(out, "  grpcurl -plaintext {a} grpc.health.v1.Health/Check");
    let _ = writeln!(out, "  grpcurl -plaintext {a} list");
    let _ = writeln!(
        out,
        "  grpcurl -plaintext {a} c1.connector.v2.ConnectorService/Validate"
    );
    for t in ["team", "group", "user"] {
        let _ = writeln!(
            out,
            "  grpcurl -plaintext -d '{{\"resource_type_id\":\"{t}\"}}' {a} c1.connector.v2.ResourcesService/ListResources"
        );
    }
    let _ = writeln!(
        out,
        "  grpcurl -plaintext -d '{{\"resource_type_id\":\"board\",\"parent_resource_id\":{{\"resource_type\":\"team\",\"resource\":\"{busiest}\"}}}}' {a} c1.connector.v2.ResourcesService/ListResources"
    );
    let _ = writeln!(
        out,
        "  grpcurl -plaintext -d '{{\"resource_type_id\":\"board\"}}' {a} c1.connector.v2.ActionService/ListActionSchemas"
    );
    let _ = writeln!(
        out,
        "  grpcurl -plaintext -d '{{\"event_feed_id\":\"miro_usage\",\"page_size\":5}}' {a} c1.connector.v2.EventService/ListEvents"
    );
    let _ = writeln!(out, "  curl -s {}/_sim/stats", sim.api_url());
    let _ = writeln!(out);
    let _ = writeln!(out, "Serving until Ctrl-C.");
    say(&out);
    signals.first().await;
    daemon.shutdown().await;
    sim.shutdown().await;
    Ok(())
}
