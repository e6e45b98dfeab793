//! Event feeds (`--events`): the usage feed against the simulator's own audit log, cursors that
//! resume exactly, and the answers to bad requests.
use std::collections::BTreeSet;

use miro_connector::{pb, sim::SimHandle};
use serde_json::Value;
use tonic::Code;

use crate::{
    common::{ContentMode, Fixture, Harness, settings, start_daemon, wait_ready},
    rpc,
};

const DAY: i64 = 24 * 3600;

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn iso(s: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(s).unwrap();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Every event of the simulator's audit log, read over HTTP as Miro's clients read it.
pub async fn sim_log(sim: &SimHandle) -> Vec<Value> {
    let http = reqwest::Client::new();
    let (mut out, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let mut q = vec![
            ("createdAfter", iso(now_s() - 90 * DAY)),
            ("createdBefore", iso(now_s() + 60)),
            ("limit", "37".to_string()),
        ];
        if let Some(c) = &cursor {
            q.push(("cursor", c.clone()));
        }
        let page: Value = http
            .get(format!("{}/v2/audit/logs", sim.api_url()))
            .bearer_auth(sim.access_token())
            .query(&q)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["cursor"].as_str().filter(|c| !c.is_empty()) {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

/// What a usage event says: its id, time, actor and target.
fn usage(e: &pb::Event) -> (String, i64, String, String) {
    let Some(pb::event::Event::UsageEvent(u)) = &e.event else {
        panic!("not a usage event: {e:?}")
    };
    let id = |r: &Option<pb::Resource>| {
        let i = r.as_ref().unwrap().id.as_ref().unwrap();
        format!("{}:{}", i.resource_type, i.resource)
    };
    let t = e.occurred_at.unwrap();
    (
        e.id.clone(),
        t.seconds * 1000 + i64::from(t.nanos) / 1_000_000,
        id(&u.actor_resource),
        id(&u.target_resource),
    )
}

/// The same, from the simulator's log: what the feed must say of each usage event in it.
fn expected(log: &[Value], org_id: &str) -> Vec<(String, i64, String, String)> {
    log.iter()
        .filter_map(|e| {
            let target = match e["event"].as_str()? {
                "sign_in_succeeded" => format!("organization:{org_id}"),
                "board_opened" => format!("board:{}", e["object"]["id"].as_str()?),
                _ => return None,
            };
            let at = miro_connector::miro::audit::parse_created_at(e["createdAt"].as_str()?)?;
            Some((
                e["id"].as_str()?.to_string(),
                at,
                format!("user:{}", e["createdBy"]["id"].as_str()?),
                target,
            ))
        })
        .collect()
}

fn said(events: &[pb::Event]) -> Vec<(String, i64, String, String)> {
    events.iter().map(usage).collect()
}

#[tokio::test]
async fn the_usage_feed_says_each_sign_in_and_board_opening_once_at_any_page_size() {
    let Harness { sim, daemon, ch } = Fixture::new()
        .members(60)
        .teams(3)
        .content(ContentMode::Sharing)
        .events()
        .start()
        .await;
    let want = expected(&sim_log(&sim).await, &sim.org().id);
    assert!(want.len() > 100, "a log worth reading: {}", want.len());
    let times: BTreeSet<i64> = want.iter().map(|w| w.1).collect();
    assert!(times.len() < want.len(), "some events share a millisecond");
    assert!(want.iter().any(|w| w.3.starts_with("board:")));
    // 200 days back is further than Miro keeps: the start is clamped, and nothing is lost.
    let start = Some(now_s() - 200 * DAY);
    for size in [1, 7, 1000] {
        let (got, _) = rpc::events(&ch, "miro_usage", String::new(), start, size).await;
        assert_eq!(said(&got), want, "page size {size}");
    }

    // Resumed from every cursor of a read, the feed goes on exactly where that call stopped.
    let mut pages = Vec::new();
    let mut cursor = String::new();
    loop {
        let p = rpc::events_page(&ch, "miro_usage", &cursor, start, 7)
            .await
            .unwrap();
        pages.push((p.events.len(), p.cursor.clone()));
        cursor = p.cursor;
        if !p.has_more {
            break;
        }
    }
    let mut read = 0;
    for (n, cursor) in &pages {
        read += n;
        let (rest, _) = rpc::events(&ch, "miro_usage", cursor.clone(), None, 50).await;
        assert_eq!(said(&rest), want[read..], "resumed after {read} events");
    }

    // Caught up: the same cursor again says nothing new, and a restarted daemon agrees.
    let last = &pages.last().unwrap().1;
    let again = rpc::events_page(&ch, "miro_usage", last, None, 100)
        .await
        .unwrap();
    assert!(again.events.is_empty() && !again.has_more);
    daemon.shutdown().await;
    let mut args = settings(&sim, false, false);
    args.content = Some(ContentMode::Sharing);
    args.events = Some(true);
    args.events_lag = Some("0s".parse().unwrap());
    let (_restarted, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    let half = pages.len() / 2;
    let read: usize = pages[..=half].iter().map(|p| p.0).sum();
    let (rest, _) = rpc::events(&ch, "miro_usage", pages[half].1.clone(), None, 1000).await;
    assert_eq!(said(&rest), want[read..], "after a restart");
}

/// A write to the simulator through its own API, as another admin (or an IdP) makes it.
async fn write(sim: &SimHandle, method: reqwest::Method, path: &str, body: Value) {
    let scim = path.starts_with("/Users");
    let (url, token) = if scim {
        (format!("{}{path}", sim.scim_url()), sim.scim_token())
    } else {
        (format!("{}{path}", sim.api_url()), sim.access_token())
    };
    let r = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "{path}: {}",
        r.text().await.unwrap()
    );
}

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

#[tokio::test]
async fn feeds_are_off_by_default_and_advertised_when_on() {
    let Harness {
        sim: _s,
        daemon: _d,
        ch,
    } = Fixture::new().members(10).teams(1).start().await;
    assert!(rpc::event_feeds(&ch).await.is_empty());
    let e = rpc::events_page(&ch, "miro_usage", "", None, 10)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("--events"), "{}", e.message());
    let caps = |m: pb::ConnectorMetadata| m.capabilities.unwrap().connector_capabilities;
    let v2 = pb::Capability::EventFeedV2 as i32;
    assert!(!caps(rpc::metadata(&ch).await).contains(&v2));

    let Harness {
        sim: _s,
        daemon: _d,
        ch,
    } = Fixture::new().members(10).teams(1).events().start().await;
    assert!(caps(rpc::metadata(&ch).await).contains(&v2));
    let feeds: Vec<(String, Vec<i32>)> = rpc::event_feeds(&ch)
        .await
        .into_iter()
        .map(|f| (f.id, f.supported_event_types))
        .collect();
    assert_eq!(
        feeds,
        [
            ("miro_usage".to_string(), vec![pb::EventType::Usage as i32]),
            (
                "miro_changes".to_string(),
                vec![pb::EventType::ResourceChange as i32]
            ),
        ]
    );
    rpc::validate(&ch).await.unwrap();
}

#[tokio::test]
async fn bad_feed_requests_get_clear_answers() {
    let Harness {
        sim: _s,
        daemon: _d,
        ch,
    } = Fixture::new().members(10).teams(1).events().start().await;
    let now = now_s();
    let usage = rpc::events_page(&ch, "miro_usage", "", Some(now - 3600), 5)
        .await
        .unwrap();
    let long = "x".repeat(5000);
    for (feed, cursor, start, size, code, says) in [
        ("nope", "", None, 0, Code::NotFound, "miro_usage"),
        ("", "", None, 0, Code::NotFound, "baton_feed_event"),
        (
            "miro_usage",
            "garbage",
            None,
            0,
            Code::InvalidArgument,
            "cursor",
        ),
        (
            "miro_usage",
            long.as_str(),
            None,
            0,
            Code::InvalidArgument,
            "4,096",
        ),
        (
            "miro_changes",
            usage.cursor.as_str(),
            None,
            0,
            Code::InvalidArgument,
            "belongs to the feed miro_usage",
        ),
        (
            "miro_usage",
            "",
            Some(now + 3 * DAY),
            0,
            Code::InvalidArgument,
            "future",
        ),
        ("miro_usage", "", None, 1001, Code::InvalidArgument, "1000"),
    ] {
        let e = rpc::events_page(&ch, feed, cursor, start, size)
            .await
            .unwrap_err();
        assert_eq!(e.code(), code, "{feed} {}", e.message());
        assert!(e.message().contains(says), "{}", e.message());
    }
    // 200 days back is clamped to what Miro keeps, not refused.
    rpc::events_page(&ch, "miro_usage", "", Some(now - 200 * DAY), 5)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_audit_log_miro_refuses_names_the_scope_and_the_plan() {
    for plan_or_scope in ["scope", "plan"] {
        let mut cfg = miro_connector::sim::SimConfig::new(crate::common::org(10, 1));
        if plan_or_scope == "scope" {
            cfg.scopes.retain(|s| s != "auditlogs:read");
        } else {
            cfg.org.plan = "business".into();
        }
        let Harness {
            sim: _s,
            daemon: _d,
            ch,
        } = Fixture::new().sim(cfg).events().start().await;
        let e = rpc::events_page(&ch, "miro_usage", "", None, 5)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "{plan_or_scope}");
        assert!(
            e.message().contains("auditlogs:read") && e.message().contains("Enterprise"),
            "{}",
            e.message()
        );
        let v = rpc::validate(&ch).await.unwrap_err();
        assert_eq!(
            v.code(),
            Code::FailedPrecondition,
            "Validate finds it first"
        );
    }
}

/// When Miro's budget runs short part-way, the call answers with what it read and goes on from
/// there next time, rather than failing.
#[tokio::test]
async fn a_budget_that_runs_short_ends_the_page_early_not_in_an_error() {
    let mut cfg = miro_connector::sim::SimConfig::new(crate::common::org(1500, 2));
    // The readiness check's token info, then one audit page a minute.
    cfg.rest_budget = Some(230);
    let Harness {
        sim,
        daemon: _d,
        ch,
    } = Fixture::new().sim(cfg).events().start().await;
    sim.reset_stats();
    let mut req = tonic::Request::new(pb::ListEventsRequest {
        event_feed_id: "miro_usage".into(),
        start_at: Some(prost_types::Timestamp {
            seconds: now_s() - 100 * DAY,
            nanos: 0,
        }),
        page_size: 1000,
        ..Default::default()
    });
    req.set_timeout(std::time::Duration::from_secs(3));
    let page = pb::event_service_client::EventServiceClient::new(ch.clone())
        .list_events(req)
        .await
        .unwrap()
        .into_inner();
    assert!(page.has_more);
    assert!(
        !page.events.is_empty() && page.events.len() < 1000,
        "{}",
        page.events.len()
    );
    assert_eq!(sim.stats().requests_to("GET /v2/audit/logs"), 1);
    assert_eq!(sim.stats().rate_limited, 0);
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
