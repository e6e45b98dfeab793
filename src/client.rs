//! A full sync walked the way the official client (baton-sdk's syncer) walks it: Validate,
//! ListResourceTypes, ListResources per type, ListStaticEntitlements per type, then ListEntitlements
//! and ListGrants per resource, then Cleanup. Used by the `sync` command, the tests and the benchmarks.
use std::collections::HashSet;

use prost_types::Any;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    ResourceTypes,
    Resources,
    StaticEntitlements,
    Entitlements,
    Grants,
}

/// What a sync saw, in the order it saw it.
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
}

/// Anything that wants to hear about progress (pages and counts).
pub trait Observer {
    /// A page arrived with `items`; `waited_ms` is the rate-limit wait reported so far.
    fn page(&mut self, _phase: Phase, _items: usize, _waited_ms: u64) {}
}

impl Observer for () {}

const MAX_MESSAGE: usize = 4 << 20;

/// One page of a listing: its items, the next page token, the response's annotations.
type PageOf<T> = (Vec<T>, String, Vec<Any>);

/// A paged listing RPC, asked for one page at a time.
trait Listing {
    type Item;
    const PHASE: Phase;
    async fn page(&mut self, token: String, sync_id: String) -> Result<PageOf<Self::Item>, Status>;
}

struct Types(ResourceTypesServiceClient<Channel>);
struct Resources(ResourcesServiceClient<Channel>, String);
struct Entitlements(EntitlementsServiceClient<Channel>, pb::Resource);
struct Grants(GrantsServiceClient<Channel>, pb::Resource);

impl Listing for Types {
    type Item = pb::ResourceType;
    const PHASE: Phase = Phase::ResourceTypes;
    async fn page(
        &mut self,
        page_token: String,
        active_sync_id: String,
    ) -> Result<PageOf<Self::Item>, Status> {
        let req = pb::ResourceTypesServiceListResourceTypesRequest {
            page_token,
            active_sync_id,
            ..Default::default()
        };
        let r = self.0.list_resource_types(req).await?.into_inner();
        Ok((r.list, r.next_page_token, r.annotations))
    }
}

impl Listing for Resources {
    type Item = pb::Resource;
    const PHASE: Phase = Phase::Resources;
    async fn page(
        &mut self,
        page_token: String,
        active_sync_id: String,
    ) -> Result<PageOf<Self::Item>, Status> {
        let req = pb::ResourcesServiceListResourcesRequest {
            resource_type_id: self.1.clone(),
            page_token,
            active_sync_id,
            ..Default::default()
        };
        let r = self.0.list_resources(req).await?.into_inner();
        Ok((r.list, r.next_page_token, r.annotations))
    }
}

impl Listing for Entitlements {
    type Item = pb::Entitlement;
    const PHASE: Phase = Phase::Entitlements;
    async fn page(
        &mut self,
        page_token: String,
        active_sync_id: String,
    ) -> Result<PageOf<Self::Item>, Status> {
        let req = pb::EntitlementsServiceListEntitlementsRequest {
            resource: Some(self.1.clone()),
            page_token,
            active_sync_id,
            ..Default::default()
        };
        let r = self.0.list_entitlements(req).await?.into_inner();
        Ok((r.list, r.next_page_token, r.annotations))
    }
}

impl Listing for Grants {
    type Item = pb::Grant;
    const PHASE: Phase = Phase::Grants;
    async fn page(
        &mut self,
        page_token: String,
        active_sync_id: String,
    ) -> Result<PageOf<Self::Item>, Status> {
        let req = pb::GrantsServiceListGrantsRequest {
            resource: Some(self.1.clone()),
            page_token,
            active_sync_id,
            ..Default::default()
        };
        let r = self.0.list_grants(req).await?.into_inner();
        Ok((r.list, r.next_page_token, r.annotations))
    }
}

/// The walk: the clients, the sync id, and what it has seen so far.
struct Walker<'o> {
    channel: Channel,
    sync_id: String,
    observer: &'o mut dyn Observer,
    snap: Snapshot,
}

