//! What an outside attack found: ids that would change the URL, tokens echoed back by a proxy,
//! unreadable answers, a forged cursor dressed as Miro's failure, and page tokens beside a parent.
//! (Health during a drain and names that must not fail a listing are in `resilience.rs`.)
use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use miro_connector::{
    client,
    connector::{ConnectorError, page_token},
    miro::{Miro, MiroSettings, RetryPolicy, paging::PageAt, rest::MemberFilter},
    pb::{
        self, grant_manager_service_client::GrantManagerServiceClient,
        grants_service_client::GrantsServiceClient,
        resource_deleter_service_client::ResourceDeleterServiceClient,
        resource_getter_service_client::ResourceGetterServiceClient,
        resources_service_client::ResourcesServiceClient,
    },
    sim::{FaultConfig, FaultRule, SimConfig},
};
use tonic::Code;

use super::common::*;

fn bad_ids() -> Vec<String> {
    [".", "..", "%2e%2e", "a/b", "?x=1", ""]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("1{}", "9".repeat(9_999))])
        .collect()
}

fn entitlement(t: &str, id: &str, slug: &str) -> pb::Entitlement {
    pb::Entitlement {
        resource: Some(res(t, id)),
        id: format!("{t}:{id}:{slug}"),
        slug: slug.into(),
        ..Default::default()
    }
}

/// Every RPC that takes an id refuses one that is not a Miro id, before any request is built.
#[tokio::test]
async fn ids_never_reach_a_miro_url_unvalidated() {
    let sim = sim_with(20, 2).await;
    let mut args = settings(&sim, true, true);
    args.deprovision_mode = Some(miro_connector::connector::DeprovisionMode::Delete);
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    let good_team = sim.org().teams.keys().next().unwrap().clone();
    let good_user = sim.org().members.keys().next().unwrap().clone();
    sim.reset_stats();
    let mut get = ResourceGetterServiceClient::new(ch.clone());
    let mut grants = GrantsServiceClient::new(ch.clone());
    let mut gm = GrantManagerServiceClient::new(ch.clone());
    let mut del = ResourceDeleterServiceClient::new(ch.clone());
    for bad in bad_ids() {
        let mut codes = Vec::new();
        for t in ["user", "team", "group"] {
            codes.push(
                get.get_resource(pb::ResourceGetterServiceGetResourceRequest {
                    resource_id: Some(rid(t, &bad)),
                    ..Default::default()
                })
                .await
                .unwrap_err(),
            );
            // A user without its stored profile would cost a lookup; a team lists its members.
            codes.push(
                grants
                    .list_grants(pb::GrantsServiceListGrantsRequest {
                        resource: Some(res(t, &bad)),
                        ..Default::default()
                    })
                    .await
                    .unwrap_err(),
            );
        }
        for (e, kind, principal) in [
            (
                entitlement("team", &bad, "member"),
                "user",
                good_user.as_str(),
            ),
            (
                entitlement("team", &good_team, "member"),
                "user",
                bad.as_str(),
            ),
            (
                entitlement("team", &good_team, "member"),
                "group",
                bad.as_str(),
            ),
            (
                entitlement("group", &bad, "member"),
                "user",
                good_user.as_str(),
            ),
            (
                entitlement("role", "admin_role_user_admin", "assigned"),
                "user",
                bad.as_str(),
            ),
        ] {
            codes.push(
                gm.grant(pb::GrantManagerServiceGrantRequest {
                    entitlement: Some(e.clone()),
                    principal: Some(res(kind, principal)),
                    annotations: vec![],
                })
                .await
                .unwrap_err(),
            );
            codes.push(
                gm.revoke(pb::GrantManagerServiceRevokeRequest {
                    grant: Some(pb::Grant {
                        entitlement: Some(e),
                        principal: Some(res(kind, principal)),
                        id: "g".into(),
                        ..Default::default()
                    }),
                    annotations: vec![],
                })
                .await
                .unwrap_err(),
            );
        }
        for t in ["user", "group"] {
            codes.push(
                del.delete_resource_v2(pb::DeleteResourceV2Request {
                    resource_id: Some(rid(t, &bad)),
                    ..Default::default()
                })
                .await
                .unwrap_err(),
            );
        }
        for s in codes {
            assert_eq!(s.code(), Code::InvalidArgument, "{bad:?}: {}", s.message());
            assert!(
                s.message().len() < 600,
                "the id is echoed whole: {} bytes",
                s.message().len()
            );
        }
    }
    assert_eq!(sim.stats().requests, 0, "{:?}", sim.stats().endpoints);
    daemon.shutdown().await;
}

