//! Typed calls of the read RPCs, as the platform makes them: one place builds each request, so a
//! test says what it asks and not how a request is spelled.
use miro_connector::pb::{
    self, connector_service_client::ConnectorServiceClient,
    entitlements_service_client::EntitlementsServiceClient,
    grants_service_client::GrantsServiceClient,
    resource_getter_service_client::ResourceGetterServiceClient,
    resource_types_service_client::ResourceTypesServiceClient,
    resources_service_client::ResourcesServiceClient,
};
use tonic::{Status, transport::Channel};

/// One page of `resource_type`'s resources (under `parent` when given), from `token`.
pub async fn resources_page(
    ch: &Channel,
    resource_type: &str,
    parent: Option<pb::ResourceId>,
    token: &str,
) -> Result<pb::ResourcesServiceListResourcesResponse, Status> {
    resources_page_in(ch, resource_type, parent, token, "").await
}

/// The same, as the sync `sync` asks for it (its `active_sync_id`).
pub async fn resources_page_in(
    ch: &Channel,
    resource_type: &str,
    parent: Option<pb::ResourceId>,
    token: &str,
    sync: &str,
) -> Result<pb::ResourcesServiceListResourcesResponse, Status> {
    ResourcesServiceClient::new(ch.clone())
        .list_resources(pb::ResourcesServiceListResourcesRequest {
            resource_type_id: resource_type.into(),
            parent_resource_id: parent,
            page_token: token.into(),
            active_sync_id: sync.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

/// Every resource of a type, page after page.
pub async fn resources(ch: &Channel, resource_type: &str) -> Vec<pb::Resource> {
    resources_in(ch, resource_type, "").await
}

/// Every resource of a type, as the sync `sync` lists them.
pub async fn resources_in(ch: &Channel, resource_type: &str, sync: &str) -> Vec<pb::Resource> {
    all_pages(async |token| {
        let page = resources_page_in(ch, resource_type, None, &token, sync)
            .await
            .unwrap();
        (page.list, page.next_page_token)
    })
    .await
}

/// Every item of a listing: `page` answers a token with its items and the next token.
async fn all_pages<T>(mut page: impl AsyncFnMut(String) -> (Vec<T>, String)) -> Vec<T> {
    let (mut out, mut token) = (Vec::new(), String::new());
    loop {
        let (items, next) = page(token).await;
        out.extend(items);
        if next.is_empty() {
            return out;
        }
        token = next;
    }
}

/// One page of a resource's grants, from `token`.
pub async fn grants_page(
    ch: &Channel,
    resource: &pb::Resource,
    token: &str,
) -> Result<pb::GrantsServiceListGrantsResponse, Status> {
    GrantsServiceClient::new(ch.clone())
        .list_grants(pb::GrantsServiceListGrantsRequest {
            resource: Some(resource.clone()),
            page_token: token.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

/// Every grant of a resource, page after page.
pub async fn grants(ch: &Channel, resource: &pb::Resource) -> Vec<pb::Grant> {
    all_pages(async |token| {
        let page = grants_page(ch, resource, &token).await.unwrap();
        (page.list, page.next_page_token)
    })
    .await
}

/// A resource's entitlements (one page).
pub async fn entitlements(
    ch: &Channel,
    resource: &pb::Resource,
) -> Result<Vec<pb::Entitlement>, Status> {
    EntitlementsServiceClient::new(ch.clone())
        .list_entitlements(pb::EntitlementsServiceListEntitlementsRequest {
            resource: Some(resource.clone()),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().list)
}

/// GetResource.
pub async fn get(
    ch: &Channel,
    id: pb::ResourceId,
    parent: Option<pb::ResourceId>,
) -> Result<pb::Resource, Status> {
    ResourceGetterServiceClient::new(ch.clone())
        .get_resource(pb::ResourceGetterServiceGetResourceRequest {
            resource_id: Some(id),
            parent_resource_id: parent,
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().resource.unwrap_or_default())
}

/// GetMetadata.
pub async fn metadata(ch: &Channel) -> pb::ConnectorMetadata {
    ConnectorServiceClient::new(ch.clone())
        .get_metadata(pb::ConnectorServiceGetMetadataRequest {})
        .await
        .unwrap()
        .into_inner()
        .metadata
        .unwrap()
}

/// Validate.
pub async fn validate(ch: &Channel) -> Result<pb::ConnectorServiceValidateResponse, Status> {
    ConnectorServiceClient::new(ch.clone())
        .validate(pb::ConnectorServiceValidateRequest {})
        .await
        .map(|r| r.into_inner())
}

/// ListResourceTypes.
pub async fn resource_types(ch: &Channel) -> Vec<pb::ResourceType> {
    ResourceTypesServiceClient::new(ch.clone())
        .list_resource_types(pb::ResourceTypesServiceListResourceTypesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .list
}

/// One ListEvents call of `feed`: from `cursor`, or from `start_at` (seconds since the epoch).
pub async fn events_page(
    ch: &Channel,
    feed: &str,
    cursor: &str,
    start_at: Option<i64>,
    page_size: u32,
) -> Result<pb::ListEventsResponse, Status> {
    pb::event_service_client::EventServiceClient::new(ch.clone())
        .list_events(pb::ListEventsRequest {
            event_feed_id: feed.into(),
            cursor: cursor.into(),
            start_at: start_at.map(|seconds| prost_types::Timestamp { seconds, nanos: 0 }),
            page_size,
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

/// A feed read until it is caught up: every event, and the cursor of each call.
pub async fn events(
    ch: &Channel,
    feed: &str,
    mut cursor: String,
    start_at: Option<i64>,
    page_size: u32,
) -> (Vec<pb::Event>, Vec<String>) {
    let (mut out, mut cursors) = (Vec::new(), Vec::new());
    loop {
        let page = events_page(ch, feed, &cursor, start_at, page_size)
            .await
            .unwrap();
        assert!(
            page.events.len() <= page_size as usize,
            "page_size is honoured"
        );
        out.extend(page.events);
        cursor = page.cursor;
        cursors.push(cursor.clone());
        if !page.has_more {
            return (out, cursors);
        }
    }
}

/// ListEventFeeds.
pub async fn event_feeds(ch: &Channel) -> Vec<pb::EventFeedMetadata> {
    pb::event_service_client::EventServiceClient::new(ch.clone())
        .list_event_feeds(pb::ListEventFeedsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .list
}
