//! The c1.connector.v2 services: thin, they check the request's shape and dispatch through the
//! registry of resource types (`kinds`); no resource type is named here.
use tonic::{Request, Response, Status};

use super::{
    Connector, ConnectorError,
    annotations::pack,
    ids::require_id,
    kinds::{Kind, only_page},
    metadata,
};
use crate::miro::ratelimit::{tracking_waits, with_deadline};

/// Kept back from an RPC's deadline to answer in: a wait that would eat into it ends the RPC early.
const ANSWER_TIME: std::time::Duration = std::time::Duration::from_millis(500);

/// The client's `grpc-timeout` (`<digits><unit>`), when it sent one.
fn grpc_timeout(meta: &tonic::metadata::MetadataMap) -> Option<std::time::Duration> {
    let v = meta.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    use std::time::Duration as D;
    Some(match unit {
        "H" => D::from_secs(n.saturating_mul(3600)),
        "M" => D::from_secs(n.saturating_mul(60)),
        "S" => D::from_secs(n),
        "m" => D::from_millis(n),
        "u" => D::from_micros(n),
        "n" => D::from_nanos(n),
        _ => return None,
    })
}

impl Connector {
    /// Run an RPC's work within its deadline (the server's, or the client's when sooner), and say
    /// how long it waited on Miro's limits. Read-ahead learns from it whether the client is still
    /// walking: this RPC under way, ended, or cancelled (dropped before its end).
    pub(super) async fn within<F: Future>(
        &self,
        meta: &tonic::metadata::MetadataMap,
        f: F,
    ) -> (F::Output, std::time::Duration) {
        let limit = self.settings().rpc_timeout;
        let budget = grpc_timeout(meta).map_or(limit, |t| t.min(limit));
        let deadline = tokio::time::Instant::now() + budget.saturating_sub(ANSWER_TIME);
        let rpc = self.ahead.rpc();
        let out = rpc.run(with_deadline(deadline, tracking_waits(f))).await;
        rpc.done();
        out
    }
}
use crate::pb::{
    self, account_manager_service_server::AccountManagerService,
    connector_service_server::ConnectorService, entitlements_service_server::EntitlementsService,
    grant_manager_service_server::GrantManagerService, grants_service_server::GrantsService,
    resource_deleter_service_server::ResourceDeleterService,
    resource_getter_service_server::ResourceGetterService,
    resource_manager_service_server::ResourceManagerService,
    resource_types_service_server::ResourceTypesService,
    resources_service_server::ResourcesService,
};

type Rpc<T> = Result<Response<T>, Status>;

/// A RateLimitWaitReport when the RPC waited on Miro's rate limits.
fn wait_report(waited: std::time::Duration) -> Vec<prost_types::Any> {
    if waited.is_zero() {
        return Vec::new();
    }
    let wait_ms = i64::try_from(waited.as_millis()).unwrap_or(i64::MAX);
    vec![pack(&pb::RateLimitWaitReport { wait_ms })]
}

