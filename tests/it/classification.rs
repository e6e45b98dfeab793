//! Board classification (`--content-classification`): each board's label, its sharing
//! recommendation and whether the board is shared beyond it, from exactly one settings read and
//! one label read per board; nothing asked without the setting; a refusal leaves labels out.
use std::collections::BTreeMap;

use miro_connector::{
    client::{self, Snapshot},
    connector::ContentMode,
    pb,
    sim::{ContentParts, Org, SimConfig, Stats, content_minimum},
};
use prost_types::value::Kind;
use reqwest::StatusCode;

use super::{
    common::*,
    contract::{Checks, Http, spec},
    rpc,
};

const SETTINGS: &str = "GET /v2/orgs/{org_id}/data-classification-settings";
const LABEL: &str = "GET /v2/orgs/{org_id}/teams/{team_id}/boards/{board_id}/data-classification";

fn field(r: &pb::Resource, key: &str) -> Option<String> {
    let v = r.profile.as_ref()?.fields.get(key)?;
    match &v.kind {
        Some(Kind::StringValue(s)) => Some(s.clone()),
        Some(Kind::BoolValue(b)) => Some(b.to_string()),
        _ => None,
    }
}

/// What the test expects of each board, from the simulator's state: (label name, recommendation,
/// shared beyond it), written here apart from the connector's rule.
fn expected(org: &Org) -> BTreeMap<String, Option<(String, String, String)>> {
    let open = |l: &str| l != "private";
    org.boards
        .values()
        .map(|b| {
            let label = b
                .classification
                .as_ref()
                .and_then(|id| org.classification.labels.iter().find(|l| &l.id == id));
            let want = label.map(|l| {
                let s = &b.sharing;
                let beyond = match l.sharing_recommendation.as_str() {
                    "ONLY_WITHIN_ORGANIZATION" => open(&s.access),
                    "ONLY_WITHIN_TEAM" => open(&s.access) || open(&s.organization_access),
                    "ONLY_WITH_AUTHORIZED_TEAM_MEMBERS" => {
                        open(&s.access) || open(&s.organization_access) || open(&s.team_access)
                    }
                    _ => false,
                };
                (
                    l.name.clone(),
                    l.sharing_recommendation.clone(),
                    beyond.to_string(),
                )
            });
            (b.id.clone(), want)
        })
        .collect()
}

fn got(snap: &Snapshot) -> BTreeMap<String, Option<(String, String, String)>> {
    snap.resources
        .iter()
        .filter(|r| r.id.as_ref().is_some_and(|i| i.resource_type == "board"))
        .map(|r| {
            let l = field(r, "classification").map(|name| {
                (
                    name,
                    field(r, "classification_sharing").unwrap_or_default(),
                    field(r, "shared_beyond_classification").unwrap_or_default(),
                )
            });
            (r.id.as_ref().unwrap().resource.clone(), l)
        })
        .collect()
}

async fn sync(cfg: SimConfig, classification: bool) -> (Org, Snapshot, Stats) {
    let sim = start_sim(cfg).await;
    let mut args = settings(&sim, false, true);
    args.content = Some(ContentMode::Sharing);
    args.content_classification = Some(classification);
    args.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    sim.reset_stats();
    let snap = client::full_sync(ch, &mut ()).await.unwrap();
    let stats = sim.stats();
    if classification && got(&snap).values().all(Option::is_none) {
        let body = scrape(&daemon).await;
        let refused = !sim.org().classification.enabled
            || body.contains("connector_content_skipped_total{part=\"classification\"}");
        assert!(refused, "no label read, and no refusal counted: {body}");
    }
    daemon.shutdown().await;
    (sim.org(), snap, stats)
}

#[tokio::test]
async fn every_boards_label_and_exposure_from_one_read_a_board() {
    let (org, snap, stats) = sync(SimConfig::new(org(300, 6)), true).await;
    let want = expected(&org);
    assert_eq!(got(&snap), want);
    let labelled = want.values().flatten().count();
    let beyond = want.values().flatten().filter(|l| l.2 == "true").count();
    assert!(
        labelled > 0 && labelled < want.len() && beyond > 0 && beyond < labelled,
        "the org has labelled and unlabelled boards, some shared beyond their label: {labelled} of {}, {beyond} beyond",
        want.len()
    );
    let parts = ContentParts {
        classification: true,
        ..Default::default()
    };
    let min = content_minimum(&org, parts, &|_| true);
    assert_eq!(min.board_labels, org.boards.len() as u64);
    assert_eq!(stats.requests_to(SETTINGS), min.classification_settings);
    assert_eq!(stats.requests_to(SETTINGS), 1, "the setting is read once");
    assert_eq!(stats.requests_to(LABEL), min.board_labels);
    assert_eq!(stats.requests_to("GET /v2/boards"), min.board_pages);
    assert_eq!(stats.rate_limited, 0);
    // A flagged board says so where a reviewer reads first.
    let flagged = snap
        .resources
        .iter()
        .find(|r| field(r, "shared_beyond_classification").as_deref() == Some("true"))
        .unwrap();
    assert!(flagged.description.starts_with("Shared beyond its label "));
}

#[tokio::test]
async fn without_the_setting_no_label_is_asked_for() {
    let (_, snap, stats) = sync(SimConfig::new(org(150, 4)), false).await;
    assert_eq!(stats.requests_to(SETTINGS) + stats.requests_to(LABEL), 0);
    assert!(got(&snap).values().all(Option::is_none));
}

