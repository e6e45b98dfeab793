//! The connector: c1.connector.v2 on top of the Miro adapter. It speaks the protocol and Miro's
//! domain, never HTTP. Errors are values here and become gRPC statuses in one place (`error.rs`).
mod actions;
pub mod annotations;
mod boards;
mod classification;
mod content;
mod error;
mod events;
mod grants;
mod groups;
mod holders;
mod holdings;
pub mod ids;
mod inflight;
mod kinds;
mod licenses;
mod member_listing;
mod metadata;
mod names;
mod organization;
pub mod page_token;
mod profile;
mod provisioning;
mod readahead;
mod roles;
mod service;
mod spaces;
mod teams;
pub mod unserved;
mod users;

use tokio::sync::OnceCell;

pub use error::ConnectorError;
pub use events::EventSettings;
pub use member_listing::MemberChains;

use crate::miro::{Miro, ScimClient};

/// What deprovisioning (DeleteResource on a user) does in Miro.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum DeprovisionMode {
    /// SCIM `active=false`: reversible; boards kept; license released.
    #[default]
    Deactivate,
    /// SCIM DELETE: the user leaves the organization; Miro moves their boards.
    Delete,
}

/// How much of boards and Spaces a sync reads: each mode adds to the one before, and costs more.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum ContentMode {
    /// No boards or Spaces, and no requests for them.
    #[default]
    Off,
    /// Boards and Spaces with their owners and their team, organization and user-group access.
    Sharing,
    /// Sharing, and every board's and Space's direct members.
    Members,
}

/// Which teams' boards and Spaces are read.
#[derive(Debug, Clone, Default)]
pub struct ContentScope {
    pub mode: ContentMode,
    /// Only these teams, when set.
    pub teams: Option<std::collections::BTreeSet<String>>,
    /// Never these teams.
    pub skip_teams: std::collections::BTreeSet<String>,
    /// Boards' classification labels too (one Level 2 request a board).
    pub classification: bool,
}

impl ContentScope {
    pub fn covers(&self, team: &str) -> bool {
        self.mode != ContentMode::Off
            && self.teams.as_ref().is_none_or(|t| t.contains(team))
            && !self.skip_teams.contains(team)
    }
}

#[derive(Debug, Clone)]
pub struct ConnectorSettings {
    pub provisioning: bool,
    pub deprovision: DeprovisionMode,
    pub content: ContentScope,
    /// The server's deadline for one RPC: waits on Miro's limits never outlast it.
    pub rpc_timeout: std::time::Duration,
    /// Start what a sync walk will ask for next (`readahead`).
    pub read_ahead: bool,
    /// One member chain or one per license (`member_listing`).
    pub member_chains: MemberChains,
    /// The event feeds from Miro's audit log.
    pub events: EventSettings,
}

/// Warnings said once per daemon, each by a fixed label (bounded: labels are constants). Miro
/// refusing a part of the sync is logged the first time and counted every time.
#[derive(Default)]
struct Warned(std::sync::Mutex<std::collections::HashSet<&'static str>>);

impl Warned {
    fn first(&self, what: &'static str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(what)
    }
}

pub struct Connector {
    miro: std::sync::Arc<Miro>,
    settings: ConnectorSettings,
    /// The organization's id and name.
    org: OnceCell<(String, String)>,
    names: std::sync::Arc<names::Names>,
    /// Parts of the sync Miro refused, each logged once per daemon.
    warned: Warned,
    /// Writes in flight, by the principal or name they change: writes to one principal run one
    /// after another, so of identical writes the first writes and the rest find it done.
    writes: inflight::InFlight,
    /// The last action results, for GetActionStatus.
    actions: actions::Recent,
    /// Whether the organization classifies its boards, as last read.
    classification: classification::Classification,
    /// Miro answers read ahead of a walk.
    ahead: readahead::ReadAhead,
    /// How many members the organization has, as best known.
    member_count: member_listing::SizeHint,
    /// Who holds which role and license, by the sync whose member listing was served.
    holdings: holdings::Holdings,
    /// What each id served is, for the change feed.
    directory: events::directory::Directory,
    /// Audit event names counted as naming nothing synced.
    unmapped: events::Unmapped,
    /// Ids Miro said are no user, team or group.
    absent: events::probe::Absent,
}

impl Connector {
    pub fn new(miro: Miro, settings: ConnectorSettings) -> Self {
        Self {
            miro: std::sync::Arc::new(miro),
            ahead: readahead::ReadAhead::new(settings.read_ahead),
            settings,
            org: OnceCell::new(),
            names: Default::default(),
            warned: Warned::default(),
            writes: inflight::InFlight::default(),
            actions: actions::Recent::default(),
            classification: classification::Classification::default(),
            directory: Default::default(),
            member_count: Default::default(),
            holdings: Default::default(),
            unmapped: Default::default(),
            absent: Default::default(),
        }
    }

    pub fn settings(&self) -> &ConnectorSettings {
        &self.settings
    }

    pub fn miro(&self) -> &Miro {
        &self.miro
    }

    /// The organization the token belongs to (from token info, once: it cannot change).
    pub(crate) async fn org_id(&self) -> Result<&str, ConnectorError> {
        Ok(self.org().await?.0)
    }

    /// The organization's id and name.
    pub(crate) async fn org(&self) -> Result<(&str, &str), ConnectorError> {
        let (id, name) = self
            .org
            .get_or_try_init(|| async {
                let info = self.miro.rest.token_info().await?;
                info.organization.filter(|o| !o.id.is_empty()).map(|o| (o.id, o.name)).ok_or_else(|| {
                    ConnectorError::FailedPrecondition(
                        "the Miro token is not tied to an organization; use a token of an app installed on the Enterprise organization by a Company Admin".into(),
                    )
                })
            })
            .await?;
        Ok((id, name))
    }

    /// The start-up credential check behind readiness.
    pub(crate) async fn check_credentials(&self) -> Result<(), ConnectorError> {
        self.org_id().await.map(|_| ())
    }

    fn scim(&self) -> Result<&ScimClient, ConnectorError> {
        self.miro.scim.as_ref().ok_or(ConnectorError::ScimMissing)
    }

    fn require_provisioning(&self) -> Result<(), ConnectorError> {
        if self.settings.provisioning {
            Ok(())
        } else {
            Err(ConnectorError::ProvisioningDisabled)
        }
    }
}
