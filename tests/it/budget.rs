//! Miro's budget under pressure the connector did not cause: a 429 never outlasts the RPC. The RPC
//! ends early with UNAVAILABLE and a RateLimitDescription saying when to come back, which the
//! official client honours (it waits until `reset_at`, then retries).
use std::time::{Duration, Instant, SystemTime};

use miro_connector::{client, pb, sim::SimConfig};
use prost::Message;
use tonic::Code;

use super::common::*;

/// Another tool of the same admin spends the whole window.
async fn spend_everything(sim: &miro_connector::sim::SimHandle) {
    let http = reqwest::Client::new();
    let url = format!("{}/v2/orgs/{}/teams", sim.api_url(), sim.org().id);
    for _ in 0..100 {
        let r = http
            .get(&url)
            .bearer_auth(sim.access_token())
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            return;
        }
    }
    panic!("the budget never ran out");
}

/// Every RPC that reads Miro: a listing, a get, a board's entitlements (its team read with it),
/// a team's grants, a feed's events.
async fn each_reading_rpc(
    ch: &tonic::transport::Channel,
    team: &str,
    board: &str,
) -> Vec<(&'static str, tonic::Status)> {
    let board = pb::Resource {
        id: Some(rid("board", board)),
        ..Default::default()
    };
    let err = |r: Result<(), tonic::Status>| r.unwrap_err();
    vec![
        (
            "ListResources",
            err(super::rpc::resources_page(ch, "team", None, "")
                .await
                .map(drop)),
        ),
        (
            "GetResource",
            err(super::rpc::get(ch, rid("team", team), None).await.map(drop)),
        ),
        (
            "ListEntitlements",
            err(super::rpc::entitlements(ch, &board).await.map(drop)),
        ),
        (
            "ListGrants",
            err(super::rpc::grants_page(ch, &res("team", team), "")
                .await
                .map(drop)),
        ),
        (
            "ListEvents",
            err(super::rpc::events_page(ch, "miro_usage", "", None, 10)
                .await
                .map(drop)),
        ),
    ]
}

#[tokio::test]
async fn a_429_that_would_outlast_the_rpc_ends_it_early_with_when_to_come_back() {
    let mut cfg = SimConfig::new(org(20, 3));
    cfg.rest_budget = Some(2_000);
    cfg.rest_window = Duration::from_secs(20);
    let sim = start_sim(cfg).await;
    let org = sim.org();
    let board = org.boards.values().next().unwrap().id.clone();
    let team = org.teams.keys().next().unwrap().clone();
    let mut args = settings(&sim, false, false);
    args.rpc_timeout = Some("3s".parse().unwrap());
    args.content = Some(ContentMode::Sharing);
    args.events = Some(true);
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    spend_everything(&sim).await;
    let started = Instant::now();
    for (rpc, e) in each_reading_rpc(&ch, &team, &board).await {
        assert_eq!(e.code(), Code::Unavailable, "{rpc}: {e:?}");
        let status = pb::RpcStatus::decode(e.details()).unwrap();
        let d = pb::RateLimitDescription::decode(status.details[0].value.as_slice()).unwrap();
        assert_eq!(
            d.status,
            pb::rate_limit_description::Status::Overlimit as i32
        );
        assert_eq!(
            d.remaining, 0,
            "the official client waits until reset_at when none remain"
        );
        let reset: SystemTime = d.reset_at.unwrap().try_into().unwrap();
        let wait = reset.duration_since(SystemTime::now()).unwrap_or_default();
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(21),
            "{rpc}: {wait:?}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "all five ended before one deadline, not at it: {:?}",
        started.elapsed()
    );
    daemon.shutdown().await;
}

/// A client that honours the description, as the official one does, completes the sync through a
/// window spent by someone else, with every RPC ending in time.
#[tokio::test]
async fn a_sync_through_someone_elses_spent_window_completes() {
    let org = org(30, 3);
    let mut cfg = SimConfig::new(org.clone());
    cfg.rest_budget = Some(3_000);
    cfg.rest_window = Duration::from_secs(4);
    let sim = start_sim(cfg).await;
    let mut args = settings(&sim, false, false);
    args.rpc_timeout = Some("2s".parse().unwrap());
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    spend_everything(&sim).await;
    let snap = client::full_sync(ch, &mut ()).await.unwrap();
    assert_eq!(
        snap.resources
            .iter()
            .filter(|r| r.id.as_ref().unwrap().resource_type == "team")
            .count(),
        3
    );
    assert!(snap.retries > 0, "the walker came back after a rate limit");
    daemon.shutdown().await;
}
