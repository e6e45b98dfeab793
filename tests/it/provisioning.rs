//! Grant, Revoke, CreateAccount and DeleteResource against the simulator: each checks the
//! simulator's state afterwards, and that repeating the call changes nothing.
use miro_connector::{
    connector::annotations::find,
    pb::{
        self, account_manager_service_client::AccountManagerServiceClient,
        grant_manager_service_client::GrantManagerServiceClient,
        resource_deleter_service_client::ResourceDeleterServiceClient,
        resource_manager_service_client::ResourceManagerServiceClient,
        resources_service_client::ResourcesServiceClient,
    },
    server::Daemon,
    sim::{Org, SimHandle},
};
use prost_types::{Struct, Value, value::Kind};
use tonic::{Code, Status, transport::Channel};

use super::common::*;

pub(super) struct P {
    pub(super) sim: SimHandle,
    pub(super) daemon: Daemon,
    pub(super) ch: Channel,
}

pub(super) async fn setup(provisioning: bool, scim: bool) -> P {
    let (sim, daemon, ch) = env(300, 6, provisioning, scim).await;
    P { sim, daemon, ch }
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

impl P {
    fn gm(&self) -> GrantManagerServiceClient<Channel> {
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
    async fn delete_v2(&self, t: &str, id: &str) -> Result<Vec<prost_types::Any>, Status> {
        let mut c = ResourceDeleterServiceClient::new(self.ch.clone());
        c.delete_resource_v2(pb::DeleteResourceV2Request {
            resource_id: Some(rid(t, id)),
            parent_resource_id: None,
        })
        .await
        .map(|r| r.into_inner().annotations)
    }
    async fn create(&self, fields: &[(&str, &str)]) -> Result<pb::CreateAccountResponse, Status> {
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
    fn requests(&self) -> u64 {
        self.sim.stats().requests
    }
    fn writes(&self) -> u64 {
        self.sim
            .stats()
            .endpoints
            .iter()
            .filter(|(k, _)| !k.starts_with("GET "))
            .map(|(_, e)| e.requests)
            .sum()
    }
}

fn has<M: prost::Message + prost::Name + Default>(a: &[prost_types::Any]) -> bool {
    find::<M>(a).is_some()
}

/// An active internal user and a team they are not in.
fn outsider(org: &Org) -> (String, String) {
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
fn internal_user(org: &Org) -> String {
    org.members
        .values()
        .find(|m| m.active && m.role == "organization_internal_user")
        .unwrap()
        .id
        .clone()
}

fn team_role(org: &Org, team: &str, user: &str) -> Option<String> {
    org.teams[team].members.get(user).map(|m| m.role.clone())
}

#[tokio::test]
async fn team_grant_invites_then_is_idempotent() {
    let p = setup(true, true).await;
    let (team, user) = outsider(&p.sim.org());
    let before = p.requests();
    let r = p.grant(team_ent(&team, "member"), &user).await.unwrap();
    assert!(p.requests() - before <= 3, "at most three Miro requests");
    assert!(!has::<pb::GrantAlreadyExists>(&r.annotations));
    assert_eq!(r.grants[0].id, format!("team:{team}:member:user:{user}"));
    assert_eq!(
        team_role(&p.sim.org(), &team, &user).as_deref(),
        Some("member")
    );

    let writes = p.writes();
    let r = p.grant(team_ent(&team, "member"), &user).await.unwrap();
    assert!(has::<pb::GrantAlreadyExists>(&r.annotations));
    assert_eq!(p.writes(), writes, "no write when already granted");

    // The other role: a role change, naming the grant it replaced.
    let r = p.grant(team_ent(&team, "admin"), &user).await.unwrap();
    let replaced: pb::GrantReplaced = find(&r.annotations).unwrap();
    assert_eq!(
        replaced.replaced_grant_id,
        format!("team:{team}:member:user:{user}")
    );
    assert_eq!(
        team_role(&p.sim.org(), &team, &user).as_deref(),
        Some("admin")
    );
    let r = p.grant(team_ent(&team, "admin"), &user).await.unwrap();
    assert!(has::<pb::GrantAlreadyExists>(&r.annotations));
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn team_grants_that_miro_refuses() {
    let p = setup(true, true).await;
    let org = p.sim.org();
    let (team, _) = outsider(&org);
    let inactive = org
        .members
        .values()
        .find(|m| !m.active && !org.teams[&team].members.contains_key(&m.id))
        .unwrap();
    let e = p
        .grant(team_ent(&team, "member"), &inactive.id)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("deactivated"), "{}", e.message());
    let e = p
        .grant(team_ent(&team, "member"), "3074457345699999999")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(
        e.message()
            .contains("not a member of the Miro organization"),
        "{}",
        e.message()
    );
    for role in ["non_team", "team_guest"] {
        let e = p
            .grant(team_ent(&team, role), &org.admin_user_id)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "{role}");
        assert!(e.message().contains("member or admin"), "{}", e.message());
    }
    assert_eq!(p.writes(), 0);
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn team_revoke_removes_only_the_role_named() {
    let p = setup(true, true).await;
    let org = p.sim.org();
    let (team, user) = org
        .teams
        .values()
        .flat_map(|t| t.members.iter().map(move |(u, m)| (t, u, m)))
        .find(|(t, u, m)| m.role == "member" && **u != org.admin_user_id && t.members.len() > 2)
        .map(|(t, u, _)| (t.id.clone(), u.clone()))
        .unwrap();
    // A stale admin grant must not remove a member.
    let r = p.revoke(team_ent(&team, "admin"), &user).await.unwrap();
    assert!(has::<pb::GrantAlreadyRevoked>(&r.annotations));
    assert_eq!(
        team_role(&p.sim.org(), &team, &user).as_deref(),
        Some("member")
    );
    assert_eq!(p.writes(), 0);

    let before = p.requests();
    let r = p.revoke(team_ent(&team, "member"), &user).await.unwrap();
    assert!(p.requests() - before <= 3);
    assert!(!has::<pb::GrantAlreadyRevoked>(&r.annotations));
    assert_eq!(team_role(&p.sim.org(), &team, &user), None);
    let writes = p.writes();
    let r = p.revoke(team_ent(&team, "member"), &user).await.unwrap();
    assert!(has::<pb::GrantAlreadyRevoked>(&r.annotations));
    assert_eq!(p.writes(), writes);
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn org_roles_through_scim() {
    let p = setup(true, true).await;
    let org = p.sim.org();
    let user = internal_user(&org);
    let role = |p: &P| p.sim.org().members[&user].role.clone();

    let r = p
        .grant(role_ent("organization_internal_admin"), &user)
        .await
        .unwrap();
    assert_eq!(role(&p), "organization_internal_admin");
    let replaced: pb::GrantReplaced = find(&r.annotations).unwrap();
    assert_eq!(
        replaced.replaced_grant_id,
        format!("role:organization_internal_user:assigned:user:{user}")
    );
    let writes = p.writes();
    let r = p
        .grant(role_ent("organization_internal_admin"), &user)
        .await
        .unwrap();
    assert!(has::<pb::GrantAlreadyExists>(&r.annotations));
    assert_eq!(p.writes(), writes);

    // Revoking admin leaves an internal user.
    let before = p.requests();
    p.revoke(role_ent("organization_internal_admin"), &user)
        .await
        .unwrap();
    assert!(p.requests() - before <= 3);
    assert_eq!(role(&p), "organization_internal_user");
    let r = p
        .revoke(role_ent("organization_internal_admin"), &user)
        .await
        .unwrap();
    assert!(has::<pb::GrantAlreadyRevoked>(&r.annotations));

    let e = p
        .revoke(role_ent("organization_internal_user"), &user)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("base role"), "{}", e.message());
    for r in ["organization_external_user", "organization_team_guest_user"] {
        let e = p.grant(role_ent(r), &user).await.unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "{r}");
    }
    assert_eq!(role(&p), "organization_internal_user");
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn admin_roles_through_scim() {
    let p = setup(true, true).await;
    let org = p.sim.org();
    let user = org
        .members
        .values()
        .find(|m| {
            m.active
                && m.role == "organization_internal_admin"
                && m.admin_roles.iter().all(|r| r.kind == "custom")
        })
        .unwrap()
        .id
        .clone();
    // The prebuilt roles the user holds (custom ones are tested on their own).
    let names = |p: &P| {
        p.sim.org().members[&user]
            .admin_roles
            .iter()
            .filter(|r| r.kind != "custom")
            .map(|r| r.name.clone())
            .collect::<Vec<_>>()
    };

    p.grant(role_ent("admin_role_user_admin"), &user)
        .await
        .unwrap();
    assert_eq!(names(&p), ["User Admin"]);
    let r = p
        .grant(role_ent("admin_role_user_admin"), &user)
        .await
        .unwrap();
    assert!(has::<pb::GrantAlreadyExists>(&r.annotations));
    assert_eq!(names(&p), ["User Admin"]);

    p.revoke(role_ent("admin_role_user_admin"), &user)
        .await
        .unwrap();
    assert!(names(&p).is_empty());
    let r = p
        .revoke(role_ent("admin_role_user_admin"), &user)
        .await
        .unwrap();
    assert!(has::<pb::GrantAlreadyRevoked>(&r.annotations));
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn create_account_then_already_exists() {
    let p = setup(true, true).await;
    let fields = [
        ("email", "new.person+miro@example.com"),
        ("first_name", "Zoë"),
        ("last_name", "Ødegaard"),
        ("license", "basic"),
    ];
    let r = p.create(&fields).await.unwrap();
    let Some(pb::create_account_response::Result::Success(s)) = r.result else {
        panic!("expected success: {r:?}")
    };
    let resource = s.resource.unwrap();
    let id = resource.id.clone().unwrap();
    assert_eq!(id.resource_type, "user");
    assert_eq!(resource.display_name, "Zoë Ødegaard");
    let ut: pb::UserTrait = find(&resource.annotations).unwrap();
    assert_eq!(ut.login, "new.person+miro@example.com");
    let m = p.sim.org().members[&id.resource].clone();
    assert_eq!(
        (m.email.as_str(), m.license.as_str(), m.active),
        ("new.person+miro@example.com", "basic", true)
    );

    // It lists the same way ListResources lists it.
    let mut rc = ResourcesServiceClient::new(p.ch.clone());
    let mut token = String::new();
    let listed = loop {
        let page = rc
            .list_resources(pb::ResourcesServiceListResourcesRequest {
                resource_type_id: "user".into(),
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        if let Some(r) = page.list.into_iter().find(|r| r.id.as_ref() == Some(&id)) {
            break r;
        }
        assert!(
            !page.next_page_token.is_empty(),
            "the new user is not listed"
        );
        token = page.next_page_token;
    };
    assert_eq!(listed, resource);

    let writes = p.writes();
    let r = p.create(&fields).await.unwrap();
    let Some(pb::create_account_response::Result::AlreadyExists(a)) = r.result else {
        panic!("expected already exists: {r:?}")
    };
    assert_eq!(a.resource.unwrap().id, Some(id));
    assert_eq!(p.writes(), writes);

    for (bad, what) in [
        (vec![("first_name", "A")], "email is required"),
        (vec![("email", "not-an-email")], "not a valid email"),
    ] {
        let e = p.create(&bad).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().contains(what), "{}", e.message());
    }
    let e = p
        .create(&[("email", "x@example.com"), ("license", "platinum")])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn create_account_needs_scim() {
    let p = setup(true, false).await;
    let e = p.create(&[("email", "x@example.com")]).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("SCIM token"), "{}", e.message());
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn deprovision_deactivates_by_default() {
    let p = setup(true, true).await;
    let org = p.sim.org();
    let user = internal_user(&org);
    let annotations = p.delete("user", &user).await.unwrap();
    assert!(!has::<pb::ResourceDoesNotExist>(&annotations));
    let m = p.sim.org().members[&user].clone();
    assert!(!m.active, "deactivated, not deleted");
    let writes = p.writes();
    assert!(has::<pb::ResourceDoesNotExist>(
        &p.delete_v2("user", &user).await.unwrap()
    ));
    assert_eq!(p.writes(), writes);

    let guest = org
        .members
        .values()
        .find(|m| m.role == "organization_team_guest_user")
        .unwrap()
        .id
        .clone();
    let e = p.delete("user", &guest).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(has::<pb::ResourceDoesNotExist>(
        &p.delete("user", "3074457345699999999").await.unwrap()
    ));
    for t in ["team", "role"] {
        assert_eq!(
            p.delete(t, "1").await.unwrap_err().code(),
            Code::FailedPrecondition,
            "{t}"
        );
    }
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn deprovision_can_delete() {
    // The token owner is the organization's only admin, which Miro refuses to delete.
    let mut org = org(300, 6);
    let owner = org.admin_user_id.clone();
    for m in org
        .members
        .values_mut()
        .filter(|m| m.id != owner && m.role == "organization_internal_admin")
    {
        m.role = "organization_internal_user".into();
    }
    let sim = start_sim(miro_connector::sim::SimConfig::new(org.clone())).await;
    let mut args = settings(&sim, true, true);
    args.deprovision_mode = Some(miro_connector::connector::DeprovisionMode::Delete);
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    let p = P { sim, daemon, ch };
    let user = org
        .members
        .values()
        .find(|m| {
            m.role == "organization_internal_user"
                && org
                    .teams
                    .values()
                    .all(|t| t.members.get(&m.id).is_none_or(|tm| tm.role != "admin"))
        })
        .unwrap()
        .id
        .clone();
    p.delete("user", &user).await.unwrap();
    let after = p.sim.org();
    assert!(!after.members.contains_key(&user));
    assert!(after.teams.values().all(|t| !t.members.contains_key(&user)));
    assert!(has::<pb::ResourceDoesNotExist>(
        &p.delete("user", &user).await.unwrap()
    ));

    let e = p.delete("user", &owner).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("last admin"), "{}", e.message());
    assert!(p.sim.org().members.contains_key(&owner));
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn writes_are_refused_when_provisioning_is_off() {
    let p = setup(false, true).await;
    let (team, user) = outsider(&p.sim.org());
    let errors = vec![
        p.grant(team_ent(&team, "member"), &user).await.unwrap_err(),
        p.revoke(team_ent(&team, "member"), &user)
            .await
            .unwrap_err(),
        p.create(&[("email", "x@example.com")]).await.unwrap_err(),
        p.delete("user", &user).await.unwrap_err(),
        p.delete_v2("user", &user).await.unwrap_err(),
    ];
    for e in errors {
        assert_eq!(e.code(), Code::FailedPrecondition);
        assert!(e.message().contains("--provisioning"), "{}", e.message());
    }
    assert_eq!(p.writes(), 0);
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_invalid_argument() {
    let p = setup(true, true).await;
    let (team, user) = outsider(&p.sim.org());
    let mut empty_ids = team_ent(&team, "member");
    empty_ids.resource = Some(res("team", ""));
    let mut mismatched = team_ent(&team, "member");
    mismatched.id = "team:999:member".into();
    let cases = vec![
        (
            "empty entitlement resource id",
            p.grant(empty_ids, &user).await.unwrap_err(),
        ),
        (
            "empty principal id",
            p.grant(team_ent(&team, "member"), "").await.unwrap_err(),
        ),
        (
            "entitlement of another resource",
            p.grant(mismatched, &user).await.unwrap_err(),
        ),
        (
            "unknown resource type",
            p.grant(
                pb::Entitlement {
                    resource: Some(res("board", "1")),
                    id: "board:1:x".into(),
                    ..Default::default()
                },
                &user,
            )
            .await
            .unwrap_err(),
        ),
        (
            "principal not a user",
            p.gm()
                .grant(pb::GrantManagerServiceGrantRequest {
                    entitlement: Some(team_ent(&team, "member")),
                    principal: Some(res("team", &team)),
                    annotations: vec![],
                })
                .await
                .unwrap_err(),
        ),
        (
            "unknown team role",
            p.grant(team_ent(&team, "owner"), &user).await.unwrap_err(),
        ),
        (
            "delete of an unknown type",
            p.delete("board", "1").await.unwrap_err(),
        ),
        ("delete with no id", p.delete("", "").await.unwrap_err()),
    ];
    for (what, e) in cases {
        assert_eq!(e.code(), Code::InvalidArgument, "{what}: {e:?}");
        assert!(!e.message().is_empty());
    }
    let mut rc = ResourcesServiceClient::new(p.ch.clone());
    for (t, token) in [
        ("user", "garbage"),
        ("team", "mc1.AAAA"),
        ("zebra", ""),
        ("", ""),
    ] {
        let e = rc
            .list_resources(pb::ResourcesServiceListResourcesRequest {
                resource_type_id: t.into(),
                page_token: token.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{t} {token}");
    }
    // A token from one listing is refused by another.
    let page = rc
        .list_resources(pb::ResourcesServiceListResourcesRequest {
            resource_type_id: "user".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!page.next_page_token.is_empty());
    let e = rc
        .list_resources(pb::ResourcesServiceListResourcesRequest {
            resource_type_id: "team".into(),
            page_token: page.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(p.writes(), 0);
    p.daemon.shutdown().await;
}
