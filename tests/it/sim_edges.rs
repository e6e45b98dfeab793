//! The simulator's documented edge cases, its budget running out, and every fault knob.
use std::time::{Duration, Instant};

use miro_connector::sim::{FaultConfig, FaultRule, SimConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{common::*, contract::*};

/// Page sizes outside 1..=100 are refused as Miro refuses them; the last page has no cursor.
#[tokio::test]
async fn member_pages_honour_the_documented_limits() {
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
}

/// At most 10 emails; with emails, the other filters are ignored.
#[tokio::test]
async fn member_email_filters_are_the_documented_ones() {
    let http = Http::new(sim_with(120, 3).await);
    let org = http.sim.org();
    let o = &org.id;
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
}

/// A team invite of a member conflicts, of a stranger is refused; only member and admin are
/// written; removing a non-member is not found.
#[tokio::test]
async fn team_membership_writes_answer_as_documented() {
    let http = Http::new(sim_with(120, 3).await);
    let org = http.sim.org();
    let o = &org.id;
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
}

/// A SCIM user whose userName is taken is 400 `invalidValue`, with SCIM's string status.
#[tokio::test]
async fn a_duplicate_scim_user_is_invalid_value() {
    let http = Http::new(sim_with(120, 3).await);
    let org = http.sim.org();
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
}

/// No token is 401 in REST's shape; the REST token on SCIM is 401 in SCIM's.
#[tokio::test]
async fn tokens_are_checked_per_api() {
    let http = Http::new(sim_with(120, 3).await);
    let org = http.sim.org();
    let o = &org.id;
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

/// A simulator whose fault knobs a test turns at runtime through `PUT /_sim/faults`, and the path
/// it reads to see them.
struct Knobs {
    http: Http,
    path: String,
}

impl Knobs {
    async fn new() -> Self {
        let http = Http::new(sim_with(30, 1).await);
        let path = format!("/v2/orgs/{}/teams", http.sim.org().id);
        Self { http, path }
    }

    async fn put(&self, rule: FaultRule) {
        let r = self
            .http
            .c
            .put(format!("{}/_sim/faults", self.http.sim.api_url()))
            .json(&FaultConfig {
                seed: 5,
                rules: vec![rule],
            })
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }

    async fn read(&self) -> (Result<reqwest::Response, reqwest::Error>, Duration) {
        timed(&self.http, &self.path).await
    }
}

#[tokio::test]
async fn the_timing_knobs_slow_answers_down() {
    let k = Knobs::new().await;
    k.put(FaultRule {
        latency_ms: 300,
        ..Default::default()
    })
    .await;
    let (r, t) = k.read().await;
    assert!(r.unwrap().status().is_success() && t >= Duration::from_millis(300));
    k.put(FaultRule {
        slow_rate: 1.0,
        slow_ms: 400,
        ..Default::default()
    })
    .await;
    assert!(k.read().await.1 >= Duration::from_millis(400));
}

#[tokio::test]
async fn the_status_knobs_answer_errors_and_bursts_where_they_are_scoped() {
    let k = Knobs::new().await;
    k.put(FaultRule {
        error_rate: 1.0,
        ..Default::default()
    })
    .await;
    let s = k.read().await.0.unwrap().status().as_u16();
    assert!([500, 502, 503].contains(&s), "{s}");
    k.put(FaultRule {
        burst: 2,
        ..Default::default()
    })
    .await;
    for want in [429, 429, 200] {
        assert_eq!(k.read().await.0.unwrap().status(), want);
    }
    // Scoped to one endpoint: others are untouched.
    k.put(FaultRule {
        endpoint: Some("/members".into()),
        error_rate: 1.0,
        ..Default::default()
    })
    .await;
    assert_eq!(k.read().await.0.unwrap().status(), 200);
}

#[tokio::test]
async fn the_body_knobs_break_answers() {
    let k = Knobs::new().await;
    k.put(FaultRule {
        malformed_rate: 1.0,
        ..Default::default()
    })
    .await;
    let body = k.read().await.0.unwrap().text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&body).is_err());
    k.put(FaultRule {
        truncate_rate: 1.0,
        ..Default::default()
    })
    .await;
    let body = k.read().await.0.unwrap().text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&body).is_err() && body.starts_with('{'));
    k.put(FaultRule {
        drop_rate: 1.0,
        ..Default::default()
    })
    .await;
    let r = k.read().await.0;
    assert!(
        r.is_err() || r.unwrap().bytes().await.is_err(),
        "the connection is dropped"
    );
}

/// `/_sim/stats` counts by endpoint template, `/_sim/reset` zeroes it, `/_sim/state` shows the
/// organization.
#[tokio::test]
async fn the_admin_endpoints_count_reset_and_show_the_organization() {
    let k = Knobs::new().await;
    for _ in 0..3 {
        k.read().await.0.unwrap();
    }
    let admin = |path: &str| format!("{}/_sim/{path}", k.http.sim.api_url());
    let stats: Value = k
        .http
        .c
        .get(admin("stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats["endpoints"]["GET /v2/orgs/{org_id}/teams"]["requests"].as_u64(),
        Some(3)
    );
    let r = k.http.c.post(admin("reset")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(k.http.sim.stats().requests, 0);
    let state: Value = k
        .http
        .c
        .get(admin("state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["members"].as_object().unwrap().len(), 30);
}
