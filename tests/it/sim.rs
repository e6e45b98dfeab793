//! The simulator against Miro's spec: a contract test of every implemented endpoint's response
//! against the OpenAPI schemas, and the documented edge cases and fault knobs.
use std::time::{Duration, Instant};

use miro_connector::sim::{FaultConfig, FaultRule, SimConfig, SimHandle};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use super::common::*;

pub(super) struct Http {
    c: Client,
    pub(super) sim: SimHandle,
}

impl Http {
    pub(super) fn new(sim: SimHandle) -> Self {
        Self {
            c: Client::new(),
            sim,
        }
    }
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let scim = path.starts_with("/api/v1/scim");
        let token = if scim {
            self.sim.scim_token()
        } else {
            self.sim.access_token()
        };
        let mut req = self
            .c
            .request(method, format!("{}{path}", self.sim.api_url()))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        let text = r.text().await.unwrap();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }
    pub(super) async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, _, v) = self.call(Method::GET, path, None).await;
        (s, v)
    }
}

pub(super) fn spec() -> Option<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/miro/openapi.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).unwrap()),
        Err(_) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{} not found: under CI the contract test must run",
                path.display()
            );
            println!(
                "skipped: {} not found; the contract test needs Miro's OpenAPI spec beside the checkout",
                path.display()
            );
            None
        }
    }
}

/// A validator for one response schema of the spec, resolving `#/components/...` against it.
pub(super) fn validator(
    spec: &Value,
    path: &str,
    method: &str,
    status: &str,
) -> jsonschema::Validator {
    let content = &spec["paths"][path][method]["responses"][status]["content"];
    let schema = content
        .get("application/json")
        .or_else(|| content.get("application/scim+json"))
        .map(|c| c["schema"].clone())
        .unwrap_or_else(|| panic!("no schema for {method} {path} {status}"));
    let mut components = spec["components"].clone();
    // The spec's TeamMember.role enum omits `team_guest`, which its own description documents as
    // still reported (deprecated); accept what the spec's text says Miro sends.
    if let Some(e) =
        components["schemas"]["TeamMember"]["properties"]["role"]["enum"].as_array_mut()
    {
        e.push(json!("team_guest"));
    }
    let mut root = schema;
    root["components"] = components;
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&root)
        .unwrap()
}

pub(super) fn assert_valid(v: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match Miro's spec: {errors:?}"
    );
}

/// A validator for one schema of the spec's components.
pub(super) fn component(spec: &Value, schema: Value) -> jsonschema::Validator {
    let mut root = schema;
    root["components"] = spec["components"].clone();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&root)
        .unwrap()
}

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

