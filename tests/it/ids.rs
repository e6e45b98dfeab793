//! Ids and page tokens from the protocol are hostile until checked: every RPC refuses the same bad
//! ids before a request is built, unknown roles and licenses are NOT_FOUND everywhere, and a forged
//! or misplaced page token is bad input, not an outage.

use miro_connector::{
    connector::page_token,
    pb::{
        self, grant_manager_service_client::GrantManagerServiceClient,
        resource_deleter_service_client::ResourceDeleterServiceClient,
    },
};
use tonic::Code;

use super::{common::*, rpc};

/// Ids no RPC may take, by type, and the code each gets: Miro ids must be decimal strings and
/// board ids short URL-safe base64 (INVALID_ARGUMENT); roles and licenses are a known set
/// (NOT_FOUND). Long ones check that the echo in the message is cut.
fn bad_ids() -> Vec<(&'static str, String, Code)> {
    let long_digits = format!("1{}", "9".repeat(9_999));
    let miro = [".", "..", "%2e%2e", "a/b", "?x=1", "", "uXjVOD6LSME="]
        .map(String::from)
        .into_iter()
        .chain([long_digits]);
    let mut out: Vec<_> = ["user", "team", "group", "project"]
        .into_iter()
        .flat_map(|t| miro.clone().map(move |id| (t, id, Code::InvalidArgument)))
        .collect();
    let board = [".", "..", "%2e%2e", "a/b", "?x=1", "a=b", "uXjV OD="].map(String::from);
    out.extend(
        board
            .into_iter()
            .chain(["a".repeat(5_000)])
            .map(|id| ("board", id, Code::InvalidArgument)),
    );
    for (t, id) in [
        ("role", "organization_root"),
        ("role", "admin_role_custom_"),
        ("license", "platinum"),
        ("license", ".."),
    ] {
        out.push((t, id.to_string(), Code::NotFound));
    }
    out
}

fn entitlement(t: &str, id: &str, slug: &str, team: &str) -> pb::Entitlement {
    let mut r = res(t, id);
    r.parent_resource_id = Some(rid("team", team));
    pb::Entitlement {
        resource: Some(r),
        id: format!("{t}:{id}:{slug}"),
        slug: slug.into(),
        ..Default::default()
    }
}

/// One table for every RPC that takes an id: reads, writes by entitlement and by principal, and
/// deletions refuse each bad id with the code its type says, never echo it whole, and send
/// nothing to Miro.
#[tokio::test]
async fn every_rpc_refuses_every_bad_id_before_any_request() {
    let sim = sim_with(20, 2).await;
    let mut args = settings(&sim, true, true);
    args.content = Some(ContentMode::Sharing);
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    let team = sim.org().teams.keys().next().unwrap().clone();
    let user = sim.org().members.keys().next().unwrap().clone();
    sim.reset_stats();
    let mut gm = GrantManagerServiceClient::new(ch.clone());
    let mut del = ResourceDeleterServiceClient::new(ch.clone());
    for (t, bad, want) in bad_ids() {
        // Every resource is sent with a team as its parent, as a Space must be.
        let mut resource = res(t, &bad);
        resource.parent_resource_id = Some(rid("team", &team));
        let mut answers = vec![
            (
                "GetResource",
                rpc::get(&ch, rid(t, &bad), Some(rid("team", &team)))
                    .await
                    .map(drop),
            ),
            (
                "ListEntitlements",
                rpc::entitlements(&ch, &resource).await.map(drop),
            ),
            (
                "ListGrants",
                rpc::grants_page(&ch, &resource, "").await.map(drop),
            ),
        ];
        let slug = match t {
            "team" | "group" => "member",
            "board" | "project" => "viewer",
            _ => "assigned",
        };
        let mut writes = Vec::new();
        if t != "user" {
            writes.push((entitlement(t, &bad, slug, &team), res("user", &user)));
        }
        if matches!(t, "user" | "group") {
            writes.push((entitlement("team", &team, "member", &team), res(t, &bad)));
        }
        for (e, principal) in writes {
            let grant = gm
                .grant(pb::GrantManagerServiceGrantRequest {
                    entitlement: Some(e.clone()),
                    principal: Some(principal.clone()),
                    annotations: vec![],
                })
                .await;
            answers.push(("Grant", grant.map(drop)));
            let revoke = gm
                .revoke(pb::GrantManagerServiceRevokeRequest {
                    grant: Some(pb::Grant {
                        entitlement: Some(e),
                        principal: Some(principal),
                        id: "g".into(),
                        ..Default::default()
                    }),
                    annotations: vec![],
                })
                .await;
            answers.push(("Revoke", revoke.map(drop)));
        }
        if matches!(t, "user" | "group") {
            let deleted = del
                .delete_resource_v2(pb::DeleteResourceV2Request {
                    resource_id: Some(rid(t, &bad)),
                    ..Default::default()
                })
                .await;
            answers.push(("DeleteResource", deleted.map(drop)));
        }
        for (rpc, answer) in answers {
            let e = answer.expect_err(&format!("{rpc} took {t} {bad:.20}"));
            assert_eq!(e.code(), want, "{rpc} {t} {bad:.20}: {}", e.message());
            assert!(
                e.message().len() < 600,
                "{rpc} echoed the id whole: {} bytes",
                e.message().len()
            );
        }
    }
    assert_eq!(sim.stats().requests, 0, "{:?}", sim.stats().endpoints);
    // A good one still answers.
    rpc::grants_page(&ch, &res("license", "full"), "")
        .await
        .unwrap();
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
        let e = rpc::resources_page(&ch, "user", None, &forged)
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
    let team = || Some(rid("team", "1"));
    for token in ["garbage", "mc1.AAAA"] {
        let e = rpc::resources_page(&ch, "user", team(), token)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{token}");
    }
    let ok = rpc::resources_page(&ch, "user", team(), "").await.unwrap();
    assert!(ok.list.is_empty() && ok.next_page_token.is_empty());
    daemon.shutdown().await;
}
