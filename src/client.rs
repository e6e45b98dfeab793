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
    /// RPCs made, per phase order above.
    pub rpcs: u64,
}

/// Anything that wants to hear about progress (pages and counts).
pub trait Observer {
    fn page(&mut self, _phase: Phase, _items: usize) {}
}

impl Observer for () {}

fn skips<M: prost::Message + prost::Name + Default>(a: &[prost_types::Any]) -> bool {
    find::<M>(a).is_some()
}

/// Walk a full sync against a connector; the first error ends it, as it ends the official sync.
pub async fn full_sync(channel: Channel, observer: &mut dyn Observer) -> Result<Snapshot, Status> {
    let mut connector = ConnectorServiceClient::new(channel.clone());
    let mut types_client = ResourceTypesServiceClient::new(channel.clone());
    let mut resources_client =
        ResourcesServiceClient::new(channel.clone()).max_decoding_message_size(4 << 20);
    let mut entitlements_client =
        EntitlementsServiceClient::new(channel.clone()).max_decoding_message_size(4 << 20);
    let mut grants_client = GrantsServiceClient::new(channel).max_decoding_message_size(4 << 20);
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

    let list_types = |client: &mut ResourceTypesServiceClient<Channel>| {
        let mut client = client.clone();
        let sync_id = sync_id.clone();
        async move {
            let mut out = Vec::new();
            let mut token = String::new();
            let mut rpcs = 0;
            loop {
                let r = client
                    .list_resource_types(pb::ResourceTypesServiceListResourceTypesRequest {
                        page_token: token,
                        active_sync_id: sync_id.clone(),
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                rpcs += 1;
                out.extend(r.list.into_iter().filter(|t| !t.id.is_empty()));
                if r.next_page_token.is_empty() {
                    return Ok::<_, Status>((out, rpcs));
                }
                token = r.next_page_token;
            }
        }
    };
    let (types, n) = list_types(&mut types_client).await?;
    snap.rpcs += n;
    observer.page(Phase::ResourceTypes, types.len());

    for t in &types {
        let mut token = String::new();
        loop {
            let r = resources_client
                .list_resources(pb::ResourcesServiceListResourcesRequest {
                    resource_type_id: t.id.clone(),
                    page_token: token,
                    active_sync_id: sync_id.clone(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            snap.rpcs += 1;
            observer.page(Phase::Resources, r.list.len());
            for res in r.list {
                check_traits(t, &res)?;
                snap.resources.push(res);
            }
            if r.next_page_token.is_empty() {
                break;
            }
            token = r.next_page_token;
        }
    }

    let (types_again, n) = list_types(&mut types_client).await?;
    snap.rpcs += n;
    for t in &types_again {
        let r = entitlements_client
            .list_static_entitlements(pb::EntitlementsServiceListStaticEntitlementsRequest {
                resource_type_id: t.id.clone(),
                active_sync_id: sync_id.clone(),
                ..Default::default()
            })
            .await?
            .into_inner();
        snap.rpcs += 1;
        observer.page(Phase::StaticEntitlements, r.list.len());
        snap.entitlements.extend(r.list);
    }

    let type_skips = |id: &str, entitlements: bool| {
        types.iter().find(|t| t.id == id).is_some_and(|t| {
            skips::<pb::SkipEntitlementsAndGrants>(&t.annotations)
                || if entitlements {
                    skips::<pb::SkipEntitlements>(&t.annotations)
                } else {
                    skips::<pb::SkipGrants>(&t.annotations)
                }
        })
    };
    let skipped = |r: &pb::Resource, entitlements: bool| {
        let rt =
            r.id.as_ref()
                .map(|i| i.resource_type.as_str())
                .unwrap_or_default();
        type_skips(rt, entitlements)
            || skips::<pb::SkipEntitlementsAndGrants>(&r.annotations)
            || if entitlements {
                skips::<pb::SkipEntitlements>(&r.annotations)
            } else {
                skips::<pb::SkipGrants>(&r.annotations)
            }
    };
    for res in snap.resources.iter().filter(|r| !skipped(r, true)) {
        let mut token = String::new();
        loop {
            let r = entitlements_client
                .list_entitlements(pb::EntitlementsServiceListEntitlementsRequest {
                    resource: Some(res.clone()),
                    page_token: token,
                    active_sync_id: sync_id.clone(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            snap.rpcs += 1;
            observer.page(Phase::Entitlements, r.list.len());
            snap.entitlements.extend(r.list);
            if r.next_page_token.is_empty() {
                break;
            }
            token = r.next_page_token;
        }
    }
    let mut seen = HashSet::new();
    for res in snap.resources.iter().filter(|r| !skipped(r, false)) {
        let mut token = String::new();
        loop {
            let r = grants_client
                .list_grants(pb::GrantsServiceListGrantsRequest {
                    resource: Some(res.clone()),
                    page_token: token,
                    active_sync_id: sync_id.clone(),
                    ..Default::default()
                })
                .await?
                .into_inner();
            snap.rpcs += 1;
            observer.page(Phase::Grants, r.list.len());
            for g in r.list {
                if seen.insert(g.id.clone()) {
                    snap.grants.push(g);
                }
            }
            if r.next_page_token.is_empty() {
                break;
            }
            token = r.next_page_token;
        }
    }
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
