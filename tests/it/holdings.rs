//! In a sync, the users skip their grants and the roles and licenses list their holders, from
//! the sync's own member listing; outside it (another sync, a targeted one, after Cleanup), from
//! Miro. Either way the same grants as the users' own ListGrants.
use std::collections::BTreeSet;

use miro_connector::{
    connector::annotations::find,
    pb::{self, connector_service_client::ConnectorServiceClient},
};
use tonic::transport::Channel;

use super::{common::*, rpc};

const MEMBERS: &str = "GET /v2/orgs/{org_id}/members";

fn skips_grants(r: &pb::Resource) -> bool {
    find::<pb::SkipGrants>(&r.annotations).is_some()
}

fn ids(grants: Vec<pb::Grant>) -> BTreeSet<String> {
    grants.into_iter().map(|g| g.id).collect()
}

/// The roles and licenses (listed outside any sync: the roles' listing is not what is tested).
async fn holdings(ch: &Channel) -> Vec<pb::Resource> {
    let mut all = rpc::resources(ch, "role").await;
    all.extend(rpc::resources(ch, "license").await);
    all
}

/// Every grant of every role and license, as `sync` asks, `size` grants a page.
async fn holders(ch: &Channel, of: &[pb::Resource], sync: &str, size: u32) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in of {
        let mut token = String::new();
        loop {
            let page = grants_page(ch, r, &token, sync, size).await.unwrap();
            assert!(page.list.len() <= size as usize);
            out.extend(ids(page.list));
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
    }
    out
}

async fn grants_page(
    ch: &Channel,
    r: &pb::Resource,
    token: &str,
    sync: &str,
    size: u32,
) -> Result<pb::GrantsServiceListGrantsResponse, tonic::Status> {
    pb::grants_service_client::GrantsServiceClient::new(ch.clone())
        .list_grants(pb::GrantsServiceListGrantsRequest {
            resource: Some(r.clone()),
            page_token: token.into(),
            page_size: size,
            active_sync_id: sync.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

/// The users as sync `sync` lists them, and the role and license grants they answer themselves
/// (asked outside a sync), split by whether they were listed to skip them.
async fn listed(ch: &Channel, sync: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut skipped, mut own) = (BTreeSet::new(), BTreeSet::new());
    for u in rpc::resources_in(ch, "user", sync).await {
        let g = ids(rpc::grants(ch, &u).await);
        match skips_grants(&u) {
            true => skipped.extend(g),
            false => own.extend(g),
        }
    }
    (skipped, own)
}

#[tokio::test]
async fn in_a_sync_the_roles_and_licenses_list_what_the_users_skip_without_asking_miro() {
    let Harness {
        sim,
        daemon: _d,
        ch,
    } = Fixture::new().members(300).start().await;
    let of = holdings(&ch).await;
    let (skipped, own) = listed(&ch, "sync-1").await;
    // Members with a custom admin role answer their own grants (which name that role whole).
    assert!(skipped.len() > 500, "{}", skipped.len());
    assert!(own.iter().any(|g| g.starts_with("role:admin_role_custom_")));
    assert!(own.iter().all(|g| !skipped.contains(g)));
    let before = sim.stats().requests_to(MEMBERS);
    // Seven a page, so the holders of the larger roles take several pages.
    let got = holders(&ch, &of, "sync-1", 7).await;
    assert_eq!(
        sim.stats().requests_to(MEMBERS),
        before,
        "no member page read"
    );
    assert_eq!(got, skipped);
    // Outside a sync, nobody skips anything.
    let (skipped, _) = listed(&ch, "").await;
    assert!(skipped.is_empty());
}

#[tokio::test]
async fn a_role_asked_outside_the_sync_that_listed_reads_miro_and_gives_every_holder() {
    let Harness {
        sim,
        daemon: _d,
        ch,
    } = Fixture::new().members(300).start().await;
    let of = holdings(&ch).await;
    let (skipped, own) = listed(&ch, "sync-1").await;
    let custom = |g: &String| g.starts_with("role:admin_role_custom_");
    let every: BTreeSet<String> = skipped
        .union(&own)
        .filter(|g| !custom(g))
        .cloned()
        .collect();
    let before = sim.stats().requests_to(MEMBERS);
    assert_eq!(holders(&ch, &of, "another-sync", 1000).await, every);
    assert!(sim.stats().requests_to(MEMBERS) > before + 10);
    // A targeted sync asks for one user: it answers its own grants, and skips nothing.
    let user = rpc::resources(&ch, "user").await.remove(3);
    let got = rpc::get(&ch, user.id.clone().unwrap(), None).await.unwrap();
    assert!(!skips_grants(&got));
}

#[tokio::test]
async fn a_sync_cleaned_up_part_way_through_a_roles_pages_goes_on_from_miro_and_misses_no_holder() {
    let Harness {
        sim,
        daemon: _d,
        ch,
    } = Fixture::new().members(300).start().await;
    let (skipped, _) = listed(&ch, "sync-1").await;
    let member = rpc::get(&ch, rid("role", "organization_internal_user"), None)
        .await
        .unwrap();
    let want: BTreeSet<String> = skipped
        .iter()
        .filter(|g| g.starts_with("role:organization_internal_user:"))
        .cloned()
        .collect();
    let kept = sim.stats().requests_to(MEMBERS);
    let first = grants_page(&ch, &member, "", "sync-1", 50).await.unwrap();
    assert_eq!(first.list.len(), 50);
    assert_eq!(
        sim.stats().requests_to(MEMBERS),
        kept,
        "the first page is the kept listing's"
    );
    let mut got = ids(first.list);
    ConnectorServiceClient::new(ch.clone())
        .cleanup(pb::ConnectorServiceCleanupRequest {
            active_sync_id: "sync-1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let before = sim.stats().requests_to(MEMBERS);
    let mut token = first.next_page_token;
    while !token.is_empty() {
        let page = grants_page(&ch, &member, &token, "sync-1", 50)
            .await
            .unwrap();
        got.extend(ids(page.list));
        token = page.next_page_token;
    }
    assert!(sim.stats().requests_to(MEMBERS) > before);
    assert!(
        got.is_superset(&want),
        "{} of {}",
        got.intersection(&want).count(),
        want.len()
    );
    // A token of another listing, or none at all, is refused as such.
    for bad in [
        "garbage",
        &rpc::resources_page(&ch, "user", None, "")
            .await
            .unwrap()
            .next_page_token,
    ] {
        let e = grants_page(&ch, &member, bad, "sync-1", 50)
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    }
}
