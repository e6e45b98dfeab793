//! The write tests' calls on a `Harness`: one per write RPC, as the platform makes them, and the
//! entitlements they name.
use miro_connector::{
    connector::annotations::find,
    pb::{
        self, account_manager_service_client::AccountManagerServiceClient,
        grant_manager_service_client::GrantManagerServiceClient,
        resource_deleter_service_client::ResourceDeleterServiceClient,
        resource_manager_service_client::ResourceManagerServiceClient,
    },
    sim::Org,
};
use prost_types::{Struct, Value, value::Kind};
use tonic::{Status, transport::Channel};

use super::common::*;

/// A board of the generated org that `f` accepts.
pub(super) fn board_with(
    org: &miro_connector::sim::Org,
    f: impl Fn(&miro_connector::sim::state::Board) -> bool,
) -> &miro_connector::sim::state::Board {
    org.boards
        .values()
        .find(|b| f(b))
        .expect("the generated org has such a board")
}

/// A Space `user` is not a member of.
pub(super) fn space_without<'a>(
    org: &'a Org,
    user: &str,
) -> &'a miro_connector::sim::state::Project {
    org.projects
        .values()
        .find(|s| !s.members.contains_key(user))
        .expect("the generated org has such a Space")
}

/// An entitlement of a board or a Space (a Space carries its team as its parent).
pub(super) fn content_ent(t: &str, id: &str, role: &str, team: Option<&str>) -> pb::Entitlement {
    let mut r = res(t, id);
    r.parent_resource_id = team.map(|t| rid("team", t));
    pb::Entitlement {
        resource: Some(r),
        id: format!("{t}:{id}:{role}"),
        slug: role.into(),
        ..Default::default()
    }
}

pub(super) fn team_ent(team: &str, role: &str) -> pb::Entitlement {
    pb::Entitlement {
        resource: Some(res("team", team)),
        id: format!("team:{team}:{role}"),
        slug: role.into(),
        ..Default::default()
    }
}

pub(super) fn role_ent(role: &str) -> pb::Entitlement {
    pb::Entitlement {
        resource: Some(res("role", role)),
        id: format!("role:{role}:assigned"),
        slug: "assigned".into(),
        ..Default::default()
    }
}

impl Harness {
    pub(super) fn gm(&self) -> GrantManagerServiceClient<Channel> {
        GrantManagerServiceClient::new(self.ch.clone())
    }
    pub(super) async fn grant(
        &self,
        e: pb::Entitlement,
        user: &str,
    ) -> Result<pb::GrantManagerServiceGrantResponse, Status> {
        self.grant_to(e, res("user", user)).await
    }
    pub(super) async fn grant_to(
        &self,
        e: pb::Entitlement,
        principal: pb::Resource,
    ) -> Result<pb::GrantManagerServiceGrantResponse, Status> {
        self.gm()
            .grant(pb::GrantManagerServiceGrantRequest {
                entitlement: Some(e),
                principal: Some(principal),
                annotations: vec![],
            })
            .await
            .map(|r| r.into_inner())
    }
    pub(super) async fn revoke(
        &self,
        e: pb::Entitlement,
        user: &str,
    ) -> Result<pb::GrantManagerServiceRevokeResponse, Status> {
        self.revoke_from(e, res("user", user)).await
    }
    pub(super) async fn revoke_from(
        &self,
        e: pb::Entitlement,
        principal: pb::Resource,
    ) -> Result<pb::GrantManagerServiceRevokeResponse, Status> {
        let id = principal.id.clone().unwrap();
        let grant = pb::Grant {
            id: format!("{}:{}:{}", e.id, id.resource_type, id.resource),
            entitlement: Some(e),
            principal: Some(principal),
            ..Default::default()
        };
        self.gm()
            .revoke(pb::GrantManagerServiceRevokeRequest {
                grant: Some(grant),
                annotations: vec![],
            })
            .await
            .map(|r| r.into_inner())
    }
    pub(super) async fn delete(&self, t: &str, id: &str) -> Result<Vec<prost_types::Any>, Status> {
        let mut c = ResourceManagerServiceClient::new(self.ch.clone());
        c.delete_resource(pb::DeleteResourceRequest {
            resource_id: Some(rid(t, id)),
            parent_resource_id: None,
        })
        .await
        .map(|r| r.into_inner().annotations)
    }
    pub(super) async fn delete_v2(
        &self,
        t: &str,
        id: &str,
    ) -> Result<Vec<prost_types::Any>, Status> {
        let mut c = ResourceDeleterServiceClient::new(self.ch.clone());
        c.delete_resource_v2(pb::DeleteResourceV2Request {
            resource_id: Some(rid(t, id)),
            parent_resource_id: None,
        })
        .await
        .map(|r| r.into_inner().annotations)
    }
    pub(super) async fn create(
        &self,
        fields: &[(&str, &str)],
    ) -> Result<pb::CreateAccountResponse, Status> {
        let profile = Struct {
            fields: fields
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        Value {
                            kind: Some(Kind::StringValue(v.to_string())),
                        },
                    )
                })
                .collect(),
        };
        let req = pb::CreateAccountRequest {
            account_info: Some(pb::AccountInfo {
                profile: Some(profile),
                ..Default::default()
            }),
            credential_options: Some(pb::CredentialOptions {
                options: Some(pb::credential_options::Options::NoPassword(
                    pb::credential_options::NoPassword {},
                )),
                force_change_at_next_login: false,
            }),
            resource_type_id: "user".into(),
            ..Default::default()
        };
        AccountManagerServiceClient::new(self.ch.clone())
            .create_account(req)
            .await
            .map(|r| r.into_inner())
    }
    pub(super) fn requests(&self) -> u64 {
        self.sim.stats().requests
    }
    pub(super) fn writes(&self) -> u64 {
        self.sim
            .stats()
            .endpoints
            .iter()
            .filter(|(k, _)| !k.starts_with("GET "))
            .map(|(_, e)| e.requests)
            .sum()
    }
}

pub(super) fn has<M: prost::Message + prost::Name + Default>(a: &[prost_types::Any]) -> bool {
    find::<M>(a).is_some()
}

/// An active internal user and a team they are not in.
pub(super) fn outsider(org: &Org) -> (String, String) {
    let team = org.teams.values().last().unwrap();
    let user = org
        .members
        .values()
        .find(|m| {
            m.active && m.role == "organization_internal_user" && !team.members.contains_key(&m.id)
        })
        .unwrap();
    (team.id.clone(), user.id.clone())
}

/// An active internal user (one SCIM can change).
pub(super) fn internal_user(org: &Org) -> String {
    org.members
        .values()
        .find(|m| m.active && m.role == "organization_internal_user")
        .unwrap()
        .id
        .clone()
}

pub(super) fn team_role(org: &Org, team: &str, user: &str) -> Option<String> {
    org.teams[team].members.get(user).map(|m| m.role.clone())
}
