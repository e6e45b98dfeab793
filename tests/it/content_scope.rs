//! A team that `content_skip_teams` leaves out is out for every RPC that names one of its boards or
//! Spaces, reads and writes alike: NOT_FOUND, and nothing written. Where the request names the
//! team (the parent the daemon listed), no Miro request at all; where it does not, the one read
//! that finds the board's team.
use miro_connector::{
    config::TeamIds,
    pb::{
        self, entitlements_service_client::EntitlementsServiceClient,
        grants_service_client::GrantsServiceClient,
    },
};
use tonic::{Code, Status};

use super::{common::*, writer::*};

/// Content in `sharing` mode with provisioning, the team of the org's first board left out.
async fn setup_skipping() -> (Harness, String) {
    let sim = sim_with(300, 6).await;
    let team = sim.org().boards.values().next().unwrap().team_id.clone();
    let mut args = settings(&sim, true, true);
    args.content = Some(miro_connector::connector::ContentMode::Sharing);
    args.content_skip_teams = Some(team.parse::<TeamIds>().unwrap());
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    (Harness { sim, daemon, ch }, team)
}

fn out_of_scope<T: std::fmt::Debug>(r: Result<T, Status>, team: &str, what: &str) {
    let e = r.expect_err(what);
    assert_eq!(e.code(), Code::NotFound, "{what}: {}", e.message());
    assert!(
        e.message().contains(team) && e.message().contains("content_skip_teams"),
        "{what}: the message names the team and the setting: {}",
        e.message()
    );
}

