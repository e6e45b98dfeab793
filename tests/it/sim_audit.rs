//! The simulator's audit log against Miro's spec: the page schema, both times required and in the
//! spec's format, cursor paging both ways, Level 2, the scope and the plan.
use reqwest::StatusCode;

use super::{
    common::*,
    contract::{Checks, Http, spec},
};
use miro_connector::sim::SimConfig;

fn window(after: &str, before: &str) -> String {
    format!("/v2/audit/logs?createdAfter={after}&createdBefore={before}")
}

#[tokio::test]
async fn audit_log_answers_match_the_openapi_spec_and_its_cost() {
    let spec = spec();
    let http = Http::new(sim_with(40, 2).await);
    let all = window("2000-01-01T00:00:00.000Z", "2100-01-01T00:00:00.000Z");
    let path = "/v2/audit/logs";
    let mut checks = Checks::default();
    let ok = StatusCode::OK;
    let first = http.get(&format!("{all}&limit=5")).await;
    assert_eq!(first.1["size"], 5);
    assert_eq!(first.1["type"], "cursor-list");
    let created = first.1["data"][0]["createdAt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        created.ends_with("+0000") && created.len() == 28,
        "createdAt as Miro writes it: {created}"
    );
    let cursor = first.1["cursor"].as_str().unwrap().to_string();
    checks.expect(ok, first.clone(), path, "get", "200");
    // The cursor goes on where the page stopped; newest first reverses the order.
    let next = http.get(&format!("{all}&limit=5&cursor={cursor}")).await;
    assert_ne!(next.1["data"][0]["id"], first.1["data"][0]["id"]);
    let asc: Vec<String> = (http.get(&format!("{all}&limit=1000")).await.1["data"])
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let desc = http.get(&format!("{all}&limit=1000&sorting=DESC")).await;
    let mut reversed: Vec<String> = desc.1["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    reversed.reverse();
    assert_eq!(asc, reversed);
    assert!(asc.windows(2).all(|w| w[0] < w[1]), "ids are time-ordered");
    checks.expect(ok, desc, path, "get", "200");
    for bad in [
        "/v2/audit/logs?createdAfter=2000-01-01T00:00:00.000Z".to_string(),
        window("2000-01-01T00:00:00Z", "2100-01-01T00:00:00.000Z"),
        format!("{all}&sorting=UP"),
        format!("{all}&limit=0"),
        format!("{all}&cursor=nope"),
    ] {
        assert_eq!(http.get(&bad).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
    http.sim.reset_stats();
    http.get(&all).await;
    let stats = http.sim.stats();
    assert_eq!(
        stats.endpoints["GET /v2/audit/logs"].credits, 100,
        "Level 2"
    );
    if let Some(spec) = spec {
        checks.validate(&spec);
    }
}

#[tokio::test]
async fn the_audit_log_needs_its_scope_and_enterprise() {
    let all = window("2000-01-01T00:00:00.000Z", "2100-01-01T00:00:00.000Z");
    let mut cfg = SimConfig::new(org(10, 1));
    cfg.scopes.retain(|s| s != "auditlogs:read");
    let http = Http::new(start_sim(cfg).await);
    let (status, body) = http.get(&all).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["message"].as_str().unwrap().contains("auditlogs:read"));
    let mut cfg = SimConfig::new(org(10, 1));
    cfg.org.plan = "business".into();
    let http = Http::new(start_sim(cfg).await);
    assert_eq!(http.get(&all).await.0, StatusCode::FORBIDDEN);
}

/// Each write the simulator serves adds one event, naming what it changed where the spec says an
/// event names things (`object`, `context.team`, `createdBy`).
#[tokio::test]
async fn each_write_adds_one_event_naming_what_it_changed() {
    let http = Http::new(sim_with(30, 2).await);
    let all = window("2000-01-01T00:00:00.000Z", "2100-01-01T00:00:00.000Z");
    let count = |v: &serde_json::Value| v["size"].as_u64().unwrap();
    let before = count(&http.get(&format!("{all}&limit=1000")).await.1);
    let org = http.sim.org();
    let board = org.boards.values().next().unwrap();
    let (status, _) = http
        .send(
            reqwest::Method::PATCH,
            format!("/v2/boards/{}", board.id),
            Some(serde_json::json!({"policy": {"sharingPolicy": {"access": "view"}}})),
        )
        .await;
    assert!(status.is_success(), "{status}");
    let page = http.get(&format!("{all}&limit=1000&sorting=DESC")).await.1;
    assert_eq!(count(&page), before + 1);
    let e = &page["data"][0];
    assert_eq!(e["object"]["id"], board.id.as_str());
    assert_eq!(e["context"]["team"]["id"], board.team_id.as_str());
    assert_eq!(e["createdBy"]["id"], org.admin_user_id.as_str());
    assert_eq!(e["createdBy"]["type"], "user");
}
