//! A full sync walked the way the official client (baton-sdk's syncer) walks it: Validate,
//! ListResourceTypes, ListResources per type, ListStaticEntitlements per type, then ListEntitlements
//! and ListGrants per resource, then Cleanup. Used by the `sync` command, the tests and the benchmarks.
use std::collections::HashSet;

use tonic::{Status, transport::Channel};

use crate::{
    connector::annotations::find,
    pb::{
        self, connector_service_client::ConnectorServiceClient,
        entitlements_service_client::EntitlementsServiceClient,
        grants_service_client::GrantsServiceClient,
        resource_types_service_client::ResourceTypesServiceClient,
        resources_service_client::ResourcesServiceClient,
    },
};

mod checks;
mod listing;
mod retry;

use checks::{Kept, check_traits, semver_at_least, waited_ms};
use listing::{Entitlements, Grants, Listing, MAX_MESSAGE, Resources, Types};
use retry::with_retries;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    ResourceTypes,
    Resources,
    StaticEntitlements,
    Entitlements,
    Grants,
}

/// What a sync saw, in the order it saw it (grants once each).
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub resource_types: Vec<pb::ResourceType>,
    pub resources: Vec<pb::Resource>,
    pub entitlements: Vec<pb::Entitlement>,
    pub grants: Vec<pb::Grant>,
    /// RPCs made.
    pub rpcs: u64,
    /// Time the connector reported waiting on Miro's rate limits (RateLimitWaitReport).
    pub rate_limit_wait_ms: u64,
    /// RPCs tried again after UNAVAILABLE, as the official client does.
    pub retries: u64,
    seen: HashSet<String>,
}

/// Where a walk's records go, as they arrive, in the walk's order.
pub trait Sink {
    fn resource_type(&mut self, t: &pb::ResourceType) -> std::io::Result<()>;
    fn resource(&mut self, r: &pb::Resource) -> std::io::Result<()>;
    fn entitlement(&mut self, e: &pb::Entitlement) -> std::io::Result<()>;
    fn grant(&mut self, g: &pb::Grant) -> std::io::Result<()>;
}

impl Sink for Snapshot {
    fn resource_type(&mut self, t: &pb::ResourceType) -> std::io::Result<()> {
        self.resource_types.push(t.clone());
        Ok(())
    }
    fn resource(&mut self, r: &pb::Resource) -> std::io::Result<()> {
        self.resources.push(r.clone());
        Ok(())
    }
    fn entitlement(&mut self, e: &pb::Entitlement) -> std::io::Result<()> {
        self.entitlements.push(e.clone());
        Ok(())
    }
    fn grant(&mut self, g: &pb::Grant) -> std::io::Result<()> {
        if self.seen.insert(g.id.clone()) {
            self.grants.push(g.clone());
        }
        Ok(())
    }
}

/// What a walk costs, whatever it was written to.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub rpcs: u64,
    pub retries: u64,
    pub rate_limit_wait_ms: u64,
}

/// Why a walk stopped.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("{}: {}", .0.code(), .0.message())]
    Rpc(Status),
    #[error("cannot write the snapshot: {0}")]
    Write(#[from] std::io::Error),
}

impl From<Status> for WalkError {
    fn from(s: Status) -> Self {
        Self::Rpc(s)
    }
}

/// Anything that wants to hear about progress (pages and counts).
pub trait Observer {
    /// A page arrived with `items`; `waited_ms` is the rate-limit wait reported so far.
    fn page(&mut self, _phase: Phase, _items: usize, _waited_ms: u64) {}
}

impl Observer for () {}

/// The walk: the channel, the sync id, where records go and what it cost.
struct Walker<'a> {
    channel: Channel,
    sync_id: String,
    observer: &'a mut dyn Observer,
    sink: &'a mut dyn Sink,
    tally: Tally,
    /// Resources whose entitlements and grants are listed at once in the later phases.
    workers: usize,
}

