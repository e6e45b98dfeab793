//! Every page the daemon answers fits gRPC's default 4 MiB receive limit, which baton-sdk's runner
//! keeps on its hop to the connector child: the largest profiles the simulator makes, 100 a page.
use miro_connector::{
    pb::{
        self, grants_service_client::GrantsServiceClient,
        resources_service_client::ResourcesServiceClient,
    },
    sim::{self, SimConfig},
};
use prost::Message;

use super::common::*;

const GRPC_DEFAULT_LIMIT: usize = 4 * 1024 * 1024;

/// The longest of everything the simulator accepts: names of 60 characters (its SCIM limit), each a
/// 4-byte character; emails of 254 bytes; every prebuilt admin role and 20 long custom ones.
fn largest_org() -> sim::Org {
    let mut org = sim::data::generate(5, 150, 2);
    let wide = |n: usize| "𝔐".repeat(n);
    for (i, m) in org.members.values_mut().enumerate() {
        m.email = format!("{}{i:05}@{}.example", "u".repeat(59), "d".repeat(180));
        m.given_name = wide(30);
        m.family_name = wide(30);
        m.display_name = Some(wide(60));
        m.role = "organization_internal_admin".into();
        m.admin_roles = ["Content Admin", "User Admin", "Security Admin"]
            .iter()
            .map(|n| n.to_string())
            .chain((0..20).map(|k| format!("{k:02}{}", wide(58))))
            .map(|name| sim::state::AdminRole {
                kind: if name.contains('𝔐') {
                    "custom"
                } else {
                    "prebuilt"
                }
                .into(),
                name,
            })
            .collect();
    }
    // One team holds every member: its member pages are full.
    let all: Vec<String> = org.members.keys().cloned().collect();
    let team = org.teams.values_mut().next().unwrap();
    let template = team.members.values().next().unwrap().clone();
    for id in all {
        team.members.entry(id).or_insert_with(|| template.clone());
    }
    org
}

#[tokio::test]
async fn every_page_fits_the_default_grpc_limit() {
    let sim = start_sim(SimConfig::new(largest_org())).await;
    let (_daemon, ch) = start_daemon(&settings(&sim, false, true)).await;
    wait_ready(&ch).await;
    let page = ResourcesServiceClient::new(ch.clone())
        .list_resources(pb::ResourcesServiceListResourcesRequest {
            resource_type_id: "user".into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.list.len(), 100);
    let mut largest = ("users page".to_string(), page.encoded_len());
    let mut grants = GrantsServiceClient::new(ch.clone());
    let team = sim.org().teams.keys().next().unwrap().clone();
    let mut targets: Vec<pb::Resource> = page.list.clone();
    targets.push(res("team", &team));
    for r in targets {
        let what = r.id.as_ref().unwrap().resource_type.clone();
        let g = grants
            .list_grants(pb::GrantsServiceListGrantsRequest {
                resource: Some(r),
                page_size: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(!g.list.is_empty());
        if g.encoded_len() > largest.1 {
            largest = (format!("{what} grants page"), g.encoded_len());
        }
    }
    println!("largest page: {} of {} bytes", largest.0, largest.1);
    // Below the limit with room to spare: at most half of it (1.2 MB measured, 12 KB a user, most
    // of it the 23 admin role names, which the profile and the UserTrait's profile both carry).
    assert!(
        largest.1 < GRPC_DEFAULT_LIMIT / 2,
        "{} is {} bytes",
        largest.0,
        largest.1
    );
}
