//! Grant and Revoke of team roles, org roles and admin roles against the simulator: each checks
//! the simulator's state afterwards, and that repeating the call changes nothing.
use miro_connector::{
    connector::annotations::find,
    pb::{self},
    sim::{FaultConfig, FaultRule, SimHandle},
};
use tonic::Code;

use super::{common::*, rpc, writer::*};

#[tokio::test]
async fn team_grant_invites_then_is_idempotent() {
    let p = Fixture::new().writes().start().await;
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
    let p = Fixture::new().writes().start().await;
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
    let p = Fixture::new().writes().start().await;
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
    let p = Fixture::new().writes().start().await;
    let org = p.sim.org();
    let user = internal_user(&org);
    let role = |p: &Harness| p.sim.org().members[&user].role.clone();

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
    let p = Fixture::new().writes().start().await;
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
    let names = |p: &Harness| {
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
async fn writes_are_refused_when_provisioning_is_off() {
    let p = Fixture::new().scim().start().await;
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
    let p = Fixture::new().writes().start().await;
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
                    resource: Some(res("widget", "1")),
                    id: "widget:1:member".into(),
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
            p.delete("widget", "1").await.unwrap_err(),
        ),
        ("delete with no id", p.delete("", "").await.unwrap_err()),
    ];
    for (what, e) in cases {
        assert_eq!(e.code(), Code::InvalidArgument, "{what}: {e:?}");
        assert!(!e.message().is_empty());
    }
    for (t, token) in [
        ("user", "garbage"),
        ("team", "mc1.AAAA"),
        ("zebra", ""),
        ("", ""),
    ] {
        let e = rpc::resources_page(&p.ch, t, None, token)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{t} {token}");
    }
    // A token from one listing is refused by another.
    let page = rpc::resources_page(&p.ch, "user", None, "").await.unwrap();
    assert!(!page.next_page_token.is_empty());
    let e = rpc::resources_page(&p.ch, "team", None, &page.next_page_token)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(p.writes(), 0);
    p.daemon.shutdown().await;
}

/// Eight grants sent four times at once: 11 of 32 answers said "newly granted". Now exactly one
/// answer per grant (and per revoke) does, and Miro sees one write each.
#[tokio::test]
async fn identical_writes_in_flight_at_once_are_one_write_and_repeats() {
    let Harness { sim, daemon, ch } = Fixture::new().writes().start().await;
    let org = sim.org();
    let team = org.teams.values().last().unwrap();
    let users: Vec<String> = org
        .members
        .values()
        .filter(|m| {
            m.active && m.role == "organization_internal_user" && !team.members.contains_key(&m.id)
        })
        .take(8)
        .map(|m| m.id.clone())
        .collect();
    assert_eq!(users.len(), 8);
    // Latency widens the window between a write's read and its write, where the race lived.
    sim.set_faults(FaultConfig {
        seed: 1,
        rules: vec![FaultRule {
            latency_ms: 30,
            ..Default::default()
        }],
    });
    sim.reset_stats();
    let ent = team_ent(&team.id, "member");
    let p = Harness { sim, daemon, ch };
    let sim = &p.sim;
    let calls = users.iter().flat_map(|u| std::iter::repeat_n(u.clone(), 4));
    let granted = futures::future::join_all(calls.clone().map(|u| {
        let (p, ent) = (&p, ent.clone());
        async move { p.grant(ent, &u).await.unwrap().annotations }
    }))
    .await;
    let fresh = granted
        .iter()
        .filter(|a| find::<pb::GrantAlreadyExists>(a).is_none())
        .count();
    assert_eq!(fresh, 8, "one newly granted per grant");
    let writes = |sim: &SimHandle| {
        sim.stats()
            .endpoints
            .iter()
            .filter(|(k, _)| !k.starts_with("GET "))
            .map(|(_, e)| e.requests)
            .sum::<u64>()
    };
    assert_eq!(writes(sim), 8, "{:#?}", sim.stats().endpoints);
    for u in &users {
        assert!(sim.org().teams[&team.id].members.contains_key(u));
    }
    sim.reset_stats();
    let revoked = futures::future::join_all(calls.map(|u| {
        let (p, ent) = (&p, ent.clone());
        async move { p.revoke(ent, &u).await.unwrap().annotations }
    }))
    .await;
    let fresh = revoked
        .iter()
        .filter(|a| find::<pb::GrantAlreadyRevoked>(a).is_none())
        .count();
    assert_eq!(fresh, 8, "one revoked per revoke");
    assert_eq!(writes(sim), 8);
}
