//! Health during a drain: the health port answers NOT_SERVING, it does not refuse connections.
use std::time::Duration;

use miro_connector::sim::{FaultConfig, FaultRule, SimConfig};
use tonic_health::pb::health_check_response::ServingStatus;

use super::{common::*, rpc};

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
    let slow = tokio::spawn(async move { rpc::resources_page(&ch, "team", None, "").await });
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
