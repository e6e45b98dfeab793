//! What a daemon that runs for months needs: nothing that grows with the RPCs it serves.

use miro_connector::telemetry;

use super::{common::*, rpc};

/// The histogram samples of every RPC were kept until `/metrics` was rendered, and with metrics
/// off nobody ever renders it: RSS grew by 0.1 MiB a sync. They are now drained as they come.
#[tokio::test]
async fn histogram_samples_never_pile_up_in_an_unrendered_recorder() {
    telemetry::metrics_handle();
    let Harness {
        sim: _sim,
        daemon: _daemon,
        ch,
    } = Fixture::new().members(10).teams(1).start().await;
    for _ in 0..3_000 {
        rpc::resource_types(&ch).await;
    }
    let pending = telemetry::pending_histogram_samples().unwrap();
    assert!(
        pending < 1_024,
        "{pending} histogram samples wait for a render"
    );
    // Drained, not dropped: every RPC is still counted.
    let text = telemetry::metrics_handle().render();
    let count: u64 = text
        .lines()
        .find(|l| {
            l.starts_with("grpc_server_handling_seconds_count") && l.contains("ListResourceTypes")
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap();
    assert!(count >= 3_000, "{count}");
}

/// The simulator's stats and SCIM windows were keyed by the method a client sent: made-up methods
/// grew them without end.
#[tokio::test]
async fn the_simulators_tables_do_not_grow_with_made_up_paths() {
    let sim = sim_with(10, 1).await;
    let http = reqwest::Client::new();
    for i in 0..300 {
        let method = reqwest::Method::from_bytes(format!("M{i}").as_bytes()).unwrap();
        for (m, path) in [
            (reqwest::Method::GET, format!("/v2/nothing/{i}")),
            (method, format!("/v2/orgs/{i}")),
            (reqwest::Method::GET, format!("/api/v1/scim/Nope{i}")),
        ] {
            let _ = http
                .request(m, format!("{}{path}", sim.api_url()))
                .bearer_auth(sim.access_token())
                .send()
                .await
                .unwrap();
        }
    }
    let stats = sim.stats();
    assert!(
        stats.endpoints.len() <= 4,
        "{:?}",
        stats.endpoints.keys().collect::<Vec<_>>()
    );
}
