//! The Miro adapter against the simulator (and a stub where a precise fault is easier to stage).
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use miro_connector::{
    connector::ConnectorError,
    miro::{
        Miro, MiroError, MiroSettings, RetryPolicy,
        models::{NewScimUser, TeamRole},
        paging::PageAt,
        rest::MemberFilter,
    },
    sim::{FaultConfig, FaultRule, SimConfig, SimHandle},
};
use secrecy::SecretString;
use tonic::Code;

use super::common::*;

pub(super) fn miro(sim: &SimHandle, token: &str, attempts: u32, timeout: Duration) -> Miro {
    Miro::new(MiroSettings {
        api_url: sim.api_url().parse().unwrap(),
        scim_url: sim.scim_url().parse().unwrap(),
        access_token: SecretString::from(token.to_string()),
        scim_token: Some(SecretString::from(sim.scim_token().to_string())),
        timeout,
        retry: RetryPolicy {
            max_attempts: attempts,
            base_delay: Duration::from_millis(20),
            ..Default::default()
        },
        max_concurrency: 8,
    })
    .unwrap()
}

pub(super) fn ok_miro(sim: &SimHandle) -> Miro {
    miro(sim, sim.access_token(), 4, Duration::from_secs(5))
}

pub(super) fn faults(rule: FaultRule) -> FaultConfig {
    FaultConfig {
        seed: 3,
        rules: vec![rule],
    }
}

pub(super) fn members_rule() -> FaultRule {
    FaultRule {
        endpoint: Some("GET /v2/orgs/{org_id}/members".into()),
        ..Default::default()
    }
}

pub(super) fn code(e: MiroError) -> (Code, String) {
    let s = tonic::Status::from(ConnectorError::from(e));
    (s.code(), s.message().to_string())
}

pub(super) const MEMBERS: &str = "GET /v2/orgs/{org_id}/members";

