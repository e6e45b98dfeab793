//! GetMetadata, Validate and the metrics endpoint.
use miro_connector::{
    pb::{self, Capability},
    sim::SimConfig,
};
use tonic::Code;

use super::{common::*, rpc};

fn caps(m: &pb::ConnectorMetadata, t: &str) -> Vec<i32> {
    let c = m.capabilities.as_ref().unwrap();
    c.resource_type_capabilities
        .iter()
        .find(|r| r.resource_type.as_ref().unwrap().id == t)
        .unwrap()
        .capabilities
        .clone()
}

#[tokio::test]
async fn metadata_follows_what_is_implemented_and_configured() {
    let Harness {
        sim: _sim,
        daemon,
        ch,
    } = Fixture::new().members(20).teams(1).writes().start().await;
    let m = rpc::metadata(&ch).await;
    assert_eq!(m.display_name, "Miro");
    assert!(m.help_url.starts_with("https://"));
    let user = caps(&m, "user");
    for c in [
        Capability::Sync,
        Capability::AccountProvisioning,
        Capability::ResourceDelete,
    ] {
        assert!(user.contains(&(c as i32)), "user lacks {c:?}");
    }
    assert!(caps(&m, "team").contains(&(Capability::Provision as i32)));
    assert!(caps(&m, "role").contains(&(Capability::Provision as i32)));
    let creds = m
        .capabilities
        .as_ref()
        .unwrap()
        .credential_details
        .as_ref()
        .unwrap()
        .capability_account_provisioning
        .as_ref()
        .unwrap();
    assert_eq!(
        creds.supported_credential_options,
        [pb::CapabilityDetailCredentialOption::NoPassword as i32]
    );
    assert_eq!(
        creds.preferred_credential_option,
        pb::CapabilityDetailCredentialOption::NoPassword as i32
    );
    let schema = m.account_creation_schema.unwrap().field_map;
    assert!(schema["email"].required);
    for k in ["first_name", "last_name", "license"] {
        assert!(!schema[k].required, "{k}");
    }
    let v = rpc::validate(&ch).await.unwrap();
    let parts: Vec<u64> = v
        .sdk_version
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    assert!(
        parts >= vec![0, 4, 3],
        "sdk_version {} is below 0.4.3",
        v.sdk_version
    );
    daemon.shutdown().await;

    // Without SCIM, nothing that needs it is advertised.
    let Harness {
        sim: _sim,
        daemon,
        ch,
    } = Fixture::new()
        .members(20)
        .teams(1)
        .provisioning()
        .start()
        .await;
    let m = rpc::metadata(&ch).await;
    assert!(!caps(&m, "user").contains(&(Capability::AccountProvisioning as i32)));
    assert!(!caps(&m, "role").contains(&(Capability::Provision as i32)));
    daemon.shutdown().await;
}

async fn validate_with(scopes: &[&str], provisioning: bool) -> Result<(), tonic::Status> {
    let mut cfg = SimConfig::new(org(20, 1));
    cfg.scopes = scopes.iter().map(|s| s.to_string()).collect();
    let sim = start_sim(cfg).await;
    let (daemon, ch) = start_daemon(&settings(&sim, provisioning, false)).await;
    wait_ready(&ch).await;
    let r = rpc::validate(&ch).await.map(drop);
    daemon.shutdown().await;
    r
}

