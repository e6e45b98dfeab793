//! The change feed: what writes changed, named from the ids an event carries whatever its name;
//! events that name nothing synced; ids asked of Miro.
use std::collections::BTreeSet;

use miro_connector::pb;

use crate::{
    common::{ContentMode, Fixture, Harness, settings, start_daemon, wait_ready},
    events::{now_s, sim_log, write},
    rpc,
};

type Change = (String, String, String);

fn changes(events: &[pb::Event]) -> BTreeSet<Change> {
    let ids: BTreeSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), events.len(), "event ids are unique");
    events
        .iter()
        .map(|e| {
            let Some(pb::event::Event::ResourceChangeEvent(c)) = &e.event else {
                panic!("not a change: {e:?}")
            };
            let id = c.resource_id.as_ref().unwrap();
            let parent = c
                .parent_resource_id
                .as_ref()
                .map(|p| format!("{}:{}", p.resource_type, p.resource));
            (
                id.resource_type.clone(),
                id.resource.clone(),
                parent.unwrap_or_default(),
            )
        })
        .collect()
}

/// Team invites and removals, a role change, a board share, a link-access change and a group
/// membership, written to a simulator whose write events carry `names`: what the change feed
/// says, what it should say, and the names the log carried.
async fn changes_after_writes(
    names: Vec<String>,
) -> (BTreeSet<Change>, BTreeSet<Change>, BTreeSet<String>) {
    let mut cfg = miro_connector::sim::SimConfig::new(crate::common::org(40, 3));
    cfg.audit_names = names;
    let Harness {
        sim,
        daemon: _d,
        ch,
    } = Fixture::new()
        .sim(cfg)
        .content(ContentMode::Sharing)
        .events()
        .start()
        .await;
    // A sync has listed the organization, so the daemon knows what each id is.
    for t in ["user", "team", "group"] {
        rpc::resources(&ch, t).await;
    }
    let start = now_s() - 1;
    let org = sim.org();
    let active = || {
        org.members
            .values()
            .filter(|m| m.active && m.id != org.admin_user_id)
    };
    let outside = |t: &miro_connector::sim::state::Team| {
        active().find(|m| !t.members.contains_key(&m.id) && m.role.contains("internal"))
    };
    let team = org.teams.values().find(|t| outside(t).is_some()).unwrap();
    let joiner = outside(team).unwrap();
    let in_team = |m: &&miro_connector::sim::state::Member| team.members.contains_key(&m.id);
    let leaver = active()
        .find(|m| in_team(m) && team.members[&m.id].role == "member")
        .unwrap();
    let promoted = active()
        .find(|m| m.role == "organization_internal_user")
        .unwrap();
    let board = org.boards.values().next().unwrap();
    let group = org.groups.values().next().unwrap();
    let grouped = active()
        .find(|m| !group.members.contains(&m.id) && m.role.contains("internal"))
        .unwrap();
    let o = &org.id;
    use reqwest::Method as M;
    use serde_json::json;
    write(
        &sim,
        M::POST,
        &format!("/v2/orgs/{o}/teams/{}/members", team.id),
        json!({"email": joiner.email}),
    )
    .await;
    write(
        &sim,
        M::DELETE,
        &format!("/v2/orgs/{o}/teams/{}/members/{}", team.id, leaver.id),
        json!({}),
    )
    .await;
    write(&sim, M::PATCH, &format!("/Users/{}", promoted.id), json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "roles[primary eq true].value", "value": "ORGANIZATION_INTERNAL_ADMIN"}]
    })).await;
    write(
        &sim,
        M::POST,
        &format!("/v2/boards/{}/members", board.id),
        json!({"emails": [grouped.email], "role": "viewer"}),
    )
    .await;
    write(
        &sim,
        M::PATCH,
        &format!("/v2/boards/{}", board.id),
        json!({"policy": {"sharingPolicy": {"access": "view"}}}),
    )
    .await;
    write(
        &sim,
        M::POST,
        &format!("/v2/orgs/{o}/groups/{}/members", group.id),
        json!({"email": grouped.email}),
    )
    .await;

    let (got, _) = rpc::events(&ch, "miro_changes", String::new(), Some(start), 3).await;
    let c = |t: &str, id: &str, parent: &str| (t.to_string(), id.to_string(), parent.to_string());
    let want = BTreeSet::from([
        c("team", &team.id, ""),
        c("user", &joiner.id, ""),
        c("user", &leaver.id, ""),
        c("user", &promoted.id, ""),
        c("board", &board.id, &format!("team:{}", board.team_id)),
        c("group", &group.id, ""),
    ]);
    let log_names = sim_log(&sim)
        .await
        .iter()
        .filter_map(|e| e["event"].as_str().map(str::to_string))
        .filter(|n| n != "sign_in_succeeded" && n != "board_opened")
        .collect();
    (changes(&got), want, log_names)
}

