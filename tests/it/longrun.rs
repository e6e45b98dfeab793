//! What a daemon that runs for months needs: nothing that grows with the RPCs it serves, ids
//! checked alike by every RPC, and identical writes in flight at once answered as one write.
use miro_connector::{
    connector::annotations::find,
    pb::{
        self, entitlements_service_client::EntitlementsServiceClient,
        grants_service_client::GrantsServiceClient,
        resource_getter_service_client::ResourceGetterServiceClient,
        resource_types_service_client::ResourceTypesServiceClient,
    },
    sim::{FaultConfig, FaultRule, SimHandle},
    telemetry,
};
use tonic::Code;

use super::{common::*, writer::team_ent};

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
    let mut types = ResourceTypesServiceClient::new(ch);
    for _ in 0..3_000 {
        types
            .list_resource_types(pb::ResourceTypesServiceListResourceTypesRequest::default())
            .await
            .unwrap();
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

/// ListEntitlements answered OK for `team:..` with entitlements built from that id, where
/// ListGrants and GetResource refuse it.
#[tokio::test]
async fn every_rpc_that_takes_an_id_refuses_the_same_bad_ids() {
    let Harness {
        sim,
        daemon: _daemon,
        ch,
    } = Fixture::new().members(10).teams(1).start().await;
    sim.reset_stats();
    let long = "9".repeat(10_000);
    let mut ents = EntitlementsServiceClient::new(ch.clone());
    let mut grants = GrantsServiceClient::new(ch.clone());
    let mut get = ResourceGetterServiceClient::new(ch.clone());
    for t in ["team", "group", "user"] {
        for bad in ["..", ".", "a/b", long.as_str()] {
            let e = ents
                .list_entitlements(pb::EntitlementsServiceListEntitlementsRequest {
                    resource: Some(res(t, bad)),
                    ..Default::default()
                })
                .await
                .unwrap_err();
            assert_eq!(e.code(), Code::InvalidArgument, "{t} {bad:.20}: {e:?}");
            assert!(e.message().len() < 400, "the echo is capped");
            let g = grants
                .list_grants(pb::GrantsServiceListGrantsRequest {
                    resource: Some(res(t, bad)),
                    ..Default::default()
                })
                .await
                .unwrap_err();
            let r = get
                .get_resource(pb::ResourceGetterServiceGetResourceRequest {
                    resource_id: Some(rid(t, bad)),
                    ..Default::default()
                })
                .await
                .unwrap_err();
            assert_eq!((g.code(), r.code()), (e.code(), e.code()), "{t} {bad:.20}");
        }
    }
    assert_eq!(sim.stats().requests, 0, "no bad id reached Miro");
}

/// ListGrants on an unknown role or license answered OK with nothing, where GetResource and
/// ListEntitlements answer NOT_FOUND.
#[tokio::test]
async fn unknown_roles_and_licenses_are_not_found_everywhere() {
    let Harness {
        sim: _sim,
        daemon: _daemon,
        ch,
    } = Fixture::new().members(10).teams(1).start().await;
    let mut ents = EntitlementsServiceClient::new(ch.clone());
    let mut grants = GrantsServiceClient::new(ch.clone());
    let mut get = ResourceGetterServiceClient::new(ch.clone());
    for (t, id) in [
        ("role", "organization_root"),
        ("role", "admin_role_custom_"),
        ("license", "platinum"),
        ("license", ".."),
    ] {
        let g = grants
            .list_grants(pb::GrantsServiceListGrantsRequest {
                resource: Some(res(t, id)),
                ..Default::default()
            })
            .await
            .unwrap_err();
        let e = ents
            .list_entitlements(pb::EntitlementsServiceListEntitlementsRequest {
                resource: Some(res(t, id)),
                ..Default::default()
            })
            .await
            .unwrap_err();
        let r = get
            .get_resource(pb::ResourceGetterServiceGetResourceRequest {
                resource_id: Some(rid(t, id)),
                ..Default::default()
            })
            .await
            .unwrap_err();
        for s in [&g, &e, &r] {
            assert_eq!(s.code(), Code::NotFound, "{t} {id}: {s:?}");
        }
    }
    // A known one still answers.
    grants
        .list_grants(pb::GrantsServiceListGrantsRequest {
            resource: Some(res("license", "full")),
            ..Default::default()
        })
        .await
        .unwrap();
}

/// Eight grants sent four times at once: 11 of 32 answers said "newly granted". Now exactly one
/// answer per grant (and per revoke) does, and Miro sees one write each.
#[tokio::test]
async fn identical_writes_in_flight_at_once_are_one_write_and_repeats() {
    let Harness { sim, daemon, ch } = Fixture::new().writes().start().await;
    let org = sim.org();
    let team = org.teams.values().last().unwrap();
    let users: Vec<String> = org
        .members
        .values()
        .filter(|m| {
            m.active && m.role == "organization_internal_user" && !team.members.contains_key(&m.id)
        })
        .take(8)
        .map(|m| m.id.clone())
        .collect();
    assert_eq!(users.len(), 8);
    // Latency widens the window between a write's read and its write, where the race lived.
    sim.set_faults(FaultConfig {
        seed: 1,
        rules: vec![FaultRule {
            latency_ms: 30,
            ..Default::default()
        }],
    });
    sim.reset_stats();
    let ent = team_ent(&team.id, "member");
    let p = Harness { sim, daemon, ch };
    let sim = &p.sim;
    let calls = users.iter().flat_map(|u| std::iter::repeat_n(u.clone(), 4));
    let granted = futures::future::join_all(calls.clone().map(|u| {
        let (p, ent) = (&p, ent.clone());
        async move { p.grant(ent, &u).await.unwrap().annotations }
    }))
    .await;
    let fresh = granted
        .iter()
        .filter(|a| find::<pb::GrantAlreadyExists>(a).is_none())
        .count();
    assert_eq!(fresh, 8, "one newly granted per grant");
    let writes = |sim: &SimHandle| {
        sim.stats()
            .endpoints
            .iter()
            .filter(|(k, _)| !k.starts_with("GET "))
            .map(|(_, e)| e.requests)
            .sum::<u64>()
    };
    assert_eq!(writes(sim), 8, "{:#?}", sim.stats().endpoints);
    for u in &users {
        assert!(sim.org().teams[&team.id].members.contains_key(u));
    }
    sim.reset_stats();
    let revoked = futures::future::join_all(calls.map(|u| {
        let (p, ent) = (&p, ent.clone());
        async move { p.revoke(ent, &u).await.unwrap().annotations }
    }))
    .await;
    let fresh = revoked
        .iter()
        .filter(|a| find::<pb::GrantAlreadyRevoked>(a).is_none())
        .count();
    assert_eq!(fresh, 8, "one revoked per revoke");
    assert_eq!(writes(sim), 8);
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
