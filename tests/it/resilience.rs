//! Health during a drain, and display names that never fail a listing.
use std::time::Duration;

use miro_connector::{
    pb::{self, resources_service_client::ResourcesServiceClient},
    sim::{FaultConfig, FaultRule, SimConfig},
};
use tonic_health::pb::health_check_response::ServingStatus;

use super::common::*;

/// During the drain the health port answers NOT_SERVING; it does not refuse connections.
#[tokio::test]
async fn health_answers_not_serving_until_the_drain_ends() {
    let mut cfg = SimConfig::new(org(10, 1));
    cfg.faults = FaultConfig {
        seed: 1,
        rules: vec![FaultRule {
            endpoint: Some("/teams".into()),
            latency_ms: 1_500,
            ..Default::default()
        }],
    };
    let sim = start_sim(cfg).await;
    let mut args = settings(&sim, false, false);
    args.health_listen = Some("127.0.0.1:0".parse().unwrap());
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    let health_addr = daemon.health_addr.unwrap();
    let slow = tokio::spawn(async move {
        ResourcesServiceClient::new(ch)
            .list_resources(pb::ResourcesServiceListResourcesRequest {
                resource_type_id: "team".into(),
                ..Default::default()
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = tokio::spawn(daemon.shutdown());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!stopping.is_finished(), "the slow RPC is still draining");
    let probe = tonic::transport::Channel::from_shared(format!("http://{health_addr}"))
        .unwrap()
        .connect()
        .await
        .expect("the health port still accepts connections during the drain");
    assert_eq!(health(&probe, "").await.unwrap(), ServingStatus::NotServing);
    assert_eq!(
        health(&probe, "liveness").await.unwrap(),
        ServingStatus::NotServing
    );
    assert!(slow.await.unwrap().is_ok(), "the in-flight RPC finished");
    assert!(stopping.await.unwrap(), "drained within the grace period");
}

async fn user_names(sim_cfg: SimConfig) -> (Vec<String>, miro_connector::sim::Stats) {
    let sim = start_sim(sim_cfg).await;
    let (daemon, ch) = start_daemon(&settings(&sim, false, true)).await;
    wait_ready(&ch).await;
    let mut names = Vec::new();
    let mut c = ResourcesServiceClient::new(ch);
    let mut token = String::new();
    loop {
        let r = c
            .list_resources(pb::ResourcesServiceListResourcesRequest {
                resource_type_id: "user".into(),
                page_token: token,
                ..Default::default()
            })
            .await
            .expect("names never fail a listing")
            .into_inner();
        names.extend(r.list.into_iter().map(|u| u.display_name));
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    daemon.shutdown().await;
    (names, sim.stats())
}

#[tokio::test]
async fn names_are_an_enrichment_that_never_fails_a_listing() {
    let org = org(250, 2);
    let (clean, _) = user_names(SimConfig::new(org.clone())).await;
    assert!(
        clean.iter().any(|n| !n.contains('@')),
        "SCIM names are used"
    );

    // SCIM down: every page still lists, with emails as names.
    let mut cfg = SimConfig::new(org.clone());
    cfg.faults = FaultConfig {
        seed: 1,
        rules: vec![FaultRule {
            endpoint: Some("GET /Users".into()),
            error_rate: 1.0,
            ..Default::default()
        }],
    };
    let (down, _) = user_names(cfg).await;
    assert_eq!(down.len(), clean.len());
    assert!(down.iter().all(|n| n.contains('@')), "{down:?}");

    // Miro refuses a filter of 100 clauses: names come from paging GET /Users instead.
    let mut cfg = SimConfig::new(org);
    cfg.scim_max_filter_clauses = Some(20);
    let (paged, stats) = user_names(cfg).await;
    assert_eq!(paged, clean, "the same names, from paging");
    assert_eq!(
        stats.endpoints["GET /Users"].requests, 2,
        "one refused filter, then one page of up to 1,000 users"
    );
}
