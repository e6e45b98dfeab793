//! The simulator's user-group endpoints against Miro's spec: every response validated against its
//! schema, the adapter's request bodies against theirs, and the documented costs and conflicts.
use miro_connector::miro::groups::{assign_body, change_body, create_body};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{
    common::*,
    contract::{Checks, Http, assert_valid, request_body, spec},
};

/// The spec's 207 result is a `oneOf` of two schemas with no required fields, which every object
/// matches twice; read it as the `anyOf` its text means.
fn lenient(spec: &Value) -> Value {
    let mut spec = spec.clone();
    let items = &mut spec["components"]["schemas"]["UpdateUserGroupMembersResult"]["items"];
    if let Some(one_of) = items.as_object_mut().and_then(|o| o.remove("oneOf")) {
        items["anyOf"] = one_of;
    }
    spec
}

#[test]
fn group_request_bodies_match_the_openapi_spec() {
    let Some(spec) = spec() else { return };
    let body = |path: &str, method: &str| request_body(&spec, path, method);
    let create = body("/v2/orgs/{org_id}/groups", "post");
    assert_valid(
        &create,
        &create_body("Reviewers", Some("Who reviews")),
        "create",
    );
    assert_valid(&create, &create_body("Reviewers", None), "create");
    assert!(!create.is_valid(&json!({"description": "no name"})));
    let change = body("/v2/orgs/{org_id}/groups/{group_id}/members", "patch");
    assert_valid(&change, &change_body(&["1"], &[]), "add");
    assert_valid(&change, &change_body(&[], &["1", "a@b.c"]), "remove");
    assert!(!change.is_valid(&json!({"membersToAdd": "1"})));
    let assign = body("/v2/orgs/{org_id}/teams/{team_id}/groups", "post");
    assert_valid(&assign, &assign_body("3074457345618265000"), "assign");
    assert!(!assign.is_valid(&json!({"userGroupId": "1", "role": "admin"})));
}

/// A simulator and what the group tests use of it: a group assigned to a team, a team it is not
/// assigned to, one of its members, and a member of the organization outside it.
struct Scene {
    http: Http,
    o: String,
    g: String,
    team: String,
    free_team: String,
    member: String,
    outsider: miro_connector::sim::state::Member,
}

async fn scene() -> Scene {
    let http = Http::new(sim_with(230, 5).await);
    let org = http.sim.org();
    let group = org.groups.values().find(|g| !g.teams.is_empty()).unwrap();
    let free_team = org
        .teams
        .keys()
        .find(|t| !group.teams.contains(*t))
        .unwrap()
        .clone();
    let outsider = org
        .members
        .values()
        .find(|m| !group.members.contains(&m.id))
        .unwrap()
        .clone();
    Scene {
        o: org.id.clone(),
        g: group.id.clone(),
        team: group.teams.iter().next().unwrap().clone(),
        free_team,
        member: group.members.iter().next().unwrap().clone(),
        outsider,
        http,
    }
}