#[tokio::test]
async fn an_org_that_does_not_classify_costs_one_read() {
    let mut o = org(150, 4);
    o.classification.enabled = false;
    let (_, snap, stats) = sync(SimConfig::new(o), true).await;
    assert_eq!(stats.requests_to(SETTINGS), 1);
    assert_eq!(stats.requests_to(LABEL), 0);
    assert!(got(&snap).values().all(Option::is_none));
}

/// On a plan below Enterprise (the settings are refused), or with the label reads refused, the
/// sync completes with boards and no labels, the metric says why (asserted in `sync`), and the
/// refused read is not asked again board after board.
#[tokio::test]
async fn a_refused_read_leaves_labels_out_and_says_why() {
    use miro_connector::sim::{FaultConfig, FaultRule};
    let mut below = SimConfig::new(org(150, 4));
    below.org.plan = "business".into();
    let mut labels_refused = SimConfig::new(org(150, 4));
    labels_refused.faults = FaultConfig {
        seed: 1,
        rules: vec![FaultRule {
            endpoint: Some("{board_id}/data-classification".into()),
            burst: 100_000,
            burst_status: Some(403),
            ..Default::default()
        }],
    };
    for (cfg, label_reads) in [(below, 0..=0), (labels_refused, 1..=8)] {
        let (org, snap, stats) = sync(cfg, true).await;
        assert_eq!(stats.requests_to(SETTINGS), 1, "read once");
        let n = stats.requests_to(LABEL);
        assert!(label_reads.contains(&n), "{n} label reads");
        let boards = got(&snap);
        assert_eq!(boards.len(), org.boards.len());
        assert!(boards.values().all(Option::is_none));
    }
}

/// A targeted sync of one board (GetResource) carries its label too.
#[tokio::test]
async fn one_board_read_alone_carries_its_label() {
    let sim = sim_with(150, 4).await;
    let org = sim.org();
    let want = expected(&org);
    let (id, label) = want.iter().find(|(_, l)| l.is_some()).unwrap();
    let mut args = settings(&sim, false, true);
    args.content = Some(ContentMode::Sharing);
    args.content_classification = Some(true);
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    let r = rpc::get(&ch, rid("board", id), None).await.unwrap();
    assert_eq!(
        field(&r, "classification"),
        label.as_ref().map(|l| l.0.clone())
    );
    daemon.shutdown().await;
}

/// A board's grants need its sharing, not its label: a client that sends the board without its
/// profile costs one board read, and no label read.
#[tokio::test]
async fn grants_of_a_bare_board_read_no_label() {
    let sim = sim_with(150, 4).await;
    let org = sim.org();
    let b = org
        .boards
        .values()
        .find(|b| b.classification.is_some())
        .unwrap();
    let mut args = settings(&sim, false, true);
    args.content = Some(ContentMode::Sharing);
    args.content_classification = Some(true);
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    sim.reset_stats();
    let grants = rpc::grants_page(&ch, &res("board", &b.id), "")
        .await
        .unwrap();
    assert!(!grants.list.is_empty());
    let stats = sim.stats();
    assert_eq!(stats.requests_to("GET /v2/boards/{board_id}"), 1);
    assert_eq!(stats.requests_to(SETTINGS) + stats.requests_to(LABEL), 0);
    daemon.shutdown().await;
}

#[tokio::test]
async fn classification_answers_match_the_openapi_spec_and_their_costs() {
    // Without the spec (outside CI), the answers' schemas go unchecked; their statuses and
    // costs are checked all the same.
    let spec = spec();
    let http = Http::new(sim_with(120, 3).await);
    let org = http.sim.org();
    let o = &org.id;
    let mut checks = Checks::default();
    let ok = StatusCode::OK;
    let settings = http
        .get(&format!("/v2/orgs/{o}/data-classification-settings"))
        .await;
    assert_eq!(settings.1["labels"].as_array().unwrap().len(), 4);
    checks.expect(
        ok,
        settings,
        "/v2/orgs/{org_id}/data-classification-settings",
        "get",
        "200",
    );
    let path = "/v2/orgs/{org_id}/teams/{team_id}/boards/{board_id}/data-classification";
    for labelled in [true, false] {
        let b = org
            .boards
            .values()
            .find(|b| b.classification.is_some() == labelled)
            .unwrap();
        let (t, id) = (&b.team_id, &b.id);
        let answer = http
            .get(&format!(
                "/v2/orgs/{o}/teams/{t}/boards/{id}/data-classification"
            ))
            .await;
        assert_eq!(answer.1.get("id").is_some(), labelled, "{}", answer.1);
        checks.expect(ok, answer, path, "get", "200");
    }
    let b = org.boards.values().next().unwrap();
    let other_team = org.teams.keys().find(|t| **t != b.team_id).unwrap();
    let (status, _) = http
        .get(&format!(
            "/v2/orgs/{o}/teams/{other_team}/boards/{}/data-classification",
            b.id
        ))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a board is read under its own team"
    );
    if let Some(spec) = &spec {
        checks.validate(spec);
    }
    let stats = http.sim.stats();
    assert_eq!(
        stats.endpoints[SETTINGS].credits / stats.requests_to(SETTINGS),
        100,
        "Level 2"
    );
    assert_eq!(
        stats.endpoints[LABEL].credits / stats.requests_to(LABEL),
        100
    );
}

/// The setting is refused with content off: labels are read with boards.
#[tokio::test]
async fn classification_needs_content_on() {
    let sim = sim_with(20, 2).await;
    let mut args = settings(&sim, false, true);
    args.content_classification = Some(true);
    let e = miro_connector::config::Settings::load(&args, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("content_classification"), "{e}");
}