/// One listing, a page at a time, each page with what it cost (RPCs, retries, rate-limit waits).
struct Pager<L> {
    listing: L,
    sync_id: String,
    /// The next page's token; `None` once the last page has come.
    token: Option<String>,
}

impl<L: Listing> Pager<L> {
    fn new(listing: L, sync_id: String) -> Self {
        Self {
            listing,
            sync_id,
            token: Some(String::new()),
        }
    }

    /// The next page, what it cost, and whether it asks for the resources its grants name to be
    /// stored (`InsertResourceGrants`).
    async fn next(&mut self) -> Result<Option<(Vec<L::Item>, Tally, bool)>, Status> {
        let Some(token) = self.token.take() else {
            return Ok(None);
        };
        let mut cost = Tally::default();
        let (list, next, annotations) = with_retries(&mut cost, || {
            self.listing.page(token.clone(), self.sync_id.clone())
        })
        .await?;
        cost.rate_limit_wait_ms += waited_ms(&annotations);
        self.token = (!next.is_empty()).then_some(next);
        let insert = find::<pb::InsertResourceGrants>(&annotations).is_some();
        Ok(Some((list, cost, insert)))
    }
}

/// A page held while earlier resources are written: its items encoded back to back (a decoded
/// grant takes several times the room, and 16 large teams in flight hold a hundred thousand).
struct Held {
    items: usize,
    encoded: Vec<u8>,
    cost: Tally,
    insert: bool,
}

/// Every page of one listing, one after the other, held encoded.
async fn fetch_all<L: Listing>(listing: L, sync_id: String) -> Result<Vec<Held>, Status>
where
    L::Item: prost::Message,
{
    use prost::Message;
    let mut pager = Pager::new(listing, sync_id);
    let mut pages = Vec::new();
    while let Some((list, cost, insert)) = pager.next().await? {
        let mut encoded = Vec::with_capacity(list.iter().map(|i| i.encoded_len() + 4).sum());
        for item in &list {
            // A Vec grows as needed: encoding into it cannot run out of room.
            let _ = item.encode_length_delimited(&mut encoded);
        }
        pages.push(Held {
            items: list.len(),
            encoded,
            cost,
            insert,
        });
    }
    Ok(pages)
}

