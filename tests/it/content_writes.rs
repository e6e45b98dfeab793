//! Grant and Revoke on boards and Spaces: each path twice, the repeat writing nothing; the owner
//! kept; team and organization access remediated in one step; bad ids refused before Miro.
use miro_connector::pb;
use tonic::Code;

use super::{common::*, rpc, writer::*};

#[tokio::test]
async fn board_members_are_shared_changed_and_removed_once() {
    let p = Fixture::new()
        .writes()
        .content(ContentMode::Sharing)
        .start()
        .await;
    let org = p.sim.org();
    let user = internal_user(&org);
    let b = board_with(&org, |b| !b.members.contains_key(&user))
        .id
        .clone();
    let w0 = p.writes();
    let r = p
        .grant(content_ent("board", &b, "editor", None), &user)
        .await
        .unwrap();
    assert!(!has::<pb::GrantAlreadyExists>(&r.annotations));
    assert_eq!(r.grants[0].id, format!("board:{b}:editor:user:{user}"));
    assert_eq!(p.sim.org().boards[&b].members[&user], "editor");
    assert_eq!(p.writes(), w0 + 1);
    let again = p
        .grant(content_ent("board", &b, "editor", None), &user)
        .await
        .unwrap();
    assert!(has::<pb::GrantAlreadyExists>(&again.annotations));
    assert_eq!(p.writes(), w0 + 1, "the repeat writes nothing");

    let r = p
        .grant(content_ent("board", &b, "viewer", None), &user)
        .await
        .unwrap();
    let replaced =
        miro_connector::connector::annotations::find::<pb::GrantReplaced>(&r.annotations).unwrap();
    assert_eq!(
        replaced.replaced_grant_id,
        format!("board:{b}:editor:user:{user}")
    );
    assert_eq!(p.sim.org().boards[&b].members[&user], "viewer");

    p.revoke(content_ent("board", &b, "viewer", None), &user)
        .await
        .unwrap();
    assert!(!p.sim.org().boards[&b].members.contains_key(&user));
    let w = p.writes();
    let again = p
        .revoke(content_ent("board", &b, "viewer", None), &user)
        .await
        .unwrap();
    assert!(has::<pb::GrantAlreadyRevoked>(&again.annotations));
    assert_eq!(p.writes(), w);
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn a_boards_owner_is_kept() {
    let p = Fixture::new()
        .writes()
        .content(ContentMode::Sharing)
        .start()
        .await;
    let org = p.sim.org();
    let b = org.boards.values().next().unwrap();
    let w = p.writes();
    let e = p
        .revoke(content_ent("board", &b.id, "owner", None), &b.owner_id)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("owns board"), "{}", e.message());
    let e = p
        .grant(
            content_ent("board", &b.id, "owner", None),
            &internal_user(&org),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(p.writes(), w);
    assert_eq!(p.sim.org().boards[&b.id].members[&b.owner_id], "owner");
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn user_groups_are_shared_and_unshared_once() {
    let p = Fixture::new()
        .writes()
        .content(ContentMode::Sharing)
        .start()
        .await;
    let org = p.sim.org();
    let g = org.groups.keys().next().unwrap().clone();
    let b = board_with(&org, |b| !b.groups.contains_key(&g)).id.clone();
    let group = res("group", &g);
    let e = || content_ent("board", &b, "commenter", None);
    let r = p.grant_to(e(), group.clone()).await.unwrap();
    assert!(!has::<pb::GrantAlreadyExists>(&r.annotations));
    assert_eq!(p.sim.org().boards[&b].groups[&g], "COMMENTER");
    let w = p.writes();
    assert!(has::<pb::GrantAlreadyExists>(
        &p.grant_to(e(), group.clone()).await.unwrap().annotations
    ));
    assert_eq!(p.writes(), w);
    p.revoke_from(e(), group.clone()).await.unwrap();
    assert!(!p.sim.org().boards[&b].groups.contains_key(&g));
    let w = p.writes();
    assert!(has::<pb::GrantAlreadyRevoked>(
        &p.revoke_from(e(), group).await.unwrap().annotations
    ));
    assert_eq!(p.writes(), w);
    p.daemon.shutdown().await;
}

/// Revoking a team's or the organization's grant sets that access to private: remediation in one
/// step, through the sharing policy (which Miro answers with 202).
#[tokio::test]
async fn team_and_org_access_are_remediated_in_one_step() {
    let p = Fixture::new()
        .writes()
        .content(ContentMode::Sharing)
        .start()
        .await;
    let org = p.sim.org();
    let role = |l: &str| match l {
        "view" => "viewer",
        "comment" => "commenter",
        _ => "editor",
    };
    let b = board_with(&org, |b| b.sharing.team_access != "private");
    let e = content_ent("board", &b.id, role(&b.sharing.team_access), None);
    p.revoke_from(e.clone(), res("team", &b.team_id))
        .await
        .unwrap();
    assert_eq!(p.sim.org().boards[&b.id].sharing.team_access, "private");
    let w = p.writes();
    let again = p.revoke_from(e, res("team", &b.team_id)).await.unwrap();
    assert!(has::<pb::GrantAlreadyRevoked>(&again.annotations));
    assert_eq!(p.writes(), w);

    let b = board_with(&org, |b| b.sharing.organization_access != "private");
    let e = content_ent("board", &b.id, role(&b.sharing.organization_access), None);
    let principal = res("role", "organization_internal_user");
    p.revoke_from(e.clone(), principal.clone()).await.unwrap();
    assert_eq!(
        p.sim.org().boards[&b.id].sharing.organization_access,
        "private"
    );
    let w = p.writes();
    assert!(has::<pb::GrantAlreadyRevoked>(
        &p.revoke_from(e.clone(), principal.clone())
            .await
            .unwrap()
            .annotations
    ));
    assert_eq!(p.writes(), w);
    // Granted back: the organization reaches the board again, and both role grants say so.
    let r = p.grant_to(e, principal).await.unwrap();
    assert_eq!(r.grants.len(), 2);
    assert_ne!(
        p.sim.org().boards[&b.id].sharing.organization_access,
        "private"
    );
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn space_members_groups_and_team_access_change_once() {
    let p = Fixture::new()
        .writes()
        .content(ContentMode::Sharing)
        .start()
        .await;
    let org = p.sim.org();
    let user = internal_user(&org);
    let s = space_without(&org, &user);
    let (sid, team) = (s.id.clone(), s.team_id.clone());
    let e = |role: &str| content_ent("project", &sid, role, Some(&team));
    p.grant(e("commentator"), &user).await.unwrap();
    assert_eq!(p.sim.org().projects[&sid].members[&user], "commentator");
    let w = p.writes();
    assert!(has::<pb::GrantAlreadyExists>(
        &p.grant(e("commentator"), &user).await.unwrap().annotations
    ));
    assert_eq!(p.writes(), w);
    let r = p.grant(e("editor"), &user).await.unwrap();
    assert!(has::<pb::GrantReplaced>(&r.annotations));
    p.sim.reset_stats();
    p.revoke(e("editor"), &user).await.unwrap();
    assert!(!p.sim.org().projects[&sid].members.contains_key(&user));
    assert_eq!(
        p.sim.stats().credits,
        50 + 2000,
        "a read, then the Level 4 removal"
    );
    assert!(has::<pb::GrantAlreadyRevoked>(
        &p.revoke(e("editor"), &user).await.unwrap().annotations
    ));

    let g = org.groups.keys().next().unwrap().clone();
    p.grant_to(e("viewer"), res("group", &g)).await.unwrap();
    assert_eq!(p.sim.org().projects[&sid].groups[&g], "VIEWER");
    p.revoke_from(e("viewer"), res("group", &g)).await.unwrap();
    assert!(!p.sim.org().projects[&sid].groups.contains_key(&g));

    p.grant_to(e("viewer"), res("team", &team)).await.unwrap();
    assert_eq!(p.sim.org().projects[&sid].team_access, "view");
    p.revoke_from(e("viewer"), res("team", &team))
        .await
        .unwrap();
    assert_eq!(p.sim.org().projects[&sid].team_access, "private");
    let w = p.writes();
    assert!(has::<pb::GrantAlreadyRevoked>(
        &p.revoke_from(e("viewer"), res("team", &team))
            .await
            .unwrap()
            .annotations
    ));
    assert_eq!(p.writes(), w);
    p.daemon.shutdown().await;
}

/// A Space without its team, and content with the mode off, never reach Miro. (Ids of the wrong
/// shape: `ids::every_rpc_refuses_every_bad_id_before_any_request`.)
#[tokio::test]
async fn a_space_without_its_team_and_content_off_are_refused_with_zero_requests() {
    let p = Fixture::new()
        .writes()
        .content(ContentMode::Sharing)
        .start()
        .await;
    let org = p.sim.org();
    let user = internal_user(&org);
    p.sim.reset_stats();
    // A Space without its team cannot be addressed.
    let sid = org.projects.keys().next().unwrap();
    let e = rpc::get(&p.ch, rid("project", sid), None)
        .await
        .unwrap_err();
    // NOT_FOUND, so a targeted sync skips it and syncs its other targets.
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().contains("bid:r:team/"), "{}", e.message());
    assert_eq!(p.sim.stats().requests, 0, "{:?}", p.sim.stats().endpoints);
    p.daemon.shutdown().await;

    // With content off, boards are refused before any request.
    let p = Fixture::new().writes().start().await;
    let b = org.boards.keys().next().unwrap();
    p.sim.reset_stats();
    let e = p
        .grant(content_ent("board", b, "viewer", None), &user)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("content"), "{}", e.message());
    let e = rpc::get(&p.ch, rid("board", b), None).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(p.sim.stats().requests, 0);
    p.daemon.shutdown().await;
}

/// A Space's entitlements name its team, so a Grant that sends one back as listed (the platform
/// does not always attach the full resource) finds the Space. Before, the team was dropped from
/// what the entitlements named, and such a Grant was INVALID_ARGUMENT.
#[tokio::test]
async fn a_space_entitlement_as_listed_is_enough_to_grant() {
    let p = Fixture::new()
        .writes()
        .content(ContentMode::Sharing)
        .start()
        .await;
    let org = p.sim.org();
    let user = internal_user(&org);
    let s = space_without(&org, &user);
    let mut space = res("project", &s.id);
    space.parent_resource_id = Some(rid("team", &s.team_id));
    let listed = rpc::entitlements(&p.ch, &space).await.unwrap();
    let viewer = listed.into_iter().find(|e| e.slug == "viewer").unwrap();
    let named = viewer.resource.as_ref().unwrap();
    assert_eq!(named.parent_resource_id, Some(rid("team", &s.team_id)));
    p.grant(viewer, &user).await.unwrap();
    assert_eq!(p.sim.org().projects[&s.id].members[&user], "viewer");
    p.daemon.shutdown().await;
}

/// The organization's access to a board is one setting, whichever of its two principals a revoke
/// names: revoking both at once writes once, and the platform hears one "revoked".
#[tokio::test]
async fn org_access_revoked_through_both_principals_at_once_is_one_write() {
    let p = Fixture::new()
        .writes()
        .content(ContentMode::Sharing)
        .start()
        .await;
    let org = p.sim.org();
    let b = board_with(&org, |b| b.sharing.organization_access == "view");
    let e = content_ent("board", &b.id, "viewer", Some(&b.team_id));
    // A slow board read widens the window in which both revokes would see the access open.
    p.sim.set_faults(miro_connector::sim::FaultConfig {
        seed: 1,
        rules: vec![miro_connector::sim::FaultRule {
            endpoint: Some("GET /v2/boards/{board_id}".into()),
            latency_ms: 200,
            ..Default::default()
        }],
    });
    let w = p.writes();
    let (a, b2) = tokio::join!(
        p.revoke_from(e.clone(), res("role", "organization_internal_user")),
        p.revoke_from(e.clone(), res("role", "organization_internal_admin")),
    );
    let revoked = [a.unwrap(), b2.unwrap()]
        .iter()
        .filter(|r| !has::<pb::GrantAlreadyRevoked>(&r.annotations))
        .count();
    assert_eq!(
        revoked, 1,
        "one revoke changes the setting, the other finds it done"
    );
    assert_eq!(p.writes(), w + 1, "one PATCH");
    assert_eq!(
        p.sim.org().boards[&b.id].sharing.organization_access,
        "private"
    );
    p.daemon.shutdown().await;
}