/// A fake Miro behind a proxy that echoes the request's headers, in JSON, HTML and plain text.
async fn echoing_miro() -> String {
    use axum::{http::HeaderMap, response::IntoResponse};
    async fn echo(uri: axum::http::Uri, headers: HeaderMap) -> axum::response::Response {
        let dump: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or("")))
            .collect();
        let status = |n| axum::http::StatusCode::from_u16(n).unwrap();
        match uri.path() {
            p if p.ends_with("/members") => (
                status(400),
                axum::Json(serde_json::json!({"code": "echo", "message": dump})),
            )
                .into_response(),
            p if p.ends_with("/teams") => (
                status(503),
                [("content-type", "text/html")],
                format!("<html><pre>{dump}</pre></html>"),
            )
                .into_response(),
            p if p.contains("/Users") => (
                status(500),
                axum::Json(serde_json::json!({"detail": dump, "status": "500"})),
            )
                .into_response(),
            _ => (status(403), dump).into_response(),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback(echo))
            .await
            .unwrap()
    });
    format!("http://{addr}")
}

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tokens_echoed_by_a_proxy_never_reach_errors_or_logs() {
    const ACCESS: &str = "acc-echo-0123456789";
    const SCIM: &str = "scim-echo-9876543210";
    let url = echoing_miro().await;
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let m = Miro::new(MiroSettings {
        api_url: url.parse().unwrap(),
        scim_url: format!("{url}/scim").parse().unwrap(),
        access_token: ACCESS.into(),
        scim_token: Some(SCIM.into()),
        timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            ..Default::default()
        },
        max_concurrency: 8,
    })
    .unwrap();
    let scim = m.scim.as_ref().unwrap();
    let errors = vec![
        m.rest
            .members_page("1", &MemberFilter::default(), PageAt::first())
            .await
            .unwrap_err(),
        m.rest.teams_page("1", PageAt::first()).await.unwrap_err(),
        m.rest.team("1", "2").await.unwrap_err(),
        scim.user("5").await.unwrap_err(),
    ];
    let mut texts: Vec<String> = Vec::new();
    for e in errors {
        texts.push(e.to_string());
        texts.push(
            tonic::Status::from(ConnectorError::Miro(e))
                .message()
                .to_string(),
        );
    }
    texts.push(String::from_utf8(logs.0.lock().unwrap().clone()).unwrap());
    assert!(
        texts.last().unwrap().contains("retrying"),
        "the 5xx were retried and logged: {}",
        texts.last().unwrap()
    );
    for t in &texts {
        assert!(
            !t.contains(ACCESS) && !t.contains(SCIM),
            "a token leaked: {t}"
        );
        assert!(!t.to_ascii_lowercase().contains("bearer acc"), "{t}");
    }
    assert!(
        texts[0].contains("echo"),
        "Miro's code is kept: {}",
        texts[0]
    );
}

/// Garbled answers and broken connections on every listing: the sync still equals the clean one.
#[tokio::test]
async fn a_sync_through_broken_answers_equals_the_clean_sync() {
    let org = org(1_000, 8);
    let clean_sim = start_sim(SimConfig::new(org.clone())).await;
    let (d1, ch1) = start_daemon(&settings(&clean_sim, false, true)).await;
    wait_ready(&ch1).await;
    let clean = client::full_sync(ch1, &mut ()).await.unwrap();
    d1.shutdown().await;

    let mut cfg = SimConfig::new(org);
    cfg.faults = FaultConfig {
        seed: 7,
        rules: vec![FaultRule {
            truncate_rate: 0.02,
            malformed_rate: 0.02,
            error_rate: 0.10,
            drop_rate: 0.02,
            ..Default::default()
        }],
    };
    let sim = start_sim(cfg).await;
    let mut args = settings(&sim, false, true);
    args.miro_max_attempts = Some(10);
    let (d2, ch2) = start_daemon(&args).await;
    wait_ready(&ch2).await;
    let faulty = client::full_sync(ch2, &mut ()).await.unwrap();
    d2.shutdown().await;
    let set = |v: Vec<String>| v.into_iter().collect::<BTreeSet<_>>();
    let rids =
        |s: &client::Snapshot| set(s.resources.iter().map(|r| format!("{:?}", r.id)).collect());
    assert_eq!(rids(&faulty), rids(&clean));
    assert_eq!(
        set(faulty.grants.iter().map(|g| g.id.clone()).collect()),
        set(clean.grants.iter().map(|g| g.id.clone()).collect())
    );
    let names =
        |s: &client::Snapshot| set(s.resources.iter().map(|r| r.display_name.clone()).collect());
    assert_eq!(
        names(&faulty),
        names(&clean),
        "names are fetched again, not dropped"
    );
    assert!(
        sim.stats().requests > clean_sim.stats().requests,
        "faults were injected and retried"
    );
}

/// A token that passes the checksum but carries a 1 MB cursor is bad input: refused at once,
/// not retried, and nothing is sent to Miro.
#[tokio::test]
async fn a_forged_cursor_is_bad_input_not_an_outage() {
    let Harness { sim, daemon, ch } = Fixture::new().members(20).teams(1).scim().start().await;
    sim.reset_stats();
    for len in [1 << 20, 2_000] {
        let forged = page_token::encode("resources:user", Some(&"3".repeat(len)));
        let e = ResourcesServiceClient::new(ch.clone())
            .list_resources(pb::ResourcesServiceListResourcesRequest {
                resource_type_id: "user".into(),
                page_token: forged,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{len}: {e:?}");
    }
    assert_eq!(sim.stats().requests, 0);
    daemon.shutdown().await;
}

#[tokio::test]
async fn a_bad_page_token_is_refused_beside_a_parent_too() {
    let Harness {
        sim: _sim,
        daemon,
        ch,
    } = Fixture::new().members(5).teams(1).start().await;
    let mut c = ResourcesServiceClient::new(ch);
    for token in ["garbage", "mc1.AAAA"] {
        let e = c
            .list_resources(pb::ResourcesServiceListResourcesRequest {
                resource_type_id: "user".into(),
                parent_resource_id: Some(rid("team", "1")),
                page_token: token.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{token}");
    }
    let ok = c
        .list_resources(pb::ResourcesServiceListResourcesRequest {
            resource_type_id: "user".into(),
            parent_resource_id: Some(rid("team", "1")),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ok.list.is_empty() && ok.next_page_token.is_empty());
    daemon.shutdown().await;
}
