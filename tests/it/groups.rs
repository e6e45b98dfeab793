//! User groups, licenses and custom admin roles: provisioning against the simulator (each call's
//! state change and its repeat), and a sync without the groups scope.
use miro_connector::{
    client,
    connector::annotations::find,
    pb::{self, resource_manager_service_client::ResourceManagerServiceClient},
    sim::SimConfig,
};
use tonic::Code;

use super::{common::*, writer::*};

fn has<M: prost::Message + prost::Name + Default>(a: &[prost_types::Any]) -> bool {
    find::<M>(a).is_some()
}

fn ent(t: &str, id: &str, slug: &str) -> pb::Entitlement {
    pb::Entitlement {
        resource: Some(res(t, id)),
        id: format!("{t}:{id}:{slug}"),
        slug: slug.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn group_membership_is_added_and_removed_by_patch_not_delete() {
    let p = Fixture::new().writes().start().await;
    let org = p.sim.org();
    let g = org.groups.values().next().unwrap();
    let user = org
        .members
        .keys()
        .find(|u| !g.members.contains(*u))
        .unwrap()
        .clone();
    let member = ent("group", &g.id, "member");
    let in_group = |p: &Harness| p.sim.org().groups[&g.id].members.contains(&user);

    let r = p.grant(member.clone(), &user).await.unwrap();
    assert!(in_group(&p));
    assert!(r.annotations.is_empty(), "{:?}", r.annotations);
    assert_eq!(r.grants[0].id, format!("group:{}:member:user:{user}", g.id));
    let r = p.grant(member.clone(), &user).await.unwrap();
    assert!(has::<pb::GrantAlreadyExists>(&r.annotations));

    p.sim.reset_stats();
    p.revoke(member.clone(), &user).await.unwrap();
    assert!(!in_group(&p));
    let stats = p.sim.stats();
    let patch = &stats.endpoints["PATCH /v2/orgs/{org_id}/groups/{group_id}/members"];
    assert_eq!(
        (patch.requests, patch.credits),
        (1, 50),
        "one item, 50 credits"
    );
    assert_eq!(
        stats.requests_to("DELETE /v2/orgs/{org_id}/groups/{group_id}/members/{member_id}"),
        0,
        "never the 2,000-credit DELETE"
    );
    let r = p.revoke(member, &user).await.unwrap();
    assert!(has::<pb::GrantAlreadyRevoked>(&r.annotations));
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn a_group_is_assigned_to_a_team_and_taken_off_it() {
    let p = Fixture::new().writes().start().await;
    let org = p.sim.org();
    let (g, team) = org
        .groups
        .values()
        .find_map(|g| {
            org.teams
                .keys()
                .find(|t| !g.teams.contains(*t))
                .map(|t| (g.id.clone(), t.clone()))
        })
        .unwrap();
    let assigned = |p: &Harness| p.sim.org().groups[&g].teams.contains(&team);
    let member = team_ent(&team, "member");

    let r = p.grant_to(member.clone(), res("group", &g)).await.unwrap();
    assert!(assigned(&p));
    let granted = &r.grants[0];
    assert_eq!(granted.id, format!("team:{team}:member:group:{g}"));
    let e: pb::GrantExpandable = find(&granted.annotations).unwrap();
    assert_eq!(e.entitlement_ids, [format!("group:{g}:member")]);
    let r = p.grant_to(member.clone(), res("group", &g)).await.unwrap();
    assert!(has::<pb::GrantAlreadyExists>(&r.annotations));

    p.revoke_from(member.clone(), res("group", &g))
        .await
        .unwrap();
    assert!(!assigned(&p));
    let r = p.revoke_from(member, res("group", &g)).await.unwrap();
    assert!(has::<pb::GrantAlreadyRevoked>(&r.annotations));

    // A group holds team membership and nothing else.
    let e = p
        .grant_to(team_ent(&team, "admin"), res("group", &g))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{}", e.message());
    let e = p
        .grant_to(ent("group", &g, "admin"), res("user", &org.admin_user_id))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{}", e.message());
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn groups_are_created_and_deleted_once() {
    let p = Fixture::new().writes().start().await;
    let mut c = ResourceManagerServiceClient::new(p.ch.clone());
    let create = |name: &str| pb::CreateResourceRequest {
        resource: Some(pb::Resource {
            id: Some(rid("group", "")),
            display_name: name.into(),
            description: "Made by a test".into(),
            ..Default::default()
        }),
    };
    let a = c
        .create_resource(create("Reviewers"))
        .await
        .unwrap()
        .into_inner();
    let b = c
        .create_resource(create("Reviewers"))
        .await
        .unwrap()
        .into_inner();
    let id = a.created.unwrap().id.unwrap().resource;
    assert_eq!(
        b.created.unwrap().id.unwrap().resource,
        id,
        "the same group"
    );
    let named = |p: &Harness| {
        p.sim
            .org()
            .groups
            .values()
            .filter(|g| g.name == "Reviewers")
            .count()
    };
    assert_eq!(named(&p), 1);
    let e = c.create_resource(create("")).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    assert!(p.delete("group", &id).await.unwrap().is_empty());
    assert_eq!(named(&p), 0);
    let deletes = || {
        p.sim
            .stats()
            .requests_to("DELETE /v2/orgs/{org_id}/groups/{group_id}")
    };
    assert_eq!(deletes(), 1);
    let again = p.delete("group", &id).await.unwrap();
    assert!(has::<pb::ResourceDoesNotExist>(&again));
    assert_eq!(
        deletes(),
        1,
        "a repeat reads, and sends no second DELETE (Level 4)"
    );
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn full_licenses_are_granted_and_never_taken_away() {
    let p = Fixture::new().writes().start().await;
    let org = p.sim.org();
    let user = org
        .members
        .values()
        .find(|m| m.active && m.role == "organization_internal_user" && m.license == "basic")
        .unwrap()
        .id
        .clone();
    let license = |p: &Harness| p.sim.org().members[&user].license.clone();
    let full = ent("license", "full", "assigned");

    let r = p.grant(full.clone(), &user).await.unwrap();
    assert_eq!(license(&p), "full");
    let replaced: pb::GrantReplaced = find(&r.annotations).unwrap();
    assert_eq!(
        replaced.replaced_grant_id,
        format!("license:basic:assigned:user:{user}")
    );
    let r = p.grant(full.clone(), &user).await.unwrap();
    assert!(has::<pb::GrantAlreadyExists>(&r.annotations));

    let e = p
        .grant(ent("license", "free", "assigned"), &user)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let e = p.revoke(full, &user).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("deprovision"), "{}", e.message());
    assert_eq!(license(&p), "full");
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn custom_admin_roles_are_granted_and_revoked_by_name() {
    use base64::Engine;
    let p = Fixture::new().writes().start().await;
    let org = p.sim.org();
    let user = org
        .members
        .values()
        .find(|m| m.active && m.role == "organization_internal_user" && m.admin_roles.is_empty())
        .unwrap()
        .id
        .clone();
    let name = "Conformité & Audit";
    let id = format!(
        "admin_role_custom_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(name)
    );
    let holds = |p: &Harness| {
        p.sim.org().members[&user]
            .admin_roles
            .iter()
            .any(|r| r.name == name)
    };
    let role = ent("role", &id, "assigned");
    p.grant(role.clone(), &user).await.unwrap();
    assert!(holds(&p));
    let r = p.grant(role.clone(), &user).await.unwrap();
    assert!(has::<pb::GrantAlreadyExists>(&r.annotations));
    p.revoke(role.clone(), &user).await.unwrap();
    assert!(!holds(&p));
    let r = p.revoke(role, &user).await.unwrap();
    assert!(has::<pb::GrantAlreadyRevoked>(&r.annotations));
    // A forged id is not a role.
    let e = p
        .grant(ent("role", "admin_role_custom_!!", "assigned"), &user)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn without_the_groups_scope_the_sync_completes_and_says_why() {
    let mut cfg = SimConfig::new(org(150, 4));
    cfg.scopes
        .retain(|s| !s.starts_with("organizations:groups:"));
    let sim = start_sim(cfg).await;
    // The simulator refuses the group endpoints to such a token.
    let denied = reqwest::Client::new()
        .get(format!("{}/v2/orgs/{}/groups", sim.api_url(), sim.org().id))
        .bearer_auth(sim.access_token())
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    let mut args = settings(&sim, false, true);
    args.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    let snap = client::full_sync(ch, &mut ()).await.unwrap();
    let count = |t: &str| {
        snap.resources
            .iter()
            .filter(|r| r.id.as_ref().unwrap().resource_type == t)
            .count()
    };
    assert_eq!(count("group"), 0);
    assert_eq!(count("user"), 150);
    assert_eq!(count("team"), 4);
    assert!(snap.grants.iter().any(|g| g.id.starts_with("license:")));
    let body = scrape(&daemon).await;
    assert!(
        body.contains("connector_user_groups_skipped_total{reason=\"forbidden\"}"),
        "{body}"
    );
    daemon.shutdown().await;
}
