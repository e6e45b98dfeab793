//! Miro's answers, or a proxy's, are hostile too: tokens echoed back never reach an error or a
//! log line, and garbled answers and broken connections leave a sync equal to the clean one.
use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use miro_connector::{
    client,
    connector::ConnectorError,
    miro::{Miro, MiroSettings, RetryPolicy, paging::PageAt, rest::MemberFilter},
    sim::{FaultConfig, FaultRule, SimConfig},
};

use super::common::*;

/// A fake Miro behind a proxy that echoes the request's headers, in JSON, HTML and plain text.
async fn echoing_miro() -> String {
    use axum::{http::HeaderMap, response::IntoResponse};
    async fn echo(uri: axum::http::Uri, headers: HeaderMap) -> axum::response::Response {
        let dump: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or("")))
            .collect();
        let status = |n| axum::http::StatusCode::from_u16(n).unwrap();
        match uri.path() {
            p if p.ends_with("/members") => (
                status(400),
                axum::Json(serde_json::json!({"code": "echo", "message": dump})),
            )
                .into_response(),
            p if p.ends_with("/teams") => (
                status(503),
                [("content-type", "text/html")],
                format!("<html><pre>{dump}</pre></html>"),
            )
                .into_response(),
            p if p.contains("/Users") => (
                status(500),
                axum::Json(serde_json::json!({"detail": dump, "status": "500"})),
            )
                .into_response(),
            _ => (status(403), dump).into_response(),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback(echo))
            .await
            .unwrap()
    });
    format!("http://{addr}")
}

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tokens_echoed_by_a_proxy_never_reach_errors_or_logs() {
    const ACCESS: &str = "acc-echo-0123456789";
    const SCIM: &str = "scim-echo-9876543210";
    let url = echoing_miro().await;
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let m = Miro::new(MiroSettings {
        api_url: url.parse().unwrap(),
        scim_url: format!("{url}/scim").parse().unwrap(),
        access_token: ACCESS.into(),
        scim_token: Some(SCIM.into()),
        timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            ..Default::default()
        },
        max_concurrency: 8,
    })
    .unwrap();
    let scim = m.scim.as_ref().unwrap();
    let errors = vec![
        m.rest
            .members_page("1", &MemberFilter::default(), PageAt::first())
            .await
            .unwrap_err(),
        m.rest.teams_page("1", PageAt::first()).await.unwrap_err(),
        m.rest.team("1", "2").await.unwrap_err(),
        scim.user("5").await.unwrap_err(),
    ];
    let mut texts: Vec<String> = Vec::new();
    for e in errors {
        texts.push(e.to_string());
        texts.push(
            tonic::Status::from(ConnectorError::Miro(e))
                .message()
                .to_string(),
        );
    }
    texts.push(String::from_utf8(logs.0.lock().unwrap().clone()).unwrap());
    assert!(
        texts.last().unwrap().contains("retrying"),
        "the 5xx were retried and logged: {}",
        texts.last().unwrap()
    );
    for t in &texts {
        assert!(
            !t.contains(ACCESS) && !t.contains(SCIM),
            "a token leaked: {t}"
        );
        assert!(!t.to_ascii_lowercase().contains("bearer acc"), "{t}");
    }
    assert!(
        texts[0].contains("echo"),
        "Miro's code is kept: {}",
        texts[0]
    );
}

/// Garbled answers and broken connections on every listing: the sync still equals the clean one.
#[tokio::test]
async fn a_sync_through_broken_answers_equals_the_clean_sync() {
    let org = org(1_000, 8);
    let clean_sim = start_sim(SimConfig::new(org.clone())).await;
    let (d1, ch1) = start_daemon(&settings(&clean_sim, false, true)).await;
    wait_ready(&ch1).await;
    let clean = client::full_sync(ch1, &mut ()).await.unwrap();
    d1.shutdown().await;

    let mut cfg = SimConfig::new(org);
    cfg.faults = FaultConfig {
        seed: 7,
        rules: vec![FaultRule {
            truncate_rate: 0.02,
            malformed_rate: 0.02,
            error_rate: 0.10,
            drop_rate: 0.02,
            ..Default::default()
        }],
    };
    let sim = start_sim(cfg).await;
    let mut args = settings(&sim, false, true);
    args.miro_max_attempts = Some(10);
    let (d2, ch2) = start_daemon(&args).await;
    wait_ready(&ch2).await;
    let faulty = client::full_sync(ch2, &mut ()).await.unwrap();
    d2.shutdown().await;
    let set = |v: Vec<String>| v.into_iter().collect::<BTreeSet<_>>();
    let rids =
        |s: &client::Snapshot| set(s.resources.iter().map(|r| format!("{:?}", r.id)).collect());
    assert_eq!(rids(&faulty), rids(&clean));
    assert_eq!(
        set(faulty.grants.iter().map(|g| g.id.clone()).collect()),
        set(clean.grants.iter().map(|g| g.id.clone()).collect())
    );
    let names =
        |s: &client::Snapshot| set(s.resources.iter().map(|r| r.display_name.clone()).collect());
    assert_eq!(
        names(&faulty),
        names(&clean),
        "names are fetched again, not dropped"
    );
    assert!(
        sim.stats().requests > clean_sim.stats().requests,
        "faults were injected and retried"
    );
}