#[tokio::test]
async fn validate_names_missing_scopes() {
    let e = validate_with(&["organizations:read"], false)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(
        e.message().contains("organizations:teams:read"),
        "{}",
        e.message()
    );
    validate_with(&["organizations:read", "organizations:team:read"], false)
        .await
        .expect("the older spelling is accepted");
    let e = validate_with(&["organizations:read", "organizations:teams:read"], true)
        .await
        .unwrap_err();
    assert!(
        e.message().contains("organizations:teams:write"),
        "write scopes when provisioning: {}",
        e.message()
    );
    validate_with(
        &[
            "organizations:read",
            "organizations:teams:read",
            "organizations:teams:write",
        ],
        true,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn metrics_count_rpcs_and_miro_requests() {
    let sim = sim_with(30, 2).await;
    let mut args = settings(&sim, false, false);
    args.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    rpc::validate(&ch).await.unwrap();
    let body = scrape(&daemon).await;
    for needle in [
        "grpc_server_handled_total{method=\"/c1.connector.v2.ConnectorService/Validate\",code=\"Ok\"}",
        "grpc_server_handling_seconds",
        "miro_requests_total{endpoint=\"GET /v1/oauth-token\",status=\"200\"}",
        "tokio_alive_tasks",
    ] {
        assert!(body.contains(needle), "{needle} missing from\n{body}");
    }
    // The runtime's figures without rendering the metrics: what the soak benchmark reads.
    let runtime: serde_json::Value =
        reqwest::get(format!("http://{}/runtime", daemon.metrics_addr.unwrap()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert!(runtime["alive_tasks"].as_u64().unwrap() > 0, "{runtime}");
    assert!(
        runtime["pending_histogram_samples"].as_u64().unwrap() < 1_024,
        "{runtime}"
    );
    daemon.shutdown().await;
}

/// baton-sdk's syncer asks every resource type for its static entitlements on every full sync,
/// and its builder answers each: so does the daemon, with none (every entitlement is per resource).
#[tokio::test]
async fn static_entitlements_answer_for_every_resource_type() {
    use pb::entitlements_service_client::EntitlementsServiceClient;
    let Harness {
        sim: _sim,
        daemon: _daemon,
        ch,
    } = Fixture::new().members(10).teams(1).start().await;
    let types = rpc::resource_types(&ch).await;
    assert_eq!(
        types.len(),
        8,
        "boards and Spaces are listed with content off too"
    );
    for t in types {
        let r = EntitlementsServiceClient::new(ch.clone())
            .list_static_entitlements(pb::EntitlementsServiceListStaticEntitlementsRequest {
                resource_type_id: t.id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            r.list.is_empty() && r.next_page_token.is_empty(),
            "{}",
            t.id
        );
    }
}

/// A method no service here serves answers UNIMPLEMENTED with a message that names it and says
/// why, not tonic's empty one (the runner logs it for a rotate-credential task or a ticket).
#[tokio::test]
async fn unserved_methods_say_what_is_not_supported_and_why() {
    let Harness { sim, daemon, ch } = Fixture::new().members(20).teams(2).start().await;
    for (path, why) in [
        (
            "/c1.connector.v2.CredentialManagerService/RotateCredential",
            "cannot set, issue or rotate",
        ),
        (
            "/c1.connector.v2.TicketsService/ListTicketSchemas",
            "tickets",
        ),
        ("/no.Such/Thing", "does not serve it"),
    ] {
        let mut g = tonic::client::Grpc::new(ch.clone());
        g.ready().await.unwrap();
        let r: Result<tonic::Response<()>, _> = g
            .unary(
                tonic::Request::new(()),
                http::uri::PathAndQuery::from_static(path),
                tonic_prost::ProstCodec::default(),
            )
            .await;
        let e = r.expect_err(path);
        assert_eq!(e.code(), Code::Unimplemented, "{path}");
        assert!(
            e.message().contains(path.trim_start_matches('/'))
                && e.message().contains("not supported")
                && e.message().contains(why),
            "{path}: {}",
            e.message()
        );
    }
    daemon.shutdown().await;
    drop(sim);
}

/// With content off, boards and Spaces are still listed as types (a platform's resource-type filter
/// from when content was on must not fail every sync), empty, saying why, with no capability and
/// no Miro request.
#[tokio::test]
async fn content_types_are_listed_empty_while_content_is_off() {
    let Harness { sim, daemon, ch } = Fixture::new().members(10).teams(1).start().await;
    let types = rpc::resource_types(&ch).await;
    let meta = rpc::metadata(&ch).await;
    let before = sim.stats().requests;
    for id in ["board", "project"] {
        let t = types.iter().find(|t| t.id == id).expect(id);
        assert!(
            t.description
                .starts_with("Content access is off (--content)"),
            "{}",
            t.description
        );
        assert!(
            caps(&meta, id).is_empty(),
            "{id} advertises nothing while content is off"
        );
        let r = rpc::resources_page(&ch, id, None, "").await.unwrap();
        assert!(r.list.is_empty() && r.next_page_token.is_empty());
    }
    assert_eq!(sim.stats().requests, before, "no Miro request");
    daemon.shutdown().await;
}
