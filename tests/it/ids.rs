//! Ids and page tokens from the protocol are hostile until checked: every RPC refuses the same bad
//! ids before a request is built, unknown roles and licenses are NOT_FOUND everywhere, and a forged
//! or misplaced page token is bad input, not an outage.

use miro_connector::{
    connector::page_token,
    pb::{
        self, entitlements_service_client::EntitlementsServiceClient,
        grant_manager_service_client::GrantManagerServiceClient,
        grants_service_client::GrantsServiceClient,
        resource_deleter_service_client::ResourceDeleterServiceClient,
        resource_getter_service_client::ResourceGetterServiceClient,
        resources_service_client::ResourcesServiceClient,
    },
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