#[tokio::test]
async fn the_change_feed_names_what_writes_changed_whatever_the_events_are_called() {
    let names: Vec<String> = miro_connector::sim::audit::WRITE_EVENT_NAMES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut shuffled = names.clone();
    shuffled.rotate_left(5);
    shuffled.reverse();
    let (got, want, called) = changes_after_writes(names).await;
    assert_eq!(got, want);
    let (got2, _, called2) = changes_after_writes(shuffled).await;
    assert_ne!(called, called2, "the write events were named differently");
    assert_eq!(got2, want, "and the feed said the same");
}

/// An event that names nothing synced (a board, with content access off) is counted by its name,
/// not guessed at.
#[tokio::test]
async fn an_event_that_names_nothing_synced_is_counted_by_its_name() {
    let mut cfg = miro_connector::sim::SimConfig::new(crate::common::org(20, 2));
    cfg.audit_names = vec!["renamed_by_an_unmapped_test".to_string(); 12];
    let sim = crate::common::start_sim(cfg).await;
    let mut args = settings(&sim, false, false);
    args.events = Some(true);
    args.events_lag = Some("0s".parse().unwrap());
    args.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    let start = now_s() - 1;
    let board = sim.org().boards.keys().next().unwrap().clone();
    let link = serde_json::json!({"policy": {"sharingPolicy": {"access": "view"}}});
    write(
        &sim,
        reqwest::Method::PATCH,
        &format!("/v2/boards/{board}"),
        link,
    )
    .await;
    let (got, _) = rpc::events(&ch, "miro_changes", String::new(), Some(start), 100).await;
    assert!(got.is_empty(), "{got:?}");
    let metrics = crate::common::scrape(&daemon).await;
    assert!(
        metrics
            .contains("connector_events_unmapped_total{event=\"renamed_by_an_unmapped_test\"} 1"),
        "{metrics}"
    );
}

/// A daemon that has not listed a user since it started (a restart, or a user created since the
/// last sync) asks Miro what the id is, cheapest first, and remembers it.
#[tokio::test]
async fn an_id_not_served_since_start_is_asked_of_miro_once() {
    let Harness {
        sim,
        daemon: _d,
        ch,
    } = Fixture::new().members(20).teams(2).events().start().await;
    let start = now_s() - 1;
    let user = sim
        .org()
        .members
        .values()
        .find(|m| m.active && m.role == "organization_internal_user")
        .unwrap()
        .id
        .clone();
    let rename = |name: &str| {
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "displayName", "value": name}]
        })
    };
    for name in ["Renamed", "Renamed again"] {
        write(
            &sim,
            reqwest::Method::PATCH,
            &format!("/Users/{user}"),
            rename(name),
        )
        .await;
    }
    sim.reset_stats();
    let (got, _) = rpc::events(&ch, "miro_changes", String::new(), Some(start), 100).await;
    let want = BTreeSet::from([("user".to_string(), user.clone(), String::new())]);
    assert_eq!(changes(&got), want);
    assert_eq!(got.len(), 2, "one change for each event");
    let stats = sim.stats();
    for (endpoint, n) in [
        ("GET /v2/orgs/{org_id}/teams/{team_id}", 1),
        ("GET /v2/orgs/{org_id}/groups/{group_id}", 1),
        ("GET /v2/orgs/{org_id}/members/{member_id}", 1),
    ] {
        assert_eq!(stats.requests_to(endpoint), n, "{endpoint}: asked once");
    }
}

/// A Space changed in a team content access covers is found by asking for it through the team
/// the event names (Level 1), before the member lookup (Level 3), and named with its team.
#[tokio::test]
async fn a_space_not_served_since_start_is_found_through_its_team() {
    let Harness {
        sim,
        daemon: _d,
        ch,
    } = Fixture::new()
        .members(200)
        .teams(3)
        .content(ContentMode::Sharing)
        .events()
        .start()
        .await;
    let start = now_s() - 1;
    let org = sim.org();
    let space = org.projects.values().next().unwrap();
    let (o, t, p) = (&org.id, &space.team_id, &space.id);
    let private = serde_json::json!({"sharingPolicySettings": {"teamAccess": "private"}});
    let settings = format!("/v2/orgs/{o}/teams/{t}/projects/{p}/settings");
    write(&sim, reqwest::Method::PATCH, &settings, private).await;
    sim.reset_stats();
    let (got, _) = rpc::events(&ch, "miro_changes", String::new(), Some(start), 100).await;
    let c = |k: &str, id: &str, parent: &str| (k.to_string(), id.to_string(), parent.to_string());
    assert_eq!(
        changes(&got),
        BTreeSet::from([c("team", t, ""), c("project", p, &format!("team:{t}"))])
    );
    let stats = sim.stats();
    assert_eq!(
        stats.requests_to("GET /v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}"),
        1
    );
    assert_eq!(
        stats.requests_to("GET /v2/orgs/{org_id}/members/{member_id}"),
        0,
        "found before the Level 3 lookup"
    );
}
