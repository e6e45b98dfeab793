//! GetResource for single resources, and page sizes honoured up to the maximum.

use miro_connector::{
    connector::annotations::find,
    pb::{self},
    sim::{FaultConfig, FaultRule, SimConfig},
};

use super::{common::*, rpc};

/// The role id of an admin role: prebuilt ones by name, custom ones as the README documents
/// (`admin_role_custom_` + the name in unpadded URL-safe base64).
#[tokio::test]
async fn get_resource_answers_single_resources() {
    use miro_connector::pb::resource_getter_service_client::ResourceGetterServiceClient;
    let Harness { sim, daemon, ch } = Fixture::new().members(50).teams(2).scim().start().await;
    let org = sim.org();
    let mut c = ResourceGetterServiceClient::new(ch);
    let get = |t: &str, id: &str| pb::ResourceGetterServiceGetResourceRequest {
        resource_id: Some(rid(t, id)),
        ..Default::default()
    };
    let member = org
        .members
        .values()
        .find(|m| m.role == "organization_internal_user")
        .unwrap();
    let r = c
        .get_resource(get("user", &member.id))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap();
    let ut: pb::UserTrait = find(&r.annotations).unwrap();
    assert_eq!(ut.login, member.email);
    let team = org.teams.values().next().unwrap();
    let r = c
        .get_resource(get("team", &team.id))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap();
    assert_eq!(r.display_name, team.name);
    let r = c
        .get_resource(get("role", "admin_role_user_admin"))
        .await
        .unwrap()
        .into_inner()
        .resource
        .unwrap();
    assert_eq!(r.display_name, "User Admin");
    for (t, id, code) in [
        ("user", "3074457345699999999", tonic::Code::NotFound),
        ("team", "3074457345699999999", tonic::Code::NotFound),
        ("role", "owner", tonic::Code::NotFound),
        ("widget", "1", tonic::Code::InvalidArgument),
        // Boards exist only with content access on.
        ("board", "uXjVOD6LSME=", tonic::Code::FailedPrecondition),
        ("user", "", tonic::Code::InvalidArgument),
    ] {
        assert_eq!(
            c.get_resource(get(t, id)).await.unwrap_err().code(),
            code,
            "{t}:{id}"
        );
    }
    daemon.shutdown().await;
}

#[tokio::test]
async fn page_size_is_honoured_up_to_the_maximum() {
    use miro_connector::pb::{
        grants_service_client::GrantsServiceClient,
        resources_service_client::ResourcesServiceClient,
    };
    let Harness { sim, daemon, ch } = Fixture::new().members(250).teams(2).start().await;
    let mut rc = ResourcesServiceClient::new(ch.clone());
    let list = |page_size: u32, page_token: String| pb::ResourcesServiceListResourcesRequest {
        resource_type_id: "user".into(),
        page_size,
        page_token,
        ..Default::default()
    };
    let small = rc
        .list_resources(list(7, String::new()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(small.list.len(), 7);
    let next = rc
        .list_resources(list(7, small.next_page_token))
        .await
        .unwrap()
        .into_inner();
    let first_ids: Vec<String> = sim.org().members.keys().take(14).cloned().collect();
    let got: Vec<String> = small
        .list
        .iter()
        .chain(&next.list)
        .map(|r| r.id.as_ref().unwrap().resource.clone())
        .collect();
    assert_eq!(
        got, first_ids,
        "consecutive small pages continue where the last one stopped"
    );
    for (asked, got) in [(0, 100), (250, 100), (100, 100)] {
        let page = rc
            .list_resources(list(asked, String::new()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.list.len(), got, "page_size {asked}");
    }
    let team = sim.org().teams.values().next().unwrap().id.clone();
    let grants = GrantsServiceClient::new(ch)
        .list_grants(pb::GrantsServiceListGrantsRequest {
            resource: Some(res("team", &team)),
            page_size: 3,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(grants.list.len(), 3);
    assert!(!grants.next_page_token.is_empty());
    daemon.shutdown().await;
}

/// Display names are an enrichment: a failing SCIM never fails a listing.
async fn user_names(sim_cfg: SimConfig) -> (Vec<String>, miro_connector::sim::Stats) {
    let sim = start_sim(sim_cfg).await;
    let (daemon, ch) = start_daemon(&settings(&sim, false, true)).await;
    wait_ready(&ch).await;
    // Names never fail a listing: every page answers.
    let names = rpc::resources(&ch, "user")
        .await
        .into_iter()
        .map(|u| u.display_name)
        .collect();
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
