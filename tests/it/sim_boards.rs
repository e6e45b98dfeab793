//! The simulator's boards against Miro's spec: every response validated against its schema, the
//! offset and cursor paging each endpoint has, the costs and scopes, `share-board`'s integer ids
//! and failed invitations, the 202 of a sharing-policy change, and generated boards shaped as
//! Miro's are.
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{
    common::*,
    contract::{Checks, Http, spec},
};
use miro_connector::sim::SimConfig;

/// A simulator and what the board tests use of it: a board with a few members, one of them not
/// its owner, a member of the organization outside it, and a user group.
struct Scene {
    http: Http,
    o: String,
    board: miro_connector::sim::state::Board,
    member: String,
    outsider: miro_connector::sim::state::Member,
    group: String,
}

async fn scene() -> Scene {
    let http = Http::new(sim_with(230, 5).await);
    let org = http.sim.org();
    let board = org
        .boards
        .values()
        .find(|b| b.members.len() > 2)
        .unwrap()
        .clone();
    let member = board
        .members
        .iter()
        .find(|(_, r)| *r != "owner")
        .map(|(id, _)| id.clone())
        .unwrap();
    let outsider = org
        .members
        .values()
        .find(|m| !board.members.contains_key(&m.id))
        .unwrap()
        .clone();
    Scene {
        o: org.id.clone(),
        group: org.groups.keys().next().unwrap().clone(),
        board,
        member,
        outsider,
        http,
    }
}

#[tokio::test]
async fn board_responses_match_the_openapi_spec() {
    // Without the spec (outside CI), the answers' schemas go unchecked; their statuses are
    // checked all the same.
    let spec = spec();
    let Scene {
        http,
        o,
        board,
        member,
        outsider,
        group,
    } = scene().await;
    let (o, b) = (&o, &board.id);
    let mut checks = Checks::default();
    let ok = StatusCode::OK;
    let team = &board.team_id;
    for q in [
        format!("?team_id={team}"),
        format!("?team_id={team}&limit=2&offset=1"),
    ] {
        checks.expect(
            ok,
            http.get(&format!("/v2/boards{q}")).await,
            "/v2/boards",
            "get",
            "200",
        );
    }
    let one = http.get(&format!("/v2/boards/{b}")).await;
    assert_eq!(
        one.1["policy"]["sharingPolicy"]["teamAccess"],
        json!(board.sharing.team_access)
    );
    checks.expect(ok, one, "/v2/boards/{board_id}", "get", "200");
    let page = http.get(&format!("/v2/boards/{b}/members?limit=50")).await;
    assert_eq!(page.1["total"], json!(board.members.len()));
    checks.expect(ok, page, "/v2/boards/{board_id}/members", "get", "200");
    let path_member = "/v2/boards/{board_id}/members/{board_member_id}";
    checks.expect(
        ok,
        http.get(&format!("/v2/boards/{b}/members/{member}")).await,
        path_member,
        "get",
        "200",
    );
    let role = json!({"role": "editor"});
    let changed = http
        .send(
            Method::PATCH,
            format!("/v2/boards/{b}/members/{member}"),
            Some(role),
        )
        .await;
    checks.expect(ok, changed, path_member, "patch", "200");

    // share-board: ids beyond 2^53 as integers, an address that cannot be invited as `failed`.
    let invite = json!({"emails": [outsider.email, "nobody@nowhere.example"], "role": "viewer"});
    let shared = http
        .send(
            Method::POST,
            format!("/v2/boards/{b}/members"),
            Some(invite),
        )
        .await;
    let id: u64 = outsider.id.parse().unwrap();
    assert!(id > 1 << 53);
    assert_eq!(shared.1["successful"], json!([id]), "{}", shared.1);
    assert_eq!(shared.1["failed"][0]["email"], "nobody@nowhere.example");
    checks.expect(
        StatusCode::CREATED,
        shared,
        "/v2/boards/{board_id}/members",
        "post",
        "201",
    );

    let groups = "/v2/orgs/{org_id}/boards/{board_id}/groups";
    let upsert = json!({"userGroupIds": [group], "role": "EDITOR"});
    let made = http
        .send(
            Method::POST,
            format!("/v2/orgs/{o}/boards/{b}/groups"),
            Some(upsert),
        )
        .await;
    checks.expect(ok, made, groups, "post", "200");
    checks.expect(
        ok,
        http.get(&format!("/v2/orgs/{o}/boards/{b}/groups?limit=1"))
            .await,
        groups,
        "get",
        "200",
    );
    if let Some(spec) = &spec {
        checks.validate(spec);
    }
}