impl Walker<'_> {
    /// Every page of one listing, each handed to `each` as it arrives.
    async fn pages<L: Listing>(
        &mut self,
        mut listing: L,
        mut each: impl FnMut(Vec<L::Item>) -> Result<(), Status>,
    ) -> Result<(), Status> {
        let mut token = String::new();
        loop {
            let (list, next, annotations) = listing.page(token, self.sync_id.clone()).await?;
            self.snap.rpcs += 1;
            self.snap.rate_limit_wait_ms += find::<pb::RateLimitWaitReport>(&annotations)
                .map_or(0, |w| u64::try_from(w.wait_ms).unwrap_or(0));
            self.observer
                .page(L::PHASE, list.len(), self.snap.rate_limit_wait_ms);
            each(list)?;
            if next.is_empty() {
                return Ok(());
            }
            token = next;
        }
    }

    async fn validate(&mut self) -> Result<(), Status> {
        let validated = ConnectorServiceClient::new(self.channel.clone())
            .validate(pb::ConnectorServiceValidateRequest {})
            .await?
            .into_inner();
        self.snap.rpcs += 1;
        if semver_at_least(&validated.sdk_version, (0, 4, 3)) {
            self.sync_id = "sync-1".into();
        }
        Ok(())
    }

    async fn resource_types(&mut self) -> Result<Vec<pb::ResourceType>, Status> {
        let mut out = Vec::new();
        let client = ResourceTypesServiceClient::new(self.channel.clone());
        self.pages(Types(client), |list| {
            out.extend(list.into_iter().filter(|t| !t.id.is_empty()));
            Ok(())
        })
        .await?;
        Ok(out)
    }

    async fn resources(&mut self, types: &[pb::ResourceType]) -> Result<(), Status> {
        let client = ResourcesServiceClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE);
        let mut resources = Vec::new();
        for t in types {
            self.pages(Resources(client.clone(), t.id.clone()), |list| {
                for r in list {
                    check_traits(t, &r)?;
                    resources.push(r);
                }
                Ok(())
            })
            .await?;
        }
        self.snap.resources = resources;
        Ok(())
    }

    async fn static_entitlements(&mut self, types: &[pb::ResourceType]) -> Result<(), Status> {
        let mut c = EntitlementsServiceClient::new(self.channel.clone());
        for t in types {
            let req = pb::EntitlementsServiceListStaticEntitlementsRequest {
                resource_type_id: t.id.clone(),
                active_sync_id: self.sync_id.clone(),
                ..Default::default()
            };
            let r = c.list_static_entitlements(req).await?.into_inner();
            self.snap.rpcs += 1;
            self.observer.page(
                Phase::StaticEntitlements,
                r.list.len(),
                self.snap.rate_limit_wait_ms,
            );
            self.snap.entitlements.extend(r.list);
        }
        Ok(())
    }

    async fn entitlements(&mut self, types: &[pb::ResourceType]) -> Result<(), Status> {
        let client = EntitlementsServiceClient::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE);
        let resources = std::mem::take(&mut self.snap.resources);
        let mut found = Vec::new();
        for r in resources.iter().filter(|r| !skipped(types, r, true)) {
            self.pages(Entitlements(client.clone(), r.clone()), |list| {
                found.extend(list);
                Ok(())
            })
            .await?;
        }
        self.snap.resources = resources;
        self.snap.entitlements.extend(found);
        Ok(())
    }

    async fn grants(&mut self, types: &[pb::ResourceType]) -> Result<(), Status> {
        let client =
            GrantsServiceClient::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE);
        let resources = std::mem::take(&mut self.snap.resources);
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        for r in resources.iter().filter(|r| !skipped(types, r, false)) {
            self.pages(Grants(client.clone(), r.clone()), |list| {
                found.extend(list.into_iter().filter(|g| seen.insert(g.id.clone())));
                Ok(())
            })
            .await?;
        }
        self.snap.resources = resources;
        self.snap.grants = found;
        Ok(())
    }

    async fn cleanup(&mut self) -> Result<(), Status> {
        ConnectorServiceClient::new(self.channel.clone())
            .cleanup(pb::ConnectorServiceCleanupRequest {
                active_sync_id: self.sync_id.clone(),
                ..Default::default()
            })
            .await?;
        self.snap.rpcs += 1;
        Ok(())
    }
}

/// Walk a full sync against a connector; the first error ends it, as it ends the official sync.
pub async fn full_sync(channel: Channel, observer: &mut dyn Observer) -> Result<Snapshot, Status> {
    let mut w = Walker {
        channel,
        sync_id: String::new(),
        observer,
        snap: Snapshot::default(),
    };
    w.validate().await?;
    let types = w.resource_types().await?;
    w.resources(&types).await?;
    // The official client lists the types again before the static entitlements.
    let types_again = w.resource_types().await?;
    w.static_entitlements(&types_again).await?;
    w.entitlements(&types).await?;
    w.grants(&types).await?;
    w.cleanup().await?;
    w.snap.resource_types = types;
    Ok(w.snap)
}

fn skips<M: prost::Message + prost::Name + Default>(a: &[Any]) -> bool {
    find::<M>(a).is_some()
}

/// Whether the official client skips a resource's entitlements (or grants), by its own or its
/// type's annotations.
fn skipped(types: &[pb::ResourceType], r: &pb::Resource, entitlements: bool) -> bool {
    let rt =
        r.id.as_ref()
            .map(|i| i.resource_type.as_str())
            .unwrap_or_default();
    let of_type = types
        .iter()
        .find(|t| t.id == rt)
        .map(|t| t.annotations.as_slice())
        .unwrap_or_default();
    [of_type, r.annotations.as_slice()].iter().any(|a| {
        skips::<pb::SkipEntitlementsAndGrants>(a)
            || if entitlements {
                skips::<pb::SkipEntitlements>(a)
            } else {
                skips::<pb::SkipGrants>(a)
            }
    })
}

/// The official client fails a sync when a resource lacks the trait its type declares.
fn check_traits(t: &pb::ResourceType, r: &pb::Resource) -> Result<(), Status> {
    use pb::resource_type::Trait;
    for tr in &t.traits {
        let ok = match Trait::try_from(*tr) {
            Ok(Trait::User) => skips::<pb::UserTrait>(&r.annotations),
            Ok(Trait::Group) => skips::<pb::GroupTrait>(&r.annotations),
            Ok(Trait::Role) => skips::<pb::RoleTrait>(&r.annotations),
            _ => true,
        };
        if !ok {
            return Err(Status::internal(format!(
                "resource {:?} was missing expected trait {tr}",
                r.id
            )));
        }
    }
    Ok(())
}

fn semver_at_least(v: &str, min: (u64, u64, u64)) -> bool {
    let mut parts = v
        .trim_start_matches('v')
        .split(['.', '-', '+'])
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let got = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    got >= min
}