#[tokio::test]
async fn responses_match_the_openapi_spec() {
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

    // A negative control: the validator does reject what breaks the spec.
    let member_schema = validator(&spec, "/v2/orgs/{org_id}/members/{member_id}", "get", "200");
    let mut broken = checks
        .iter()
        .find(|c| c.0 == "/v2/orgs/{org_id}/members/{member_id}")
        .unwrap()
        .3
        .clone();
    broken["role"] = json!("organization_overlord");
    assert!(!member_schema.is_valid(&broken));
    broken.as_object_mut().unwrap().remove("role");
    assert!(!member_schema.is_valid(&broken));
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

#[tokio::test]
async fn documented_edge_cases() {
    let http = Http::new(sim_with(120, 3).await);
    let org = http.sim.org();
    let o = &org.id;
    for bad in ["0", "101", "ten"] {
        let (s, v) = http.get(&format!("/v2/orgs/{o}/members?limit={bad}")).await;
        assert_eq!(
            (s, v["code"].as_str(), v["type"].as_str()),
            (
                StatusCode::BAD_REQUEST,
                Some("invalidParameters"),
                Some("error")
            ),
            "limit={bad}"
        );
    }
    let (s, v) = http.get(&format!("/v2/orgs/{o}/members?limit=100")).await;
    assert_eq!(
        (s, v["data"].as_array().unwrap().len(), v["size"].as_u64()),
        (StatusCode::OK, 100, Some(100))
    );
    let (_, last) = http
        .get(&format!(
            "/v2/orgs/{o}/members?cursor={}",
            v["cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(last["data"].as_array().unwrap().len(), 20);
    assert!(
        last.get("cursor").is_none(),
        "the last page carries no cursor by default"
    );

    let eleven: Vec<String> = org
        .members
        .values()
        .take(11)
        .map(|m| m.email.clone())
        .collect();
    let (s, _) = http
        .get(&format!("/v2/orgs/{o}/members?emails={}", eleven.join(",")))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "more than 10 emails");
    let (s, v) = http
        .get(&format!(
            "/v2/orgs/{o}/members?emails={}&role=organization_team_guest_user",
            eleven[..3].join(",")
        ))
        .await;
    assert_eq!(
        (s, v.as_array().map(Vec::len)),
        (StatusCode::OK, Some(3)),
        "other filters are ignored"
    );

    let team = org.teams.values().next().unwrap();
    let (uid, _) = team.members.iter().nth(1).unwrap();
    let email = &org.members[uid].email;
    let invite = format!("/v2/orgs/{o}/teams/{}/members", team.id);
    let (s, _, v) = http
        .call(Method::POST, &invite, Some(json!({"email": email})))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let (s, _, _) = http
        .call(
            Method::POST,
            &invite,
            Some(json!({"email": "stranger@nowhere.example"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "not an organization member");
    let (s, _, _) = http
        .call(
            Method::PATCH,
            &format!("{invite}/{uid}"),
            Some(json!({"role": "non_team"})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "only member and admin can be written"
    );
    let (s, _, _) = http
        .call(Method::DELETE, &format!("{invite}/{uid}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, v) = http
        .call(Method::DELETE, &format!("{invite}/{uid}"), None)
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("notFound")),
        "removing a non-member"
    );

    let dup = json!({"userName": org.members.values().find(|m| m.role == "organization_internal_user").unwrap().email});
    let (s, _, v) = http
        .call(Method::POST, "/api/v1/scim/Users", Some(dup))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        (v["status"].as_str(), v["scimType"].as_str()),
        (Some("400"), Some("invalidValue")),
        "SCIM status is a string"
    );
    assert!(v["detail"].as_str().unwrap().contains("not unique"));

    let anon = http
        .c
        .get(format!("{}/v2/orgs/{o}/teams", http.sim.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anon.json::<Value>().await.unwrap()["status"], json!(401));
    let wrong = http
        .c
        .get(format!("{}/Users", http.sim.scim_url()))
        .bearer_auth(http.sim.access_token())
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong.status(),
        StatusCode::UNAUTHORIZED,
        "the REST token is not a SCIM token"
    );
    assert_eq!(wrong.json::<Value>().await.unwrap()["status"], json!("401"));
}

#[tokio::test]
async fn the_budget_runs_out_with_429_and_headers() {
    let mut cfg = SimConfig::new(org(50, 1));
    cfg.rest_budget = Some(1000);
    let http = Http::new(start_sim(cfg).await);
    let path = format!("/v2/orgs/{}/members", http.sim.org().id);
    let (_, h, _) = http.call(Method::GET, &path, None).await;
    assert_eq!(
        (
            h["x-ratelimit-limit"].to_str().unwrap(),
            h["x-ratelimit-remaining"].to_str().unwrap()
        ),
        ("1000", "500")
    );
    let reset: u64 = h["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        reset > now && reset <= now + 61,
        "reset is epoch seconds within the minute"
    );
    http.call(Method::GET, &path, None).await;
    let (s, h, v) = http.call(Method::GET, &path, None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("tooManyRequests"))
    );
    assert_eq!(h["x-ratelimit-remaining"].to_str().unwrap(), "0");
    assert!(
        h.get("retry-after").is_none(),
        "Retry-After is off unless configured"
    );
    let stats = http.sim.stats();
    assert_eq!((stats.rate_limited, stats.credits), (1, 1000));
}

async fn timed(http: &Http, path: &str) -> (Result<reqwest::Response, reqwest::Error>, Duration) {
    let t0 = Instant::now();
    let r = http
        .c
        .get(format!("{}{path}", http.sim.api_url()))
        .bearer_auth(http.sim.access_token())
        .send()
        .await;
    (r, t0.elapsed())
}

#[tokio::test]
async fn every_fault_knob_works_and_can_change_at_runtime() {
    let http = Http::new(sim_with(30, 1).await);
    let path = format!("/v2/orgs/{}/teams", http.sim.org().id);
    let put = |rule: FaultRule| {
        let c = http.c.clone();
        let url = format!("{}/_sim/faults", http.sim.api_url());
        async move {
            let r = c
                .put(url)
                .json(&FaultConfig {
                    seed: 5,
                    rules: vec![rule],
                })
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NO_CONTENT);
        }
    };
    put(FaultRule {
        latency_ms: 300,
        ..Default::default()
    })
    .await;
    let (r, t) = timed(&http, &path).await;
    assert!(r.unwrap().status().is_success() && t >= Duration::from_millis(300));
    put(FaultRule {
        slow_rate: 1.0,
        slow_ms: 400,
        ..Default::default()
    })
    .await;
    assert!(timed(&http, &path).await.1 >= Duration::from_millis(400));
    put(FaultRule {
        error_rate: 1.0,
        ..Default::default()
    })
    .await;
    let s = timed(&http, &path).await.0.unwrap().status().as_u16();
    assert!([500, 502, 503].contains(&s), "{s}");
    put(FaultRule {
        burst: 2,
        ..Default::default()
    })
    .await;
    assert_eq!(timed(&http, &path).await.0.unwrap().status(), 429);
    assert_eq!(timed(&http, &path).await.0.unwrap().status(), 429);
    assert_eq!(timed(&http, &path).await.0.unwrap().status(), 200);
    put(FaultRule {
        malformed_rate: 1.0,
        ..Default::default()
    })
    .await;
    let body = timed(&http, &path).await.0.unwrap().text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&body).is_err());
    put(FaultRule {
        truncate_rate: 1.0,
        ..Default::default()
    })
    .await;
    let body = timed(&http, &path).await.0.unwrap().text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&body).is_err() && body.starts_with('{'));
    put(FaultRule {
        drop_rate: 1.0,
        ..Default::default()
    })
    .await;
    let r = timed(&http, &path).await.0;
    assert!(
        r.is_err() || r.unwrap().bytes().await.is_err(),
        "the connection is dropped"
    );
    // Scoped to one endpoint: others are untouched.
    put(FaultRule {
        endpoint: Some("/members".into()),
        error_rate: 1.0,
        ..Default::default()
    })
    .await;
    assert_eq!(timed(&http, &path).await.0.unwrap().status(), 200);

    let stats: Value = http
        .c
        .get(format!("{}/_sim/stats", http.sim.api_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        stats["endpoints"]["GET /v2/orgs/{org_id}/teams"]["requests"]
            .as_u64()
            .unwrap()
            >= 10
    );
    let r = http
        .c
        .post(format!("{}/_sim/reset", http.sim.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(http.sim.stats().requests, 0);
    let state: Value = http
        .c
        .get(format!("{}/_sim/state", http.sim.api_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["members"].as_object().unwrap().len(), 30);
}