#[tokio::test]
async fn lists_of_many_pages_cost_one_request_per_page() {
    let sim = sim_with(350, 3).await;
    let m = ok_miro(&sim);
    let org = sim.org();
    let pages: Vec<_> = m
        .rest
        .members(&org.id, &MemberFilter::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 4);
    let all: Vec<String> = pages.into_iter().flatten().map(|m| m.id).collect();
    assert_eq!(all, org.members.keys().cloned().collect::<Vec<_>>());
    assert_eq!(sim.stats().requests_to(MEMBERS), 4, "ceil(350/100)");
    let big = org.teams.values().max_by_key(|t| t.members.len()).unwrap();
    let got: Vec<_> = m
        .rest
        .team_members(&org.id, &big.id)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(got.len(), big.members.len());
    assert_eq!(
        sim.stats()
            .requests_to("GET /v2/orgs/{org_id}/teams/{team_id}/members") as usize,
        big.members.len().div_ceil(100)
    );
    // Filters go to Miro, not applied locally.
    let filter = MemberFilter {
        active: Some(false),
        ..Default::default()
    };
    let inactive: Vec<_> = m
        .rest
        .members(&org.id, &filter)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(
        inactive.len(),
        org.members.values().filter(|m| !m.active).count()
    );
    let two = [
        "nobody@example.com",
        org.members.values().nth(3).unwrap().email.as_str(),
    ];
    assert_eq!(
        m.rest.members_by_emails(&org.id, &two).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_repeated_cursor_is_an_error_not_a_loop() {
    use axum::{Json, Router, routing::get};
    let app = Router::new().route(
        "/v2/orgs/{org}/members",
        get(|| async {
            Json(serde_json::json!({"data": [{"id": "1", "email": "a@b.co", "role": "organization_internal_user",
                "license": "full", "active": true}], "cursor": "same", "limit": 100, "size": 1, "type": "cursor-list"}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let m = Miro::new(MiroSettings {
        api_url: format!("http://{addr}").parse().unwrap(),
        scim_url: format!("http://{addr}/scim").parse().unwrap(),
        access_token: SecretString::from("t".to_string()),
        scim_token: None,
        timeout: Duration::from_secs(5),
        retry: RetryPolicy::default(),
        max_concurrency: 8,
    })
    .unwrap();
    let r: Result<Vec<_>, _> = m
        .rest
        .members("o", &MemberFilter::default())
        .try_collect()
        .await;
    let e = r.unwrap_err();
    assert!(
        matches!(e, MiroError::RepeatedCursor { ref cursor, .. } if cursor == "same"),
        "{e}"
    );
    assert!(matches!(
        m.rest
            .members_page("o", &MemberFilter::default(), PageAt::after(Some("same")))
            .await,
        Err(MiroError::RepeatedCursor { .. })
    ));
    assert_eq!(code(e).0, Code::Internal);
}

#[tokio::test]
async fn a_429_waits_for_retry_after() {
    let mut cfg = SimConfig::new(org(120, 1));
    cfg.retry_after = true;
    cfg.rest_window = Duration::from_secs(2);
    cfg.faults = faults(FaultRule {
        burst: 1,
        ..members_rule()
    });
    let sim = start_sim(cfg).await;
    let m = ok_miro(&sim);
    let t0 = Instant::now();
    let page = m
        .rest
        .members_page(&sim.org().id, &MemberFilter::default(), PageAt::first())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 100);
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "waited {:?}",
        t0.elapsed()
    );
    let e = &sim.stats().endpoints[MEMBERS];
    assert_eq!((e.by_status[&429], e.by_status[&200]), (1, 1));
}

#[tokio::test]
async fn a_429_without_retry_after_waits_for_the_reset() {
    let mut cfg = SimConfig::new(org(120, 1));
    cfg.rest_window = Duration::from_secs(2);
    cfg.faults = faults(FaultRule {
        burst: 1,
        ..members_rule()
    });
    let sim = start_sim(cfg).await;
    let m = ok_miro(&sim);
    let t0 = Instant::now();
    m.rest
        .members_page(&sim.org().id, &MemberFilter::default(), PageAt::first())
        .await
        .unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "waited {:?}",
        t0.elapsed()
    );
    assert_eq!(sim.stats().rate_limited, 1);
}

#[tokio::test]
async fn a_low_budget_is_paced_instead_of_hitting_429() {
    let mut cfg = SimConfig::new(org(450, 1));
    cfg.rest_budget = Some(1000);
    cfg.rest_window = Duration::from_secs(2);
    let sim = start_sim(cfg).await;
    let m = ok_miro(&sim);
    let t0 = Instant::now();
    let n: usize = m
        .rest
        .members(&sim.org().id, &MemberFilter::default())
        .map_ok(|p| p.len())
        .try_fold(0, |a, b| async move { Ok(a + b) })
        .await
        .unwrap();
    assert_eq!(n, 450);
    assert_eq!(sim.stats().rate_limited, 0, "paced, never refused");
    assert!(
        t0.elapsed() >= Duration::from_millis(1500),
        "5 pages of 500 credits at 1000 per 2 s take two resets"
    );
    assert!(m.rest_budget().is_some());
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let mut cfg = SimConfig::new(org(50, 1));
    cfg.faults = faults(FaultRule {
        burst: 2,
        burst_status: Some(503),
        ..members_rule()
    });
    let sim = start_sim(cfg).await;
    ok_miro(&sim)
        .rest
        .members_page(&sim.org().id, &MemberFilter::default(), PageAt::first())
        .await
        .unwrap();
    let e = &sim.stats().endpoints[MEMBERS];
    assert_eq!((e.by_status[&503], e.by_status[&200]), (2, 1));
}

#[tokio::test]
async fn an_exhausted_retry_budget_is_unavailable() {
    let mut cfg = SimConfig::new(org(50, 1));
    cfg.faults = faults(FaultRule {
        error_rate: 1.0,
        ..members_rule()
    });
    let sim = start_sim(cfg).await;
    let e = miro(&sim, sim.access_token(), 3, Duration::from_secs(5))
        .rest
        .members_page(&sim.org().id, &MemberFilter::default(), PageAt::first())
        .await
        .unwrap_err();
    assert!(
        matches!(e, MiroError::RetriesExhausted { attempts: 3, .. }),
        "{e}"
    );
    assert_eq!(sim.stats().requests_to(MEMBERS), 3);
    let (c, msg) = code(e);
    assert_eq!(c, Code::Unavailable);
    assert!(msg.contains(MEMBERS), "{msg}");
}

#[tokio::test]
async fn time_outs_and_dropped_connections_are_retried_then_unavailable() {
    for rule in [
        FaultRule {
            slow_rate: 1.0,
            slow_ms: 1500,
            ..members_rule()
        },
        FaultRule {
            drop_rate: 1.0,
            ..members_rule()
        },
    ] {
        let mut cfg = SimConfig::new(org(20, 1));
        cfg.faults = faults(rule.clone());
        let sim = start_sim(cfg).await;
        let e = miro(&sim, sim.access_token(), 2, Duration::from_millis(300))
            .rest
            .members_page(&sim.org().id, &MemberFilter::default(), PageAt::first())
            .await
            .unwrap_err();
        assert!(
            matches!(e, MiroError::RetriesExhausted { attempts: 2, .. }),
            "{rule:?}: {e}"
        );
        assert_eq!(code(e).0, Code::Unavailable);
    }
}

/// An unreadable answer to a GET is retried like a 5xx; when every answer is unreadable, the
/// request gives up as unavailable and says why.
#[tokio::test]
async fn malformed_json_is_a_clear_error() {
    for rule in [
        FaultRule {
            malformed_rate: 1.0,
            ..members_rule()
        },
        FaultRule {
            truncate_rate: 1.0,
            ..members_rule()
        },
    ] {
        let mut cfg = SimConfig::new(org(20, 1));
        cfg.faults = faults(rule);
        let sim = start_sim(cfg).await;
        let e = ok_miro(&sim)
            .rest
            .members_page(&sim.org().id, &MemberFilter::default(), PageAt::first())
            .await
            .unwrap_err();
        assert!(
            matches!(&e, MiroError::RetriesExhausted { last, .. } if matches!(**last, MiroError::Decode { .. })),
            "{e}"
        );
        let (c, msg) = code(e);
        assert_eq!(c, Code::Unavailable);
        assert!(
            msg.contains(MEMBERS) && msg.contains("could not be read"),
            "{msg}"
        );
    }
}

#[tokio::test]
async fn http_errors_map_to_grpc_codes_and_never_carry_tokens() {
    let mut cfg = SimConfig::new(org(60, 2));
    cfg.faults = faults(FaultRule {
        endpoint: Some("GET /v2/orgs/{org_id}/teams".into()),
        burst: 1,
        burst_status: Some(403),
        ..Default::default()
    });
    let sim = start_sim(cfg).await;
    let org = sim.org();
    let m = ok_miro(&sim);
    let mut errors = Vec::new();

    let e = miro(&sim, "wrong-token-value", 3, Duration::from_secs(5))
        .rest
        .token_info()
        .await
        .unwrap_err();
    errors.push(e.to_string());
    assert_eq!(code(e).0, Code::Unauthenticated);
    let e = m
        .rest
        .teams_page(&org.id, PageAt::first())
        .await
        .unwrap_err();
    errors.push(format!("{e:?}"));
    assert_eq!(code(e).0, Code::PermissionDenied);
    let e = m.rest.organization("no-such-org").await.unwrap_err();
    errors.push(e.to_string());
    assert_eq!(code(e).0, Code::NotFound);
    let team = org.teams.values().next().unwrap();
    let (uid, _) = team.members.iter().next().unwrap();
    let e = m
        .rest
        .invite(
            &org.id,
            &team.id,
            uid,
            &org.members[uid].email,
            TeamRole::Member,
        )
        .await
        .unwrap_err();
    errors.push(e.to_string());
    assert_eq!(code(e).0, Code::AlreadyExists);
    let e = m
        .rest
        .members_page(
            &org.id,
            &MemberFilter {
                license: Some("galactic".into()),
                ..Default::default()
            },
            PageAt::first(),
        )
        .await
        .unwrap_err();
    errors.push(e.to_string());
    assert_eq!(code(e).0, Code::InvalidArgument);

    // SCIM's own error shape: status as a string, scimType, detail.
    let scim = m.scim.as_ref().unwrap();
    let existing = org
        .members
        .values()
        .find(|m| m.role == "organization_internal_user")
        .unwrap();
    let e = scim
        .create(&NewScimUser {
            user_name: existing.email.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    match &e {
        MiroError::Scim {
            status: 400,
            scim_type: Some(t),
            detail,
            ..
        } => {
            assert_eq!(t, "invalidValue");
            assert!(detail.contains("not unique"), "{detail}");
        }
        other => panic!("expected a SCIM error, got {other:?}"),
    }
    errors.push(format!("{e} {e:?}"));
    assert!(
        scim.user("3074457345699999999").await.unwrap().is_none(),
        "404 is an answer"
    );

    for text in errors {
        assert!(
            !text.contains(sim.access_token())
                && !text.contains(sim.scim_token())
                && !text.contains("wrong-token-value"),
            "{text}"
        );
    }
}
