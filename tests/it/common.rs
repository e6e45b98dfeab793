use std::{collections::HashMap, sync::Arc, time::Duration};

pub use miro_connector::connector::ContentMode;
use miro_connector::{
    config::{Settings, SettingsArgs},
    pb,
    server::{self, Daemon},
    sim::{self, SimConfig, SimHandle},
};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

pub fn org(members: usize, teams: usize) -> sim::Org {
    sim::data::generate(11, members, teams)
}

pub async fn start_sim(cfg: SimConfig) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    sim::start(cfg, listener).await.unwrap()
}

pub async fn sim_with(members: usize, teams: usize) -> SimHandle {
    start_sim(SimConfig::new(org(members, teams))).await
}

/// Settings pointing at the simulator; `scim` adds the SCIM token.
pub fn settings(sim: &SimHandle, provisioning: bool, scim: bool) -> SettingsArgs {
    SettingsArgs {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        miro_api_url: Some(sim.api_url().parse().unwrap()),
        miro_scim_url: Some(sim.scim_url().parse().unwrap()),
        miro_access_token: Some(sim.access_token().into()),
        miro_scim_token: scim.then(|| sim.scim_token().into()),
        provisioning: Some(provisioning),
        miro_timeout: Some("5s".parse().unwrap()),
        shutdown_grace: Some("5s".parse().unwrap()),
        ..Default::default()
    }
}

pub async fn start_daemon(args: &SettingsArgs) -> (Daemon, Channel) {
    let s = Settings::load(args, &HashMap::new()).unwrap();
    let listener = tokio::net::TcpListener::bind(s.listen).await.unwrap();
    let d = server::start_on(
        &s,
        listener,
        Arc::new(miro_connector::cli::serve::connector(&s).unwrap()),
    )
    .await
    .unwrap();
    let ch = Channel::from_shared(format!("http://{}", d.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    (d, ch)
}

pub async fn health(ch: &Channel, service: &str) -> Result<ServingStatus, tonic::Status> {
    let r = HealthClient::new(ch.clone())
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await?;
    Ok(r.into_inner().status())
}

pub async fn wait_ready(ch: &Channel) {
    for _ in 0..200 {
        if health(ch, "").await.ok() == Some(ServingStatus::Serving) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the daemon never became ready");
}

/// A simulator and a ready daemon against it, described by what differs from the usual one
/// (300 members, 6 teams, read-only, no SCIM token, content access off):
/// `Fixture::new().members(20).provisioning().scim().start().await`.
pub struct Fixture {
    members: usize,
    teams: usize,
    provisioning: bool,
    scim: bool,
    content: Option<ContentMode>,
    events: bool,
    sim: Option<SimConfig>,
}

impl Fixture {
    pub fn new() -> Self {
        Self {
            members: 300,
            teams: 6,
            provisioning: false,
            scim: false,
            content: None,
            events: false,
            sim: None,
        }
    }

    /// Event feeds on (`--events`), read up to now (no lag).
    pub fn events(mut self) -> Self {
        self.events = true;
        self
    }

    /// A simulator of this configuration (its organization replaces `members` and `teams`).
    pub fn sim(mut self, cfg: SimConfig) -> Self {
        self.sim = Some(cfg);
        self
    }

    pub fn members(mut self, n: usize) -> Self {
        self.members = n;
        self
    }

    pub fn teams(mut self, n: usize) -> Self {
        self.teams = n;
        self
    }

    /// Writes allowed (`--provisioning`).
    pub fn provisioning(mut self) -> Self {
        self.provisioning = true;
        self
    }

    /// A SCIM token: names, roles, accounts.
    pub fn scim(mut self) -> Self {
        self.scim = true;
        self
    }

    /// Provisioning and SCIM both: every write.
    pub fn writes(self) -> Self {
        self.provisioning().scim()
    }

    pub fn content(mut self, mode: ContentMode) -> Self {
        self.content = Some(mode);
        self
    }

    pub async fn start(self) -> Harness {
        let cfg = self
            .sim
            .unwrap_or_else(|| SimConfig::new(org(self.members, self.teams)));
        let sim = start_sim(cfg).await;
        let mut args = settings(&sim, self.provisioning, self.scim);
        args.content = self.content;
        if self.events {
            args.events = Some(true);
            args.events_lag = Some("0s".parse().unwrap());
        }
        let (daemon, ch) = start_daemon(&args).await;
        wait_ready(&ch).await;
        Harness { sim, daemon, ch }
    }
}

/// A simulator, a daemon against it, and a channel to the daemon; its typed calls live beside the
/// tests that use them (`writer.rs` for the writes).
pub struct Harness {
    pub sim: SimHandle,
    pub daemon: Daemon,
    pub ch: Channel,
}

/// The daemon's Prometheus metrics, as a scraper reads them.
pub async fn scrape(daemon: &Daemon) -> String {
    let addr = daemon.metrics_addr.expect("the daemon serves metrics");
    reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub fn rid(t: &str, id: &str) -> pb::ResourceId {
    pb::ResourceId {
        resource_type: t.into(),
        resource: id.into(),
        baton_resource: false,
    }
}

pub fn res(t: &str, id: &str) -> pb::Resource {
    pb::Resource {
        id: Some(rid(t, id)),
        ..Default::default()
    }
}

/// Wait until the simulator's count of `endpoint` stops moving (read-ahead runs on its own time),
/// and return it.
pub async fn settle(sim: &SimHandle, endpoint: &str) -> u64 {
    let mut last = u64::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = sim.stats().requests_to(endpoint);
        if now == last {
            return now;
        }
        last = now;
    }
}