/// A board as the daemon lists it: its team as the parent, its sharing in the profile.
fn listed_board(id: &str, team: &str) -> pb::Resource {
    let mut r = res("board", id);
    r.parent_resource_id = Some(rid("team", team));
    let text = |v: &str| prost_types::Value {
        kind: Some(prost_types::value::Kind::StringValue(v.into())),
    };
    r.profile = Some(prost_types::Struct {
        fields: [
            ("team_id", text(team)),
            ("team_access", text("edit")),
            ("organization_access", text("view")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    });
    r
}

#[tokio::test]
async fn a_team_left_out_cannot_be_written_through_its_boards() {
    let (p, team) = setup_skipping().await;
    let org = p.sim.org();
    let user = internal_user(&org);
    let b = board_with(&org, |b| {
        b.team_id == team && !b.members.contains_key(&user)
    })
    .id
    .clone();
    let before = org.boards[&b].clone();
    let group = org.groups.keys().next().unwrap().clone();
    let org_role = res("role", "organization_internal_user");
    let w = p.writes();

    // Named with its team, as listed: refused before any request.
    let r0 = p.requests();
    let with_team = || content_ent("board", &b, "viewer", Some(&team));
    out_of_scope(
        p.grant(with_team(), &user).await,
        &team,
        "share, team named",
    );
    out_of_scope(
        p.grant_to(with_team(), org_role.clone()).await,
        &team,
        "open to the org, team named",
    );
    out_of_scope(
        p.revoke_from(with_team(), res("team", &team)).await,
        &team,
        "team access, team named",
    );
    assert_eq!(p.requests(), r0, "a named team out of scope costs nothing");

    // Bare: the board's own team, read once, refuses it before anything is written.
    let bare = |role: &str| content_ent("board", &b, role, None);
    out_of_scope(p.grant(bare("editor"), &user).await, &team, "share");
    out_of_scope(p.revoke(bare("editor"), &user).await, &team, "unshare");
    out_of_scope(
        p.grant_to(bare("viewer"), org_role.clone()).await,
        &team,
        "open to the org",
    );
    out_of_scope(
        p.revoke_from(bare("viewer"), org_role).await,
        &team,
        "close to the org",
    );
    out_of_scope(
        p.grant_to(bare("viewer"), res("group", &group)).await,
        &team,
        "share with a group",
    );
    out_of_scope(
        p.grant_to(bare("viewer"), res("team", &team)).await,
        &team,
        "team access",
    );
    assert_eq!(p.writes(), w, "nothing written");
    let after = &p.sim.org().boards[&b];
    assert_eq!(after.members, before.members);
    assert_eq!(after.groups, before.groups);
    assert_eq!(
        serde_json::to_value(&after.sharing).unwrap(),
        serde_json::to_value(&before.sharing).unwrap()
    );
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn a_team_left_out_cannot_be_written_through_its_spaces() {
    let (p, team) = setup_skipping().await;
    let org = p.sim.org();
    let user = internal_user(&org);
    let s = org
        .projects
        .values()
        .find(|s| s.team_id == team && !s.members.contains_key(&user))
        .expect("the skipped team has a Space")
        .clone();
    let group = org.groups.keys().next().unwrap().clone();
    let w = p.writes();
    let r0 = p.requests();
    let ent = |role: &str| content_ent("project", &s.id, role, Some(&team));
    out_of_scope(p.grant(ent("editor"), &user).await, &team, "add a member");
    out_of_scope(
        p.revoke(ent("editor"), &user).await,
        &team,
        "remove a member",
    );
    out_of_scope(
        p.grant_to(ent("viewer"), res("group", &group)).await,
        &team,
        "share with a group",
    );
    out_of_scope(
        p.grant_to(ent("viewer"), res("team", &team)).await,
        &team,
        "team access",
    );
    assert_eq!(p.requests(), r0, "refused before any request");

    // The Space named under a team in scope: its group shares are written without the team in
    // Miro's path, so the daemon reads the Space under that team first, and finds none.
    let other = org.teams.keys().find(|t| **t != team).unwrap();
    let forged = content_ent("project", &s.id, "viewer", Some(other));
    let e = p
        .grant_to(forged, res("group", &group))
        .await
        .expect_err("a Space under another team");
    assert_eq!(e.code(), Code::NotFound, "{}", e.message());
    assert_eq!(p.writes(), w, "nothing written");
    assert_eq!(p.sim.org().projects[&s.id].groups, s.groups);
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn a_team_left_out_cannot_be_read_through_its_boards_and_spaces() {
    let (p, team) = setup_skipping().await;
    let org = p.sim.org();
    let b = board_with(&org, |b| b.team_id == team).id.clone();
    let s = org.projects.values().find(|s| s.team_id == team).unwrap();
    let mut space = res("project", &s.id);
    space.parent_resource_id = Some(rid("team", &team));
    let grants = |r: pb::Resource| {
        let ch = p.ch.clone();
        async move {
            GrantsServiceClient::new(ch)
                .list_grants(pb::GrantsServiceListGrantsRequest {
                    resource: Some(r),
                    page_size: 50,
                    ..Default::default()
                })
                .await
        }
    };
    let entitlements = |r: pb::Resource| {
        let ch = p.ch.clone();
        async move {
            EntitlementsServiceClient::new(ch)
                .list_entitlements(pb::EntitlementsServiceListEntitlementsRequest {
                    resource: Some(r),
                    page_size: 50,
                    ..Default::default()
                })
                .await
        }
    };
    let r0 = p.requests();
    out_of_scope(
        grants(listed_board(&b, &team)).await,
        &team,
        "a listed board's grants",
    );
    out_of_scope(grants(space.clone()).await, &team, "a Space's grants");
    out_of_scope(
        entitlements(listed_board(&b, &team)).await,
        &team,
        "a board's entitlements",
    );
    out_of_scope(entitlements(space).await, &team, "a Space's entitlements");
    assert_eq!(p.requests(), r0, "a named team out of scope costs nothing");
    out_of_scope(
        grants(res("board", &b)).await,
        &team,
        "a bare board's grants",
    );
    out_of_scope(
        entitlements(res("board", &b)).await,
        &team,
        "a bare board's entitlements",
    );
    assert_eq!(
        p.requests(),
        r0 + 2,
        "a bare board costs the one read of it"
    );
    p.daemon.shutdown().await;
}