impl Walker<'_> {
    fn count(&mut self, phase: Phase, items: usize, cost: Tally) {
        self.tally.rpcs += cost.rpcs;
        self.tally.retries += cost.retries;
        self.tally.rate_limit_wait_ms += cost.rate_limit_wait_ms;
        self.observer
            .page(phase, items, self.tally.rate_limit_wait_ms);
    }

    /// Each resource's listing (entitlements or grants), `workers` resources at once, written in
    /// the resources' order whatever order the answers come in.
    async fn per_resource<L: Listing>(
        &mut self,
        resources: impl Iterator<Item = pb::Resource>,
        listing: impl Fn(pb::Resource) -> L,
        mut write: impl FnMut(&mut dyn Sink, &L::Item, bool) -> std::io::Result<()>,
    ) -> Result<(), WalkError>
    where
        L::Item: prost::Message + Default,
    {
        use futures::StreamExt;
        let sync_id = self.sync_id.clone();
        let mut answers = futures::stream::iter(resources)
            .map(|r| fetch_all(listing(r), sync_id.clone()))
            .buffered(self.workers.max(1));
        while let Some(answer) = answers.next().await {
            for page in answer? {
                self.count(L::PHASE, page.items, page.cost);
                let mut rest = page.encoded.as_slice();
                while !rest.is_empty() {
                    // Encoded here a moment ago: it decodes, or the walk stops with why.
                    let item = <L::Item as prost::Message>::decode_length_delimited(&mut rest)
                        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
                    write(&mut *self.sink, &item, page.insert)?;
                }
            }
        }
        Ok(())
    }

    async fn validate(&mut self) -> Result<(), WalkError> {
        let c = ConnectorServiceClient::new(self.channel.clone());
        let validated = with_retries(&mut self.tally, || {
            let mut c = c.clone();
            async move { c.validate(pb::ConnectorServiceValidateRequest {}).await }
        })
        .await?
        .into_inner();
        if semver_at_least(&validated.sdk_version, (0, 4, 3)) {
            self.sync_id = "sync-1".into();
        }
        Ok(())
    }

    async fn resource_types(&mut self) -> Result<Vec<pb::ResourceType>, WalkError> {
        let client = ResourceTypesServiceClient::new(self.channel.clone());
        let mut pager = Pager::new(Types(client), self.sync_id.clone());
        let mut out = Vec::new();
        while let Some((list, cost, _)) = pager.next().await? {
            self.count(Phase::ResourceTypes, list.len(), cost);
            out.extend(list.into_iter().filter(|t| !t.id.is_empty()));
        }
        Ok(out)
    }

    /// The resources, written page by page as they arrive. What the later phases need of each is
    /// kept; the rest is not, so a large organization stays small in memory. Every type at the
    /// top, one after the other; then the children that resources announce (a team's boards and
    /// Spaces), `workers` parents at once as the parallel syncer lists them, written in the
    /// parents' order whatever order the answers come in.
    async fn resources(&mut self, types: &[pb::ResourceType]) -> Result<Vec<Kept>, WalkError> {
        use futures::StreamExt;
        let client = ResourcesServiceClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE);
        let mut kept = Vec::new();
        let mut children = Vec::new();
        for t in types {
            let listing = Resources(client.clone(), t.id.clone(), None);
            let mut pager = Pager::new(listing, self.sync_id.clone());
            while let Some((list, cost, _)) = pager.next().await? {
                self.count(Phase::Resources, list.len(), cost);
                for r in list {
                    self.keep(types, t, r, &mut kept, &mut children)?;
                }
            }
        }
        while !children.is_empty() {
            let sync_id = self.sync_id.clone();
            let level = std::mem::take(&mut children);
            let mut answers = futures::stream::iter(level)
                .map(|(t, parent): (&pb::ResourceType, pb::ResourceId)| {
                    let listing = Resources(client.clone(), t.id.clone(), Some(parent));
                    let sync_id = sync_id.clone();
                    async move { fetch_all(listing, sync_id).await.map(|pages| (t, pages)) }
                })
                .buffered(self.workers.max(1));
            while let Some(answer) = answers.next().await {
                let (t, pages) = answer?;
                for page in pages {
                    self.count(Phase::Resources, page.items, page.cost);
                    let mut rest = page.encoded.as_slice();
                    while !rest.is_empty() {
                        // Encoded here a moment ago: it decodes, or the walk stops with why.
                        let r =
                            <pb::Resource as prost::Message>::decode_length_delimited(&mut rest)
                                .map_err(|e| {
                                    std::io::Error::new(std::io::ErrorKind::InvalidData, e)
                                })?;
                        self.keep(types, t, r, &mut kept, &mut children)?;
                    }
                }
            }
        }
        Ok(kept)
    }

    /// One listed resource: checked, written, kept, and its announced children queued.
    fn keep<'t>(
        &mut self,
        types: &'t [pb::ResourceType],
        t: &pb::ResourceType,
        r: pb::Resource,
        kept: &mut Vec<Kept>,
        children: &mut Vec<(&'t pb::ResourceType, pb::ResourceId)>,
    ) -> Result<(), WalkError> {
        check_traits(t, &r)?;
        self.sink.resource(&r)?;
        let announced = r
            .annotations
            .iter()
            .filter_map(|a| a.to_msg::<pb::ChildResourceType>().ok());
        for child in announced {
            if let (Some(ct), Some(id)) = (
                types.iter().find(|x| x.id == child.resource_type_id),
                r.id.clone(),
            ) {
                children.push((ct, id));
            }
        }
        kept.push(Kept::of(types, r));
        Ok(())
    }

    async fn static_entitlements(&mut self, types: &[pb::ResourceType]) -> Result<(), WalkError> {
        let mut c = EntitlementsServiceClient::new(self.channel.clone());
        for t in types {
            let req = pb::EntitlementsServiceListStaticEntitlementsRequest {
                resource_type_id: t.id.clone(),
                active_sync_id: self.sync_id.clone(),
                ..Default::default()
            };
            let r = c.list_static_entitlements(req).await?.into_inner();
            let cost = Tally {
                rpcs: 1,
                ..Default::default()
            };
            self.count(Phase::StaticEntitlements, r.list.len(), cost);
            for e in &r.list {
                self.sink.entitlement(e)?;
            }
        }
        Ok(())
    }

    async fn cleanup(&mut self) -> Result<(), WalkError> {
        ConnectorServiceClient::new(self.channel.clone())
            .cleanup(pb::ConnectorServiceCleanupRequest {
                active_sync_id: self.sync_id.clone(),
                ..Default::default()
            })
            .await?;
        self.tally.rpcs += 1;
        Ok(())
    }
}

