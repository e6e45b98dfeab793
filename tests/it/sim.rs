//! The simulator against Miro's spec: a contract test of every implemented endpoint's response
//! against the OpenAPI schemas, and of the adapter's request bodies against theirs.
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{common::*, contract::*};

/// What the adapter sends, checked against the spec as carefully as what the simulator answers.
#[test]
fn request_bodies_match_the_openapi_spec() {
    use miro_connector::miro::models::{License, NewScimUser, OrgRole, ScimPatch};
    let Some(spec) = spec() else { return };
    let patch = &spec["components"]["schemas"]["PatchUserResource"];
    let op = component(&spec, patch["properties"]["Operations"]["items"].clone());
    for p in [
        ScimPatch::Active(false),
        ScimPatch::Active(true),
        ScimPatch::DisplayName("New name".into()),
        ScimPatch::License(License::Full),
        ScimPatch::PrimaryRole(OrgRole::InternalAdmin),
    ] {
        assert_valid(&op, &p.to_json(), &format!("{p:?}"));
    }
    assert_eq!(
        ScimPatch::Active(false).to_json()["value"],
        json!("false"),
        "the spec types `value` as a string"
    );
    // Admin roles: the item schema says `value` is a string, but the spec's own text gives these
    // shapes for roles, and the text is what Miro accepts.
    let text = patch["properties"]["Operations"]["description"]
        .as_str()
        .unwrap();
    let example = |after: &str| -> Value {
        let start = text.find(after).unwrap() + after.len();
        let rest = &text[start..];
        let end = rest.find(" must be provided").unwrap();
        serde_json::from_str(rest[..end].trim()).unwrap()
    };
    assert_eq!(
        ScimPatch::AddAdminRole("Content Admin".into()).to_json(),
        example("Adding an admin role, <br>")
    );
    assert_eq!(
        ScimPatch::RemoveAdminRole("Content Admin".into()).to_json(),
        example("Removing an admin role, <br>")
    );
    let create = component(
        &spec,
        spec["paths"]["/Users"]["post"]["requestBody"]["content"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()["schema"]
            .clone(),
    );
    let user = NewScimUser {
        user_name: "new.person@example.com".into(),
        given_name: Some("New".into()),
        family_name: Some("Person".into()),
        display_name: Some("New Person".into()),
        license: Some(License::Full),
    };
    assert_valid(&create, &user.to_json(), "POST /Users");
}

/// REST's token info, organization, members and teams against the spec, reads and team writes;
/// the writes show in later reads.
#[tokio::test]
async fn rest_responses_match_the_openapi_spec() {
    let Some(spec) = spec() else { return };
    let http = Http::new(sim_with(230, 5).await);
    let org = http.sim.org();
    let o = &org.id;
    let team = org.teams.values().last().unwrap();
    let (member_id, _) = team.members.iter().next().unwrap();
    let user = org
        .members
        .values()
        .find(|m| {
            m.role == "organization_internal_user" && m.active && !team.members.contains_key(&m.id)
        })
        .unwrap();

    let mut checks: Vec<(&str, &str, &str, Value)> = Vec::new();
    checks.push((
        "/v1/oauth-token",
        "get",
        "200",
        http.get("/v1/oauth-token").await.1,
    ));
    checks.push((
        "/v2/orgs/{org_id}",
        "get",
        "200",
        http.get(&format!("/v2/orgs/{o}")).await.1,
    ));
    for q in [
        "",
        "?limit=7",
        "?role=organization_internal_admin",
        "?active=false&license=full",
        "?cursor=3074457345600000100",
    ] {
        checks.push((
            "/v2/orgs/{org_id}/members",
            "get",
            "200",
            http.get(&format!("/v2/orgs/{o}/members{q}")).await.1,
        ));
    }
    let emails = format!("?emails={},{}", user.email, "nobody@example.com");
    let bare = http.get(&format!("/v2/orgs/{o}/members{emails}")).await.1;
    assert!(bare.is_array(), "the emails filter answers a bare array");
    checks.push(("/v2/orgs/{org_id}/members", "get", "200", bare));
    checks.push((
        "/v2/orgs/{org_id}/members/{member_id}",
        "get",
        "200",
        http.get(&format!("/v2/orgs/{o}/members/{}", user.id))
            .await
            .1,
    ));
    checks.push((
        "/v2/orgs/{org_id}/teams",
        "get",
        "200",
        http.get(&format!("/v2/orgs/{o}/teams?limit=2")).await.1,
    ));
    checks.push((
        "/v2/orgs/{org_id}/teams/{team_id}",
        "get",
        "200",
        http.get(&format!("/v2/orgs/{o}/teams/{}", team.id)).await.1,
    ));
    checks.push((
        "/v2/orgs/{org_id}/teams/{team_id}/members",
        "get",
        "200",
        http.get(&format!("/v2/orgs/{o}/teams/{}/members", team.id))
            .await
            .1,
    ));
    checks.push((
        "/v2/orgs/{org_id}/teams/{team_id}/members/{member_id}",
        "get",
        "200",
        http.get(&format!(
            "/v2/orgs/{o}/teams/{}/members/{member_id}",
            team.id
        ))
        .await
        .1,
    ));
    let (s, _, invited) = http
        .call(
            Method::POST,
            &format!("/v2/orgs/{o}/teams/{}/members", team.id),
            Some(json!({"email": user.email, "role": "member"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    checks.push((
        "/v2/orgs/{org_id}/teams/{team_id}/members",
        "post",
        "201",
        invited,
    ));
    let (_, _, patched) = http
        .call(
            Method::PATCH,
            &format!("/v2/orgs/{o}/teams/{}/members/{}", team.id, user.id),
            Some(json!({"role": "admin"})),
        )
        .await;
    checks.push((
        "/v2/orgs/{org_id}/teams/{team_id}/members/{member_id}",
        "patch",
        "200",
        patched,
    ));

    for (path, method, status, body) in &checks {
        assert_valid(
            &validator(&spec, path, method, status),
            body,
            &format!("{method} {path}"),
        );
    }
    // And the writes show in later reads.
    assert_eq!(
        http.sim.org().teams[&team.id].members[&user.id].role,
        "admin"
    );
}

/// SCIM's Users and discovery, against the spec; a user created, patched and replaced shows in
/// REST's member read.
#[tokio::test]
async fn scim_responses_match_the_openapi_spec() {
    let Some(spec) = spec() else { return };
    let http = Http::new(sim_with(230, 5).await);
    let o = &http.sim.org().id;
    let user = http
        .sim
        .org()
        .members
        .values()
        .find(|m| m.role == "organization_internal_user" && m.active)
        .unwrap()
        .clone();
    let mut checks: Vec<(&str, &str, &str, Value)> = Vec::new();
    checks.push((
        "/Users",
        "get",
        "200",
        http.get("/api/v1/scim/Users?count=5&startIndex=3").await.1,
    ));
    checks.push((
        "/Users",
        "get",
        "200",
        http.get(&format!(
            "/api/v1/scim/Users?filter=userName%20eq%20%22{}%22",
            user.email
        ))
        .await
        .1,
    ));
    checks.push((
        "/Users/{id}",
        "get",
        "200",
        http.get(&format!("/api/v1/scim/Users/{}", user.id)).await.1,
    ));
    let (s, headers, created) = http
        .call(Method::POST, "/api/v1/scim/Users", Some(json!({"userName": "contract@example.com", "name": {"givenName": "Con", "familyName": "Tract"}, "userType": "Basic"})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(
        headers
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with(created["id"].as_str().unwrap())
    );
    checks.push(("/Users", "post", "201", created.clone()));
    let id = created["id"].as_str().unwrap().to_string();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Replace", "path": "active", "value": "false"}, {"op": "Replace", "path": "displayName", "value": "C. Tract"}]});
    let (_, _, patched) = http
        .call(
            Method::PATCH,
            &format!("/api/v1/scim/Users/{id}"),
            Some(patch),
        )
        .await;
    assert_eq!(patched["active"], json!(false));
    checks.push(("/Users/{id}", "patch", "200", patched));
    let (_, _, put) = http
        .call(
            Method::PUT,
            &format!("/api/v1/scim/Users/{id}"),
            Some(json!({"userName": "contract@example.com", "active": true})),
        )
        .await;
    checks.push(("/Users/{id}", "put", "200", put));
    checks.push((
        "/ServiceProviderConfig",
        "get",
        "200",
        http.get("/api/v1/scim/ServiceProviderConfig").await.1,
    ));

    for (path, method, status, body) in &checks {
        assert_valid(
            &validator(&spec, path, method, status),
            body,
            &format!("{method} {path}"),
        );
    }
    let (_, m) = http.get(&format!("/v2/orgs/{o}/members/{id}")).await;
    assert_eq!(
        (
            m["email"].as_str(),
            m["active"].as_bool(),
            m["license"].as_str()
        ),
        (Some("contract@example.com"), Some(true), Some("basic"))
    );
}

/// A negative control: the validator does reject what breaks the spec.
#[tokio::test]
async fn the_spec_validator_rejects_what_breaks_the_spec() {
    let Some(spec) = spec() else { return };
    let http = Http::new(sim_with(20, 1).await);
    let org = http.sim.org();
    let user = org.members.keys().next().unwrap();
    let member_schema = validator(&spec, "/v2/orgs/{org_id}/members/{member_id}", "get", "200");
    let mut broken = http
        .get(&format!("/v2/orgs/{}/members/{user}", org.id))
        .await
        .1;
    assert!(
        member_schema.is_valid(&broken),
        "the untouched answer passes"
    );
    broken["role"] = json!("organization_overlord");
    assert!(!member_schema.is_valid(&broken));
    broken.as_object_mut().unwrap().remove("role");
    assert!(!member_schema.is_valid(&broken));
}
