//! The event feeds' answers: off and on, bad requests, a refused audit log, a budget that runs
//! short.
use miro_connector::pb;
use tonic::Code;

use crate::{
    common::{Fixture, Harness},
    events::{DAY, now_s},
    rpc,
};

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

/// A Miro that fails before the call has read anything (here, asked what an event's id is) is the
/// caller's to retry (UNAVAILABLE), not an empty page that says there is more: a lasting failure
/// never loops in silence.
#[tokio::test]
async fn a_failure_before_any_progress_is_unavailable() {
    let sim = crate::common::start_sim(miro_connector::sim::SimConfig::new(crate::common::org(
        10, 1,
    )))
    .await;
    let mut args = crate::common::settings(&sim, false, false);
    args.events = Some(true);
    args.events_lag = Some("0s".parse().unwrap());
    args.miro_max_attempts = Some(1);
    let (_daemon, ch) = crate::common::start_daemon(&args).await;
    crate::common::wait_ready(&ch).await;
    let start = now_s() - 1;
    let user = sim.org().members.keys().nth(1).unwrap().clone();
    let rename = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "displayName", "value": "Renamed"}]
    });
    crate::events::write(
        &sim,
        reqwest::Method::PATCH,
        &format!("/Users/{user}"),
        rename,
    )
    .await;
    sim.set_faults(miro_connector::sim::FaultConfig {
        rules: vec![miro_connector::sim::FaultRule {
            endpoint: Some("GET /v2/orgs/{org_id}/teams/{team_id}".into()),
            burst: 1000,
            burst_status: Some(503),
            ..Default::default()
        }],
        ..Default::default()
    });
    let e = rpc::events_page(&ch, "miro_changes", "", Some(start), 10)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{}", e.message());
}

/// A Miro (or a proxy) that answers events outside the window asked for: one dated an hour ahead
/// is not read ahead of its time, so it cannot carry the cursor past events still to come.
#[tokio::test]
async fn an_event_dated_after_the_window_is_not_read_ahead_of_its_time() {
    use axum::{Json, Router, routing::get};
    let at = |s: i64| {
        let t = time::OffsetDateTime::from_unix_timestamp(s).unwrap();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000+0000",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    };
    let sign_in = |id: &str, s: i64| {
        serde_json::json!({"id": id, "event": "sign_in_succeeded", "createdAt": at(s),
            "createdBy": {"type": "user", "id": "42", "name": "Ada"}})
    };
    let page = serde_json::json!({"type": "cursor-list", "limit": 1000, "size": 2, "data": [
        sign_in("past", now_s() - 60), sign_in("ahead", now_s() + 3600)]});
    let app = Router::new()
        .route(
            "/v1/oauth-token",
            get(|| async { Json(serde_json::json!({"organization": {"id": "1", "name": "Org"}})) }),
        )
        .route("/v2/audit/logs", get(move || async move { Json(page) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let sim = crate::common::start_sim(miro_connector::sim::SimConfig::new(crate::common::org(
        5, 1,
    )))
    .await;
    let mut args = crate::common::settings(&sim, false, false);
    args.miro_api_url = Some(format!("http://{addr}").parse().unwrap());
    args.events = Some(true);
    args.events_lag = Some("0s".parse().unwrap());
    let (_daemon, ch) = crate::common::start_daemon(&args).await;
    crate::common::wait_ready(&ch).await;
    let first = rpc::events_page(&ch, "miro_usage", "", Some(now_s() - 3600), 10)
        .await
        .unwrap();
    let ids: Vec<&str> = first.events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["past"]);
    let again = rpc::events_page(&ch, "miro_usage", &first.cursor, None, 10)
        .await
        .unwrap();
    assert!(again.events.is_empty(), "{:?}", again.events);
}
