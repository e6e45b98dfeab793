//! Event feeds (`--events`): the usage feed against the simulator's own audit log, and cursors
//! that resume exactly; the helpers the other event tests share.
use std::collections::BTreeSet;

use miro_connector::{pb, sim::SimHandle};
use serde_json::Value;

use crate::{
    common::{ContentMode, Fixture, Harness, settings, start_daemon, wait_ready},
    rpc,
};

pub const DAY: i64 = 24 * 3600;

pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn iso(s: i64) -> String {
    miro_connector::miro::audit::query_time(s * 1000)
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
pub async fn write(sim: &SimHandle, method: reqwest::Method, path: &str, body: Value) {
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