#[tokio::test]
async fn group_responses_match_the_openapi_spec() {
    // Without the spec (outside CI), the answers' schemas go unchecked; their statuses are
    // checked all the same.
    let spec = spec().map(|s| lenient(&s));
    let Scene {
        http,
        o,
        g,
        team,
        free_team,
        member,
        outsider,
    } = scene().await;
    let (o, g, team, free_team, member, outsider) = (&o, &g, &team, &free_team, &member, &outsider);

    let mut checks = Checks::default();
    let ok = StatusCode::OK;
    let created = StatusCode::CREATED;
    for q in ["", "?limit=1", &format!("?cursor={g}")] {
        checks.expect(
            ok,
            http.get(&format!("/v2/orgs/{o}/groups{q}")).await,
            "/v2/orgs/{org_id}/groups",
            "get",
            "200",
        );
    }
    let new = http
        .send(
            Method::POST,
            format!("/v2/orgs/{o}/groups"),
            Some(create_body("Contract", Some("made here"))),
        )
        .await;
    let new_id = new.1["id"].as_str().unwrap().to_string();
    checks.expect(created, new, "/v2/orgs/{org_id}/groups", "post", "201");
    checks.expect(
        ok,
        http.get(&format!("/v2/orgs/{o}/groups/{g}")).await,
        "/v2/orgs/{org_id}/groups/{group_id}",
        "get",
        "200",
    );
    checks.expect(
        ok,
        http.send(
            Method::PATCH,
            format!("/v2/orgs/{o}/groups/{new_id}"),
            Some(json!({"description": "renamed"})),
        )
        .await,
        "/v2/orgs/{org_id}/groups/{group_id}",
        "patch",
        "200",
    );
    checks.expect(
        ok,
        http.get(&format!("/v2/orgs/{o}/groups/{g}/members?limit=2"))
            .await,
        "/v2/orgs/{org_id}/groups/{group_id}/members",
        "get",
        "200",
    );
    checks.expect(
        ok,
        http.get(&format!("/v2/orgs/{o}/groups/{g}/members/{member}"))
            .await,
        "/v2/orgs/{org_id}/groups/{group_id}/members/{member_id}",
        "get",
        "200",
    );
    checks.expect(
        created,
        http.send(
            Method::POST,
            format!("/v2/orgs/{o}/groups/{new_id}/members"),
            Some(json!({"email": outsider.email})),
        )
        .await,
        "/v2/orgs/{org_id}/groups/{group_id}/members",
        "post",
        "201",
    );
    let multi = StatusCode::MULTI_STATUS;
    let patched = http
        .send(
            Method::PATCH,
            format!("/v2/orgs/{o}/groups/{g}/members"),
            Some(change_body(&[&outsider.id], &[member])),
        )
        .await;
    assert_eq!(patched.1[0]["operation"], "addMembers");
    assert_eq!(patched.1[0]["affectedUsers"][0]["id"], json!(outsider.id));
    assert_eq!(patched.1[1]["affectedUsers"][0]["id"], json!(member));
    checks.expect(
        multi,
        patched,
        "/v2/orgs/{org_id}/groups/{group_id}/members",
        "patch",
        "207",
    );
    let refused = http
        .send(
            Method::PATCH,
            format!("/v2/orgs/{o}/groups/{g}/members"),
            Some(change_body(&["nobody@nowhere.example"], &[])),
        )
        .await;
    assert_eq!(refused.1[0]["status"], 400);
    checks.expect(
        multi,
        refused,
        "/v2/orgs/{org_id}/groups/{group_id}/members",
        "patch",
        "207",
    );
    checks.expect(
        ok,
        http.get(&format!("/v2/orgs/{o}/groups/{g}/teams")).await,
        "/v2/orgs/{org_id}/groups/{group_id}/teams",
        "get",
        "200",
    );
    checks.expect(
        ok,
        http.get(&format!("/v2/orgs/{o}/groups/{g}/teams/{team}"))
            .await,
        "/v2/orgs/{org_id}/groups/{group_id}/teams/{team_id}",
        "get",
        "200",
    );
    checks.expect(
        ok,
        http.get(&format!("/v2/orgs/{o}/teams/{team}/groups")).await,
        "/v2/orgs/{org_id}/teams/{team_id}/groups",
        "get",
        "200",
    );
    checks.expect(
        created,
        http.send(
            Method::POST,
            format!("/v2/orgs/{o}/teams/{free_team}/groups"),
            Some(assign_body(g)),
        )
        .await,
        "/v2/orgs/{org_id}/teams/{team_id}/groups",
        "post",
        "201",
    );
    checks.expect(
        ok,
        http.get(&format!("/v2/orgs/{o}/teams/{free_team}/groups/{g}"))
            .await,
        "/v2/orgs/{org_id}/teams/{team_id}/groups/{group_id}",
        "get",
        "200",
    );
    if let Some(spec) = &spec {
        checks.validate(spec);
    }
}

