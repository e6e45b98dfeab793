//! The paged listing RPCs of a sync, one page at a time.
use prost_types::Any;
use tonic::{Status, transport::Channel};

use super::Phase;
use crate::pb::{
    self, entitlements_service_client::EntitlementsServiceClient,
    grants_service_client::GrantsServiceClient,
    resource_types_service_client::ResourceTypesServiceClient,
    resources_service_client::ResourcesServiceClient,
};

pub(super) const MAX_MESSAGE: usize = 4 << 20;

/// One page of a listing: its items, the next page token, the response's annotations.
type PageOf<T> = (Vec<T>, String, Vec<Any>);

/// A paged listing RPC, asked for one page at a time.
pub(super) trait Listing {
    type Item;
    const PHASE: Phase;
    async fn page(&self, token: String, sync_id: String) -> Result<PageOf<Self::Item>, Status>;
}

pub(super) struct Types(pub(super) ResourceTypesServiceClient<Channel>);
/// A type's resources, under a parent when one is given.
pub(super) struct Resources(
    pub(super) ResourcesServiceClient<Channel>,
    pub(super) String,
    pub(super) Option<pb::ResourceId>,
);
pub(super) struct Entitlements(
    pub(super) EntitlementsServiceClient<Channel>,
    pub(super) pb::Resource,
);
pub(super) struct Grants(
    pub(super) GrantsServiceClient<Channel>,
    pub(super) pb::Resource,
);

impl Listing for Types {
    type Item = pb::ResourceType;
    const PHASE: Phase = Phase::ResourceTypes;
    async fn page(
        &self,
        page_token: String,
        active_sync_id: String,
    ) -> Result<PageOf<Self::Item>, Status> {
        let req = pb::ResourceTypesServiceListResourceTypesRequest {
            page_token,
            active_sync_id,
            ..Default::default()
        };
        let r = self.0.clone().list_resource_types(req).await?.into_inner();
        Ok((r.list, r.next_page_token, r.annotations))
    }
}

impl Listing for Resources {
    type Item = pb::Resource;
    const PHASE: Phase = Phase::Resources;
    async fn page(
        &self,
        page_token: String,
        active_sync_id: String,
    ) -> Result<PageOf<Self::Item>, Status> {
        let req = pb::ResourcesServiceListResourcesRequest {
            resource_type_id: self.1.clone(),
            parent_resource_id: self.2.clone(),
            page_token,
            active_sync_id,
            ..Default::default()
        };
        let r = self.0.clone().list_resources(req).await?.into_inner();
        Ok((r.list, r.next_page_token, r.annotations))
    }
}

impl Listing for Entitlements {
    type Item = pb::Entitlement;
    const PHASE: Phase = Phase::Entitlements;
    async fn page(
        &self,
        page_token: String,
        active_sync_id: String,
    ) -> Result<PageOf<Self::Item>, Status> {
        let req = pb::EntitlementsServiceListEntitlementsRequest {
            resource: Some(self.1.clone()),
            page_token,
            active_sync_id,
            ..Default::default()
        };
        let r = self.0.clone().list_entitlements(req).await?.into_inner();
        Ok((r.list, r.next_page_token, r.annotations))
    }
}

impl Listing for Grants {
    type Item = pb::Grant;
    const PHASE: Phase = Phase::Grants;
    async fn page(
        &self,
        page_token: String,
        active_sync_id: String,
    ) -> Result<PageOf<Self::Item>, Status> {
        let req = pb::GrantsServiceListGrantsRequest {
            resource: Some(self.1.clone()),
            page_token,
            active_sync_id,
            ..Default::default()
        };
        let r = self.0.clone().list_grants(req).await?.into_inner();
        Ok((r.list, r.next_page_token, r.annotations))
    }
}
