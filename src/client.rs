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

fn skips<M: prost::Message + prost::Name + Default>(a: &[prost_types::Any]) -> bool {
    find::<M>(a).is_some()
}

/// Every page of one listing: `fetch` gets a page token and answers (items, next token,
/// annotations); `each` takes each page and the milliseconds the connector waited on Miro's rate
/// limits for it. Returns the RPCs made.
async fn pages<T, F, Fut>(
    mut fetch: F,
    mut each: impl FnMut(Vec<T>, u64) -> Result<(), Status>,
) -> Result<u64, Status>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, String, Vec<prost_types::Any>), Status>>,
{
    let mut token = String::new();
    let mut rpcs = 0;
    loop {
        let (list, next, annotations) = fetch(token).await?;
        rpcs += 1;
        let waited = find::<pb::RateLimitWaitReport>(&annotations)
            .map_or(0, |w| u64::try_from(w.wait_ms).unwrap_or(0));
        each(list, waited)?;
        if next.is_empty() {
            return Ok(rpcs);
        }
        token = next;
    }
}

const MAX_MESSAGE: usize = 4 << 20;

/// Walk a full sync against a connector; the first error ends it, as it ends the official sync.
pub async fn full_sync(channel: Channel, observer: &mut dyn Observer) -> Result<Snapshot, Status> {
    let mut connector = ConnectorServiceClient::new(channel.clone());
    let types_client = ResourceTypesServiceClient::new(channel.clone());
    let resources_client =
        ResourcesServiceClient::new(channel.clone()).max_decoding_message_size(MAX_MESSAGE);
    let entitlements_client =
        EntitlementsServiceClient::new(channel.clone()).max_decoding_message_size(MAX_MESSAGE);
    let grants_client = GrantsServiceClient::new(channel).max_decoding_message_size(MAX_MESSAGE);
    let mut snap = Snapshot::default();

    let validated = connector
        .validate(pb::ConnectorServiceValidateRequest {})
        .await?
        .into_inner();
    let sync_id = if semver_at_least(&validated.sdk_version, (0, 4, 3)) {
        "sync-1".to_string()
    } else {
        String::new()
    };
    snap.rpcs += 1;

    let list_types = || {
        let (client, sync_id) = (types_client.clone(), sync_id.clone());
        async move {
            let mut out = Vec::new();
            let fetch = |page_token| {
                let (mut c, active_sync_id) = (client.clone(), sync_id.clone());
                async move {
                    let req = pb::ResourceTypesServiceListResourceTypesRequest {
                        page_token,
                        active_sync_id,
                        ..Default::default()
                    };
                    c.list_resource_types(req).await.map(|r| {
                        (
                            r.get_ref().list.clone(),
                            r.get_ref().next_page_token.clone(),
                            r.get_ref().annotations.clone(),
                        )
                    })
                }
            };
            let rpcs = pages(fetch, |list: Vec<pb::ResourceType>, _| {
                out.extend(list.into_iter().filter(|t| !t.id.is_empty()));
                Ok(())
            })
            .await?;
            Ok::<_, Status>((out, rpcs))
        }
    };
    let (types, n) = list_types().await?;
    snap.rpcs += n;
    observer.page(Phase::ResourceTypes, types.len(), 0);

    for t in &types {
        let fetch = |page_token| {
            let (mut c, active_sync_id, resource_type_id) =
                (resources_client.clone(), sync_id.clone(), t.id.clone());
            async move {
                let req = pb::ResourcesServiceListResourcesRequest {
                    resource_type_id,
                    page_token,
                    active_sync_id,
                    ..Default::default()
                };
                c.list_resources(req).await.map(|r| {
                    let r = r.into_inner();
                    (r.list, r.next_page_token, r.annotations)
                })
            }
        };
        snap.rpcs += pages(fetch, |list, waited| {
            snap.rate_limit_wait_ms += waited;
            observer.page(Phase::Resources, list.len(), snap.rate_limit_wait_ms);
            for res in list {
                check_traits(t, &res)?;
                snap.resources.push(res);
            }
            Ok(())
        })
        .await?;
    }

    let (types_again, n) = list_types().await?;
    snap.rpcs += n;
    for t in &types_again {
        let mut c = entitlements_client.clone();
        let req = pb::EntitlementsServiceListStaticEntitlementsRequest {
            resource_type_id: t.id.clone(),
            active_sync_id: sync_id.clone(),
            ..Default::default()
        };
        let r = c.list_static_entitlements(req).await?.into_inner();
        snap.rpcs += 1;
        observer.page(
            Phase::StaticEntitlements,
            r.list.len(),
            snap.rate_limit_wait_ms,
        );
        snap.entitlements.extend(r.list);
    }

    let skipped = |r: &pb::Resource, entitlements: bool| {
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
    };
    let mut entitlements = Vec::new();
    for res in snap.resources.iter().filter(|r| !skipped(r, true)) {
        let fetch = |page_token| {
            let (mut c, active_sync_id, resource) = (
                entitlements_client.clone(),
                sync_id.clone(),
                Some(res.clone()),
            );
            async move {
                let req = pb::EntitlementsServiceListEntitlementsRequest {
                    resource,
                    page_token,
                    active_sync_id,
                    ..Default::default()
                };
                c.list_entitlements(req).await.map(|r| {
                    let r = r.into_inner();
                    (r.list, r.next_page_token, r.annotations)
                })
            }
        };
        snap.rpcs += pages(fetch, |list, _| {
            observer.page(Phase::Entitlements, list.len(), 0);
            entitlements.extend(list);
            Ok(())
        })
        .await?;
    }
    snap.entitlements.extend(entitlements);
    let mut seen = HashSet::new();
    let mut grants = Vec::new();
    let mut waited_ms = snap.rate_limit_wait_ms;
    for res in snap.resources.iter().filter(|r| !skipped(r, false)) {
        let fetch = |page_token| {
            let (mut c, active_sync_id, resource) =
                (grants_client.clone(), sync_id.clone(), Some(res.clone()));
            async move {
                let req = pb::GrantsServiceListGrantsRequest {
                    resource,
                    page_token,
                    active_sync_id,
                    ..Default::default()
                };
                c.list_grants(req).await.map(|r| {
                    let r = r.into_inner();
                    (r.list, r.next_page_token, r.annotations)
                })
            }
        };
        snap.rpcs += pages(fetch, |list, waited| {
            waited_ms += waited;
            observer.page(Phase::Grants, list.len(), waited_ms);
            grants.extend(list.into_iter().filter(|g| seen.insert(g.id.clone())));
            Ok(())
        })
        .await?;
    }
    snap.grants = grants;
    snap.rate_limit_wait_ms = waited_ms;
    snap.resource_types = types;
    connector
        .cleanup(pb::ConnectorServiceCleanupRequest {
            active_sync_id: sync_id,
            ..Default::default()
        })
        .await?;
    snap.rpcs += 1;
    Ok(snap)
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
