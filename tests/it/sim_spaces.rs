//! The simulator's Spaces (projects, in the API) against Miro's spec: every response validated
//! against its schema, cursor paging, `commentator`, Level 4 removal, scopes, generated Spaces.
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{
    common::*,
    contract::{Checks, Http, spec},
};
use miro_connector::sim::SimConfig;

/// A simulator and what the Space tests use of it: a Space with members, a member of the
/// organization outside it, and a user group.
struct Scene {
    http: Http,
    o: String,
    space: miro_connector::sim::state::Project,
    member: String,
    outsider: miro_connector::sim::state::Member,
    group: String,
}

async fn scene() -> Scene {
    let http = Http::new(sim_with(600, 3).await);
    let org = http.sim.org();
    let space = org
        .projects
        .values()
        .find(|p| p.members.len() > 1)
        .unwrap()
        .clone();
    let outsider = org
        .members
        .values()
        .find(|m| !space.members.contains_key(&m.id))
        .unwrap()
        .clone();
    Scene {
        o: org.id.clone(),
        member: space.members.keys().next_back().unwrap().clone(),
        group: org.groups.keys().next().unwrap().clone(),
        space,
        outsider,
        http,
    }
}

#[tokio::test]
async fn space_responses_match_the_openapi_spec() {
    // Without the spec (outside CI), the answers' schemas go unchecked; their statuses are
    // checked all the same.
    let spec = spec();
    let Scene {
        http,
        o,
        space,
        member,
        outsider,
        group,
    } = scene().await;
    let (o, t, p) = (&o, &space.team_id, &space.id);
    let base = format!("/v2/orgs/{o}/teams/{t}/projects/{p}");
    let mut checks = Checks::default();
    let ok = StatusCode::OK;
    let list = "/v2/orgs/{org_id}/teams/{team_id}/projects";
    let one = "/v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}";
    let settings = "/v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}/settings";
    let members = "/v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}/members";
    let a_member = "/v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}/members/{member_id}";
    let groups = "/v2/orgs/{org_id}/projects/{project_id}/groups";
    checks.expect(
        ok,
        http.get(&format!("/v2/orgs/{o}/teams/{t}/projects?limit=1"))
            .await,
        list,
        "get",
        "200",
    );
    checks.expect(ok, http.get(&base).await, one, "get", "200");
    let s = http.get(&format!("{base}/settings")).await;
    assert_eq!(
        s.1["sharingPolicySettings"]["teamAccess"],
        json!(space.team_access)
    );
    checks.expect(ok, s, settings, "get", "200");
    let private = json!({"sharingPolicySettings": {"teamAccess": "private"}});
    checks.expect(
        ok,
        http.send(Method::PATCH, format!("{base}/settings"), Some(private))
            .await,
        settings,
        "patch",
        "200",
    );
    checks.expect(
        ok,
        http.get(&format!("{base}/members?limit=1")).await,
        members,
        "get",
        "200",
    );
    checks.expect(
        ok,
        http.get(&format!("{base}/members/{member}")).await,
        a_member,
        "get",
        "200",
    );
    let add = json!({"email": outsider.email, "role": "commentator"});
    let added = http
        .send(Method::POST, format!("{base}/members"), Some(add.clone()))
        .await;
    assert_eq!(added.1["role"], "commentator");
    checks.expect(StatusCode::CREATED, added, members, "post", "201");
    let role = json!({"role": "editor"});
    checks.expect(
        ok,
        http.send(
            Method::PATCH,
            format!("{base}/members/{}", outsider.id),
            Some(role),
        )
        .await,
        a_member,
        "patch",
        "200",
    );
    let share = json!({"userGroupIds": [group], "role": "COMMENTER"});
    checks.expect(
        ok,
        http.send(
            Method::POST,
            format!("/v2/orgs/{o}/projects/{p}/groups"),
            Some(share),
        )
        .await,
        groups,
        "post",
        "200",
    );
    checks.expect(
        ok,
        http.get(&format!("/v2/orgs/{o}/projects/{p}/groups")).await,
        groups,
        "get",
        "200",
    );
    if let Some(spec) = &spec {
        checks.validate(spec);
    }
    assert_eq!(http.sim.org().projects[p].team_access, "private");
}

/// A member added twice is a conflict; boards' `commenter` is refused (Spaces say `commentator`);
/// removing a member is Level 4 (2,000 credits) and leaves the user in the team.
#[tokio::test]
async fn space_writes_refuse_what_miro_refuses_and_removal_costs_level_4() {
    let Scene {
        http,
        o,
        space,
        outsider,
        group,
        ..
    } = scene().await;
    let (o, t, p) = (&o, &space.team_id, &space.id);
    let base = format!("/v2/orgs/{o}/teams/{t}/projects/{p}");
    let a_member = "/v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}/members/{member_id}";
    let add = json!({"email": outsider.email, "role": "commentator"});
    let share = json!({"userGroupIds": [group], "role": "COMMENTER"});
    for (path, body) in [
        (format!("{base}/members"), add.clone()),
        (format!("/v2/orgs/{o}/projects/{p}/groups"), share),
    ] {
        let (s, _) = http.send(Method::POST, path, Some(body)).await;
        assert!(s.is_success(), "{s}");
    }
    let (s, _) = http
        .send(Method::POST, format!("{base}/members"), Some(add))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = http
        .send(
            Method::POST,
            format!("{base}/members"),
            Some(json!({"email": outsider.email, "role": "commenter"})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "boards say commenter, Spaces commentator"
    );

    http.sim.reset_stats();
    let (s, _) = http
        .send(
            Method::DELETE,
            format!("{base}/members/{}", outsider.id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let stats = http.sim.stats();
    assert_eq!(
        stats.endpoints[&format!("DELETE {a_member}")].credits,
        2_000
    );
    let (s, _) = http
        .send(
            Method::DELETE,
            format!("/v2/orgs/{o}/projects/{p}/groups/{group}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn spaces_need_their_scopes() {
    let mut cfg = SimConfig::new(org(300, 2));
    cfg.scopes.retain(|s| !s.starts_with("projects:"));
    let o = cfg.org.clone();
    let http = Http::new(start_sim(cfg).await);
    let t = o.teams.keys().next().unwrap();
    let (s, _) = http
        .get(&format!("/v2/orgs/{}/teams/{t}/projects", o.id))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// Generated Spaces hold some of their team's boards and have members of their own.
#[test]
fn generated_spaces_hold_boards_of_their_team() {
    let a = miro_connector::sim::data::generate(3, 2_000, 20);
    assert!(a.projects.len() >= 50, "{} Spaces", a.projects.len());
    let in_spaces = a.boards.values().filter(|b| b.project_id.is_some()).count();
    assert!(in_spaces > 0);
    for b in a.boards.values() {
        if let Some(p) = &b.project_id {
            assert_eq!(a.projects[p].team_id, b.team_id);
        }
    }
    assert!(
        a.projects
            .values()
            .all(|p| p.members.values().any(|r| r == "owner"))
    );
    assert!(a.projects.values().any(|p| p.team_access == "view"));
}