/// A sharing-policy change answers 202 and is applied; the owner cannot be removed; a group
/// share removed twice is not there the second time; page sizes outside 1..=50 are refused.
#[tokio::test]
async fn board_writes_refuse_what_miro_refuses() {
    let Scene {
        http,
        o,
        board,
        group,
        ..
    } = scene().await;
    let (o, b, team) = (&o, &board.id, &board.team_id);
    let upsert = json!({"userGroupIds": [group], "role": "EDITOR"});
    let (s, _) = http
        .send(
            Method::POST,
            format!("/v2/orgs/{o}/boards/{b}/groups"),
            Some(upsert),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let policy =
        json!({"policy": {"sharingPolicy": {"teamAccess": "private", "access": "private"}}});
    let (s, _) = http
        .send(Method::PATCH, format!("/v2/boards/{b}"), Some(policy))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(http.sim.org().boards[b].sharing.team_access, "private");
    let (s, _) = http
        .send(
            Method::DELETE,
            format!("/v2/boards/{b}/members/{}", board.owner_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = http
        .send(
            Method::DELETE,
            format!("/v2/orgs/{o}/boards/{b}/groups/{group}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = http
        .send(
            Method::DELETE,
            format!("/v2/orgs/{o}/boards/{b}/groups/{group}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for bad in ["0", "51", "twenty"] {
        let (s, _) = http
            .get(&format!("/v2/boards?team_id={team}&limit={bad}"))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "limit={bad}");
    }
}

/// Costs by the spec's levels: share-board Level 3, member changes Level 2, listings Level 1.
#[tokio::test]
async fn board_requests_cost_their_levels() {
    let Scene {
        http,
        board,
        member,
        outsider,
        ..
    } = scene().await;
    let (b, team) = (&board.id, &board.team_id);
    http.sim.reset_stats();
    let invite = json!({"emails": [outsider.email]});
    http.send(
        Method::POST,
        format!("/v2/boards/{b}/members"),
        Some(invite),
    )
    .await;
    http.send(
        Method::DELETE,
        format!("/v2/boards/{b}/members/{member}"),
        None,
    )
    .await;
    http.get(&format!("/v2/boards?team_id={team}")).await;
    let stats = http.sim.stats();
    let credits = |e: &str| stats.endpoints[e].credits;
    assert_eq!(credits("POST /v2/boards/{board_id}/members"), 500);
    assert_eq!(
        credits("DELETE /v2/boards/{board_id}/members/{board_member_id}"),
        100
    );
    assert_eq!(credits("GET /v2/boards"), 50);
}

/// Offset paging walks every board of a team exactly once, 50 at a time.
#[tokio::test]
async fn boards_page_by_offset() {
    let http = Http::new(sim_with(600, 3).await);
    let org = http.sim.org();
    let team = org.teams.keys().next().unwrap();
    let want: Vec<&String> = org
        .boards
        .values()
        .filter(|b| &b.team_id == team)
        .map(|b| &b.id)
        .collect();
    assert!(want.len() > 50, "{} boards: too few to page", want.len());
    let mut got = Vec::new();
    let mut offset = 0;
    loop {
        let (s, page) = http
            .get(&format!(
                "/v2/boards?team_id={team}&limit=50&offset={offset}"
            ))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(page["total"], json!(want.len()));
        let data = page["data"].as_array().unwrap();
        got.extend(data.iter().map(|b| b["id"].as_str().unwrap().to_string()));
        if page["links"].get("next").is_none() {
            break;
        }
        offset += 50;
    }
    assert_eq!(got.iter().collect::<Vec<_>>(), want);
}

#[tokio::test]
async fn boards_need_their_scopes() {
    let mut cfg = SimConfig::new(org(30, 2));
    cfg.scopes.retain(|s| !s.starts_with("boards:"));
    let http = Http::new(start_sim(cfg).await);
    let (s, _) = http.get("/v2/boards").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// Generated boards look like a real organization's: Miro's id shape, a few members each with
/// some outsiders, about 5% open to anyone with the link, some to the organization, some shared
/// with user groups; the same seed makes the same boards.
#[test]
fn generated_boards_are_realistic_and_deterministic() {
    let a = miro_connector::sim::data::generate(3, 2_000, 20);
    assert_eq!(
        a.boards,
        miro_connector::sim::data::generate(3, 2_000, 20).boards
    );
    let n = a.boards.len() as f64;
    assert!((1_500.0..2_500.0).contains(&n), "{n} boards");
    for id in a.boards.keys() {
        assert!(
            id.len() == 12 && id.ends_with('=') && !id.contains('/') && !id.contains('+'),
            "{id}"
        );
    }
    let share = |f: &dyn Fn(&miro_connector::sim::state::Board) -> bool| {
        a.boards.values().filter(|b| f(b)).count() as f64 / n
    };
    let link = share(&|b| b.sharing.access != "private");
    assert!((0.03..0.08).contains(&link), "link access on {link}");
    assert!(share(&|b| b.sharing.access == "edit") > 0.0);
    assert!(share(&|b| b.sharing.organization_access != "private") > 0.05);
    assert!(share(&|b| !b.groups.is_empty()) > 0.05);
    let outsider = |id: &String| {
        a.members[id].role.ends_with("external_user") || a.members[id].role.ends_with("guest_user")
    };
    assert!(share(&|b| b.members.keys().any(outsider)) > 0.05);
    assert!(a.boards.values().all(|b| b.members[&b.owner_id] == "owner"));
}