fn ok<T>(r: Result<T, ConnectorError>) -> Rpc<T> {
    r.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl ConnectorService for Connector {
    async fn get_metadata(
        &self,
        _: Request<pb::ConnectorServiceGetMetadataRequest>,
    ) -> Rpc<pb::ConnectorServiceGetMetadataResponse> {
        Ok(Response::new(pb::ConnectorServiceGetMetadataResponse {
            metadata: Some(self.metadata()),
        }))
    }

    async fn validate(
        &self,
        req: Request<pb::ConnectorServiceValidateRequest>,
    ) -> Rpc<pb::ConnectorServiceValidateResponse> {
        ok(self
            .within(req.metadata(), self.check_access())
            .await
            .0
            .map(|_| pb::ConnectorServiceValidateResponse {
                annotations: Vec::new(),
                sdk_version: metadata::SDK_VERSION.into(),
            }))
    }

    async fn cleanup(
        &self,
        req: Request<pb::ConnectorServiceCleanupRequest>,
    ) -> Rpc<pb::ConnectorServiceCleanupResponse> {
        // baton-sdk calls it when a sync is over: what was read ahead for it goes, and what its
        // member listing said of roles and licenses.
        self.ahead.sync_over();
        self.holdings.forget(&req.get_ref().active_sync_id);
        Ok(Response::new(pb::ConnectorServiceCleanupResponse::default()))
    }
}

#[tonic::async_trait]
impl ResourceTypesService for Connector {
    async fn list_resource_types(
        &self,
        req: Request<pb::ResourceTypesServiceListResourceTypesRequest>,
    ) -> Rpc<pb::ResourceTypesServiceListResourceTypesResponse> {
        ok(only_page(&req.get_ref().page_token).map(|_| {
            pb::ResourceTypesServiceListResourceTypesResponse {
                list: self.resource_types().into_iter().map(|(t, _)| t).collect(),
                ..Default::default()
            }
        }))
    }
}

#[tonic::async_trait]
impl ResourcesService for Connector {
    async fn list_resources(
        &self,
        req: Request<pb::ResourcesServiceListResourcesRequest>,
    ) -> Rpc<pb::ResourcesServiceListResourcesResponse> {
        let (meta, _, r) = req.into_parts();
        let (result, waited) = self
            .within(&meta, async {
                let kind = Kind::named(&r.resource_type_id)?;
                let parent = r
                    .parent_resource_id
                    .as_ref()
                    .filter(|p| !p.resource.is_empty());
                self.list(
                    kind,
                    parent,
                    (&r.page_token, r.page_size),
                    &r.active_sync_id,
                )
                .await
            })
            .await;
        ok(result.map(
            |(list, next_page_token)| pb::ResourcesServiceListResourcesResponse {
                list,
                next_page_token,
                annotations: wait_report(waited),
            },
        ))
    }
}

#[tonic::async_trait]
impl ResourceGetterService for Connector {
    async fn get_resource(
        &self,
        req: Request<pb::ResourceGetterServiceGetResourceRequest>,
    ) -> Rpc<pb::ResourceGetterServiceGetResourceResponse> {
        let (meta, _, r) = req.into_parts();
        let (result, _) = self
            .within(&meta, async {
                let id = require_id("resource_id", r.resource_id.as_ref())?;
                self.get(id, r.parent_resource_id.as_ref()).await
            })
            .await;
        ok(
            result.map(|resource| pb::ResourceGetterServiceGetResourceResponse {
                resource: Some(resource),
                annotations: Vec::new(),
            }),
        )
    }
}

#[tonic::async_trait]
impl EntitlementsService for Connector {
    async fn list_entitlements(
        &self,
        req: Request<pb::EntitlementsServiceListEntitlementsRequest>,
    ) -> Rpc<pb::EntitlementsServiceListEntitlementsResponse> {
        let (meta, _, r) = req.into_parts();
        let (result, waited) = self
            .within(&meta, async {
                only_page(&r.page_token)?;
                let resource = r.resource.as_ref().ok_or_else(|| {
                    ConnectorError::InvalidArgument("resource is required".into())
                })?;
                let id = require_id("resource.id", resource.id.as_ref())?;
                self.entitlements(resource, id).await
            })
            .await;
        ok(
            result.map(|list| pb::EntitlementsServiceListEntitlementsResponse {
                list,
                annotations: wait_report(waited),
                ..Default::default()
            }),
        )
    }

    async fn list_static_entitlements(
        &self,
        _: Request<pb::EntitlementsServiceListStaticEntitlementsRequest>,
    ) -> Rpc<pb::EntitlementsServiceListStaticEntitlementsResponse> {
        // Every entitlement here is listed per resource; the official client needs an empty answer.
        Ok(Response::new(
            pb::EntitlementsServiceListStaticEntitlementsResponse::default(),
        ))
    }
}

#[tonic::async_trait]
impl GrantsService for Connector {
    async fn list_grants(
        &self,
        req: Request<pb::GrantsServiceListGrantsRequest>,
    ) -> Rpc<pb::GrantsServiceListGrantsResponse> {
        let (meta, _, r) = req.into_parts();
        let (result, waited) = self
            .within(&meta, async {
                let resource = r.resource.as_ref().ok_or_else(|| {
                    ConnectorError::InvalidArgument("resource is required".into())
                })?;
                let id = require_id("resource.id", resource.id.as_ref())?;
                self.grants(
                    resource,
                    id,
                    (&r.page_token, r.page_size),
                    &r.active_sync_id,
                )
                .await
            })
            .await;
        ok(result.map(|(list, next_page_token, mut annotations)| {
            annotations.extend(wait_report(waited));
            pb::GrantsServiceListGrantsResponse {
                list,
                next_page_token,
                annotations,
            }
        }))
    }
}

#[tonic::async_trait]
impl GrantManagerService for Connector {
    async fn grant(
        &self,
        req: Request<pb::GrantManagerServiceGrantRequest>,
    ) -> Rpc<pb::GrantManagerServiceGrantResponse> {
        let (meta, _, r) = req.into_parts();
        ok(self.within(&meta, self.apply_grant(r)).await.0)
    }

    async fn revoke(
        &self,
        req: Request<pb::GrantManagerServiceRevokeRequest>,
    ) -> Rpc<pb::GrantManagerServiceRevokeResponse> {
        let (meta, _, r) = req.into_parts();
        ok(self.within(&meta, self.apply_revoke(r)).await.0)
    }
}

#[tonic::async_trait]
impl AccountManagerService for Connector {
    async fn create_account(
        &self,
        req: Request<pb::CreateAccountRequest>,
    ) -> Rpc<pb::CreateAccountResponse> {
        let (meta, _, r) = req.into_parts();
        ok(self.within(&meta, self.create_scim_account(r)).await.0)
    }
}

#[tonic::async_trait]
impl ResourceManagerService for Connector {
    async fn create_resource(
        &self,
        req: Request<pb::CreateResourceRequest>,
    ) -> Rpc<pb::CreateResourceResponse> {
        let work = self.create_group(req.get_ref().resource.as_ref());
        ok(self.within(req.metadata(), work).await.0)
    }

    async fn delete_resource(
        &self,
        req: Request<pb::DeleteResourceRequest>,
    ) -> Rpc<pb::DeleteResourceResponse> {
        let work = self.delete(req.get_ref().resource_id.as_ref());
        ok(self
            .within(req.metadata(), work)
            .await
            .0
            .map(|annotations| pb::DeleteResourceResponse { annotations }))
    }
}

#[tonic::async_trait]
impl ResourceDeleterService for Connector {
    async fn delete_resource_v2(
        &self,
        req: Request<pb::DeleteResourceV2Request>,
    ) -> Rpc<pb::DeleteResourceV2Response> {
        let work = self.delete(req.get_ref().resource_id.as_ref());
        ok(self
            .within(req.metadata(), work)
            .await
            .0
            .map(|annotations| pb::DeleteResourceV2Response { annotations }))
    }
}
