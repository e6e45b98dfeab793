//! The member listing split into one chain per license (#26): every member listed once, at one
//! partial page a chain more than one chain costs, counted; and `auto` splits only a large
//! organization behind a Miro whose round trip outlasts a page's budget time.
use std::{collections::BTreeMap, time::Instant};

use miro_connector::{
    connector::MemberChains,
    miro::models::License,
    pb::{self, resources_service_client::ResourcesServiceClient},
    server::Daemon,
    sim::{FaultConfig, FaultRule, SimConfig, SimHandle},
};
use tonic::transport::Channel;

use super::{common::*, rpc};

const MEMBERS: &str = "GET /v2/orgs/{org_id}/members";
const EXTRA: &str = "miro_member_listing_extra_requests_total";

async fn daemon(sim: &SimHandle, chains: MemberChains, read_ahead: bool) -> (Daemon, Channel) {
    let mut args = settings(sim, false, true);
    args.member_chains = Some(chains);
    args.read_ahead = Some(read_ahead);
    args.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let (d, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    (d, ch)
}

/// One page of users at `page_size`, from `token`.
async fn users_page(ch: &Channel, page_size: u32, token: String) -> (Vec<pb::Resource>, String) {
    let page = ResourcesServiceClient::new(ch.clone())
        .list_resources(pb::ResourcesServiceListResourcesRequest {
            resource_type_id: "user".into(),
            page_size,
            page_token: token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    (page.list, page.next_page_token)
}

/// Every user, sorted by id.
async fn users(ch: &Channel, page_size: u32) -> Vec<pb::Resource> {
    let (mut all, mut token) = (Vec::new(), String::new());
    loop {
        let (list, next) = users_page(ch, page_size, token).await;
        all.extend(list);
        if next.is_empty() {
            break;
        }
        token = next;
    }
    all.sort_by(|a, b| {
        a.id.as_ref()
            .unwrap()
            .resource
            .cmp(&b.id.as_ref().unwrap().resource)
    });
    all
}

fn license(u: &pb::Resource) -> String {
    match &u.profile.as_ref().unwrap().fields["license"].kind {
        Some(prost_types::value::Kind::StringValue(s)) => s.clone(),
        other => panic!("license {other:?}"),
    }
}

/// A counter's value in a scrape (0 when absent).
fn counter(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_split_listing_lists_every_member_once_at_one_partial_page_a_chain() {
    let sim = sim_with(1_000, 5).await;
    let (off_d, off) = daemon(&sim, MemberChains::Off, true).await;
    sim.reset_stats();
    let one = users(&off, 30).await;
    assert_eq!(one.len(), 1_000);
    assert_eq!(sim.stats().requests_to(MEMBERS), 1_000u64.div_ceil(30));
    off_d.shutdown().await;

    let (on_d, on) = daemon(&sim, MemberChains::On, true).await;
    // The recorder is the process's: other tests count too, but only split listings add extras.
    let before = counter(&scrape(&on_d).await, EXTRA);
    sim.reset_stats();
    let split = users(&on, 30).await;
    assert_eq!(
        split, one,
        "the same users, names and profiles included, each once"
    );
    // Each license's chain: its own pages, and one (empty) page for a license nobody holds.
    let mut held: BTreeMap<String, u64> = BTreeMap::new();
    for u in &one {
        *held.entry(license(u)).or_default() += 1;
    }
    assert!(held.len() >= 5, "the org spreads over licenses: {held:?}");
    let expected: u64 = License::ALL
        .iter()
        .chain([&License::Unknown])
        .map(|l| held.get(l.as_str()).map_or(1, |n| n.div_ceil(30)))
        .sum();
    assert_eq!(sim.stats().requests_to(MEMBERS), expected);
    let extra = expected - 1_000u64.div_ceil(30);
    assert!((1..=8).contains(&extra), "{extra}");
    assert_eq!(counter(&scrape(&on_d).await, EXTRA) - before, extra);
    on_d.shutdown().await;
}

/// A Miro that takes `latency_ms` a request, with a budget of 600,000 credits a minute: a member
/// page (500 credits) earns back in 50 ms.
async fn sim_at(members: usize, latency_ms: u64) -> SimHandle {
    sim_budget(members, latency_ms, 600_000).await
}

async fn sim_budget(members: usize, latency_ms: u64, budget: u64) -> SimHandle {
    let mut cfg = SimConfig::new(org(members, 5));
    cfg.rest_budget = Some(budget);
    cfg.faults = FaultConfig {
        seed: 1,
        rules: vec![FaultRule {
            latency_ms,
            ..Default::default()
        }],
    };
    start_sim(cfg).await
}

/// How many chains a fresh listing at `page_size` runs, after Validate (which reads the
/// organization's size hint, 1,100 full licenses for 1,000 members): a split listing has each
/// chain's first pages on their way at once, one chain its first page and the next.
async fn chains_of_a_fresh_listing(sim: &SimHandle, ch: &Channel, page_size: u32) -> &'static str {
    rpc::validate(ch).await.unwrap();
    sim.reset_stats();
    users_page(ch, page_size, String::new()).await;
    match settle(sim, MEMBERS).await {
        1..=2 => "one",
        9.. => "split",
        n => panic!("{n} member pages asked for"),
    }
}

#[tokio::test]
async fn auto_splits_only_a_large_listing_behind_a_miro_slower_than_its_budget() {
    let slow = sim_at(1_000, 100).await;
    let (d, ch) = daemon(&slow, MemberChains::Auto, true).await;
    // 1,100 pages of one: 8 extra pages are under 1% of them; 100 ms against 50 ms of budget.
    assert_eq!(chains_of_a_fresh_listing(&slow, &ch, 1).await, "split");
    // 11 pages of 100: 8 extra would be 73% more; and so when the client leaves the size to us.
    assert_eq!(chains_of_a_fresh_listing(&slow, &ch, 100).await, "one");
    assert_eq!(chains_of_a_fresh_listing(&slow, &ch, 0).await, "one");
    d.shutdown().await;
    // Without read-ahead the chains could not run at once.
    let (d, ch) = daemon(&slow, MemberChains::Auto, false).await;
    assert_eq!(chains_of_a_fresh_listing(&slow, &ch, 1).await, "one");
    d.shutdown().await;
    // A Miro faster than its budget: one chain keeps up.
    let fast = sim_at(1_000, 0).await;
    let (d, ch) = daemon(&fast, MemberChains::Auto, true).await;
    assert_eq!(chains_of_a_fresh_listing(&fast, &ch, 1).await, "one");
    d.shutdown().await;
}

#[tokio::test]
async fn a_member_page_waits_for_one_round_trip_not_two() {
    // 20 pages at 200 ms a request, under a budget that never binds.
    let sim = sim_budget(2_000, 200, 60_000_000).await;
    let (d, ch) = daemon(&sim, MemberChains::Off, true).await;
    let started = Instant::now();
    assert_eq!(users(&ch, 100).await.len(), 2_000);
    let wall = started.elapsed().as_secs_f64();
    // The first page waits for its REST answer, then its names; each page after it was asked for
    // the moment the one before arrived, its names asked for the moment it arrived: 21 round
    // trips. Chaining a page's request behind the names of the one before takes 40.
    assert!(wall < 0.2 * 21.0 * 1.35, "{wall:.2} s for 20 pages");
    d.shutdown().await;
}