/// Conflicts, limits and deletes, with what each costs: a group made here with a member, and the
/// scene's group assigned to a second team, then each write again.
#[tokio::test]
async fn group_conflicts_limits_and_deletes_and_their_costs() {
    let Scene {
        http,
        o,
        g,
        free_team,
        member,
        outsider,
        ..
    } = scene().await;
    let (o, g, free_team, member, outsider) = (&o, &g, &free_team, &member, &outsider);
    let status = |r: (StatusCode, Value)| r.0;
    let new = http
        .send(
            Method::POST,
            format!("/v2/orgs/{o}/groups"),
            Some(create_body("Contract", None)),
        )
        .await;
    assert_eq!(new.0, StatusCode::CREATED);
    let new_id = new.1["id"].as_str().unwrap().to_string();
    for (path, body) in [
        (
            format!("/v2/orgs/{o}/groups/{new_id}/members"),
            json!({"email": outsider.email}),
        ),
        (
            format!("/v2/orgs/{o}/teams/{free_team}/groups"),
            assign_body(g),
        ),
    ] {
        assert_eq!(
            status(http.send(Method::POST, path, Some(body)).await),
            StatusCode::CREATED
        );
    }
    assert_eq!(
        status(
            http.send(
                Method::POST,
                format!("/v2/orgs/{o}/groups"),
                Some(create_body("contract", None))
            )
            .await
        ),
        StatusCode::CONFLICT,
        "names are unique"
    );
    assert_eq!(
        status(
            http.send(
                Method::POST,
                format!("/v2/orgs/{o}/groups/{new_id}/members"),
                Some(json!({"email": outsider.email}))
            )
            .await
        ),
        StatusCode::CONFLICT
    );
    assert_eq!(
        status(
            http.send(
                Method::POST,
                format!("/v2/orgs/{o}/teams/{free_team}/groups"),
                Some(assign_body(g))
            )
            .await
        ),
        StatusCode::CONFLICT
    );
    let ids: Vec<String> = (0..501).map(|i| format!("{i}@example.com")).collect();
    let many: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(
        status(
            http.send(
                Method::PATCH,
                format!("/v2/orgs/{o}/groups/{g}/members"),
                Some(change_body(&many, &[]))
            )
            .await
        ),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        status(
            http.send(
                Method::POST,
                format!("/v2/orgs/{o}/groups"),
                Some(json!({"name": "x".repeat(61)}))
            )
            .await
        ),
        StatusCode::BAD_REQUEST
    );

    http.sim.reset_stats();
    http.send(
        Method::PATCH,
        format!("/v2/orgs/{o}/groups/{g}/members"),
        Some(change_body(
            &[member],
            &[&outsider.id, "nobody@nowhere.example"],
        )),
    )
    .await;
    assert_eq!(http.sim.stats().credits, 150, "50 credits an item");
    assert_eq!(
        status(
            http.send(
                Method::DELETE,
                format!("/v2/orgs/{o}/teams/{free_team}/groups/{g}"),
                None
            )
            .await
        ),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status(
            http.send(
                Method::DELETE,
                format!("/v2/orgs/{o}/teams/{free_team}/groups/{g}"),
                None
            )
            .await
        ),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(
            http.send(
                Method::DELETE,
                format!("/v2/orgs/{o}/groups/{new_id}/members/{}", outsider.id),
                None
            )
            .await
        ),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status(
            http.send(
                Method::DELETE,
                format!("/v2/orgs/{o}/groups/{new_id}"),
                None
            )
            .await
        ),
        StatusCode::NO_CONTENT
    );
    let stats = http.sim.stats();
    assert_eq!(
        stats.endpoints["DELETE /v2/orgs/{org_id}/groups/{group_id}/members/{member_id}"].credits,
        2000
    );
    assert_eq!(
        stats.endpoints["DELETE /v2/orgs/{org_id}/groups/{group_id}"].credits,
        2000
    );
    let unassign = &stats.endpoints["DELETE /v2/orgs/{org_id}/teams/{team_id}/groups/{group_id}"];
    assert_eq!(
        (unassign.requests, unassign.credits),
        (2, 100),
        "Level 1 each"
    );
    // A deleted group leaves its members in the organization.
    assert!(!http.sim.org().groups.contains_key(&new_id));
    assert!(http.sim.org().members.contains_key(&outsider.id));
}