/// Walk a full sync against a connector, in the official client's order, writing every record to
/// `sink` as it arrives; only the resources stay in memory, since the later phases visit each. The
/// first error ends it, as it ends the official sync. `workers` resources have their entitlements
/// and grants listed at once, as the parallel syncer does; the records are written in the same
/// order whatever the number of workers.
pub async fn walk(
    channel: Channel,
    observer: &mut dyn Observer,
    sink: &mut dyn Sink,
    workers: usize,
) -> Result<Tally, WalkError> {
    let mut w = Walker {
        channel: channel.clone(),
        sync_id: String::new(),
        observer,
        sink,
        tally: Tally::default(),
        workers,
    };
    w.validate().await?;
    let types = w.resource_types().await?;
    for t in &types {
        w.sink.resource_type(t)?;
    }
    let resources = w.resources(&types).await?;
    // The official client lists the types again before the static entitlements.
    let types_again = w.resource_types().await?;
    w.static_entitlements(&types_again).await?;
    let entitlements =
        EntitlementsServiceClient::new(channel.clone()).max_decoding_message_size(MAX_MESSAGE);
    w.per_resource(
        resources
            .iter()
            .filter(|k| k.entitlements)
            .map(Kept::resource),
        |r| Entitlements(entitlements.clone(), r),
        |sink, e, _| sink.entitlement(e),
    )
    .await?;
    // A page marked `InsertResourceGrants` names resources no listing returns (Miro's custom admin
    // roles): they are written once, as the official syncer stores them. Only resources that offer
    // entitlements can be named, so those are all the walk needs to remember.
    let mut known: HashSet<(String, String)> = resources
        .iter()
        .filter(|k| k.entitlements)
        .filter_map(|k| k.resource().id)
        .map(|id| (id.resource_type, id.resource))
        .collect();
    let grants = GrantsServiceClient::new(channel).max_decoding_message_size(MAX_MESSAGE);
    w.per_resource(
        resources.iter().filter(|k| k.grants).map(Kept::resource),
        |r| Grants(grants.clone(), r),
        |sink, g, insert| {
            let named = g.entitlement.as_ref().and_then(|e| e.resource.as_ref());
            if let Some(r) = named.filter(|_| insert)
                && let Some(id) = &r.id
                && known.insert((id.resource_type.clone(), id.resource.clone()))
            {
                sink.resource(r)?;
            }
            sink.grant(g)
        },
    )
    .await?;
    w.cleanup().await?;
    Ok(w.tally)
}

/// Walk a full sync and keep everything it saw.
pub async fn full_sync(channel: Channel, observer: &mut dyn Observer) -> Result<Snapshot, Status> {
    let mut snap = Snapshot::default();
    let tally = walk(channel, observer, &mut snap, 1)
        .await
        .map_err(|e| match e {
            WalkError::Rpc(s) => s,
            WalkError::Write(e) => Status::internal(e.to_string()),
        })?;
    snap.rpcs = tally.rpcs;
    snap.retries = tally.retries;
    snap.rate_limit_wait_ms = tally.rate_limit_wait_ms;
    Ok(snap)
}
