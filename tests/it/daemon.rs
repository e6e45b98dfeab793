//! The operational shell: readiness and liveness, reflection, graceful shutdown on SIGTERM, exit
//! codes, and tokens that never reach a log line or an error.
use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::StreamExt;
use miro_connector::{
    server::SERVICES,
    sim::{FaultConfig, FaultRule, SimConfig},
};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::{common::*, rpc};

const BIN: &str = env!("CARGO_BIN_EXE_miro-connector");

fn slow(endpoint: &str, ms: u64) -> FaultConfig {
    FaultConfig {
        seed: 1,
        rules: vec![FaultRule {
            endpoint: Some(endpoint.into()),
            latency_ms: ms,
            ..Default::default()
        }],
    }
}

#[tokio::test]
async fn readiness_waits_for_the_credential_check() {
    let mut cfg = SimConfig::new(org(50, 2));
    cfg.faults = slow("oauth-token", 700);
    let sim = start_sim(cfg).await;
    let (daemon, ch) = start_daemon(&settings(&sim, false, true)).await;
    assert_eq!(
        health(&ch, "liveness").await.unwrap(),
        ServingStatus::Serving
    );
    assert_eq!(health(&ch, "").await.unwrap(), ServingStatus::NotServing);
    for s in SERVICES {
        assert_eq!(
            health(&ch, s).await.unwrap(),
            ServingStatus::NotServing,
            "{s}"
        );
    }
    wait_ready(&ch).await;
    for s in SERVICES {
        assert_eq!(health(&ch, s).await.unwrap(), ServingStatus::Serving, "{s}");
    }
    assert_eq!(
        health(&ch, "liveness").await.unwrap(),
        ServingStatus::Serving
    );
    daemon.shutdown().await;
}

#[tokio::test]
async fn a_rejected_token_keeps_readiness_down() {
    let sim = sim_with(20, 1).await;
    let mut args = settings(&sim, false, false);
    args.miro_access_token = Some("not-the-right-token".into());
    let (daemon, ch) = start_daemon(&args).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.stats().requests_to("GET /v1/oauth-token") == 0 {
        assert!(Instant::now() < deadline, "the credential check never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(health(&ch, "").await.unwrap(), ServingStatus::NotServing);
    assert_eq!(
        health(&ch, "liveness").await.unwrap(),
        ServingStatus::Serving
    );
    assert_eq!(
        sim.stats().requests_to("GET /v1/oauth-token"),
        1,
        "a rejected token is not retried"
    );
    daemon.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_miro_is_retried_in_the_background() {
    let mut cfg = SimConfig::new(org(20, 1));
    cfg.faults = FaultConfig {
        seed: 1,
        rules: vec![FaultRule {
            endpoint: Some("oauth-token".into()),
            burst: 2,
            burst_status: Some(503),
            ..Default::default()
        }],
    };
    let sim = start_sim(cfg).await;
    let mut args = settings(&sim, false, false);
    args.miro_max_attempts = Some(1);
    let (daemon, ch) = start_daemon(&args).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(health(&ch, "").await.unwrap(), ServingStatus::NotServing);
    wait_ready(&ch).await;
    assert_eq!(sim.stats().requests_to("GET /v1/oauth-token"), 3);
    daemon.shutdown().await;
}

#[tokio::test]
async fn reflection_lists_every_service() {
    use tonic_reflection::pb::{v1, v1alpha};
    let Harness {
        sim: _sim,
        daemon,
        ch,
    } = Fixture::new().members(20).teams(1).start().await;
    let req = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut stream = v1::server_reflection_client::ServerReflectionClient::new(ch.clone())
        .server_reflection_info(futures::stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        stream.next().await.unwrap().unwrap().message_response
    else {
        panic!("no service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for s in SERVICES.iter().chain(&["grpc.health.v1.Health"]) {
        assert!(names.iter().any(|n| n == s), "{s} missing from {names:?}");
    }
    let req = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "c1.connector.v2.GrantManagerService".into(),
            ),
        ),
    };
    let mut stream = v1alpha::server_reflection_client::ServerReflectionClient::new(ch)
        .server_reflection_info(futures::stream::iter([req]))
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(
        stream.next().await.unwrap().unwrap().message_response,
        Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
    ));
    daemon.shutdown().await;
}

/// The daemon as a process, with its output collected.
struct Proc {
    child: Child,
    output: Arc<Mutex<String>>,
    addr: String,
}

fn spawn(args: &[&str], env: &[(&str, &str)]) -> Proc {
    let mut child = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    for pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let (out, tx) = (output.clone(), tx.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(i) = line.find("\"addr\":\"") {
                    let rest = &line[i + 8..];
                    let _ = tx.send(rest[..rest.find('"').unwrap_or(0)].to_string());
                }
                out.lock().unwrap().push_str(&(line + "\n"));
            }
        });
    }
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("no listen address logged: {}", output.lock().unwrap()));
    Proc {
        child,
        output,
        addr,
    }
}

impl Proc {
    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }
    fn signal(&self, sig: &str) {
        assert!(
            Command::new("kill")
                .args([sig, &self.child.id().to_string()])
                .status()
                .unwrap()
                .success()
        );
    }
    fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "the process did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn serve_args<'a>(
    sim: &'a miro_connector::sim::SimHandle,
    api: &'a str,
    scim: &'a str,
) -> Vec<&'a str> {
    let _ = sim;
    vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--log-format",
        "json",
        "--miro-api-url",
        api,
        "--miro-scim-url",
        scim,
    ]
}

#[tokio::test]
async fn sigterm_drains_in_flight_rpcs_and_exits_zero() {
    let mut cfg = SimConfig::new(org(30, 2));
    cfg.faults = slow("GET /v2/orgs/{org_id}/teams", 1500);
    let sim = start_sim(cfg).await;
    let (api, scim) = (sim.api_url(), sim.scim_url());
    let mut p = spawn(
        &serve_args(&sim, &api, &scim),
        &[("MIRO_ACCESS_TOKEN", sim.access_token())],
    );
    let ch = p.channel().await;
    wait_ready(&ch).await;
    let mut watch = HealthClient::new(ch.clone())
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.next().await.unwrap().unwrap().status(),
        ServingStatus::Serving
    );

    let in_flight = tokio::spawn({
        let ch = ch.clone();
        async move { rpc::resources_page(&ch, "team", None, "").await }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    p.signal("-TERM");
    assert_eq!(
        watch.next().await.unwrap().unwrap().status(),
        ServingStatus::NotServing,
        "health turns NOT_SERVING"
    );
    let listed = in_flight
        .await
        .unwrap()
        .expect("the in-flight RPC completes");
    assert_eq!(listed.list.len(), 2);
    let status = tokio::task::spawn_blocking(move || p.wait(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn an_invalid_setting_exits_2_with_one_line() {
    let out = Command::new(BIN)
        .args(["serve", "--listen", "nowhere"])
        .env("MIRO_ACCESS_TOKEN", "t")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("listen") && err.contains("nowhere"), "{err}");

    let out = Command::new(BIN)
        .args(["serve"])
        .env_remove("MIRO_ACCESS_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("miro_access_token"));
}

#[tokio::test]
async fn tokens_never_reach_logs_or_errors() {
    const ACCESS: &str = "acc-0123456789-very-secret";
    const SCIM: &str = "scim-9876543210-very-secret";
    let mut cfg = SimConfig::new(org(150, 2));
    cfg.access_token = ACCESS.into();
    cfg.scim_token = "a-different-scim-token".into();
    let sim = start_sim(cfg).await;
    let (api, scim) = (sim.api_url(), sim.scim_url());
    let mut p = spawn(
        &serve_args(&sim, &api, &scim),
        &[
            ("MIRO_ACCESS_TOKEN", ACCESS),
            ("MIRO_SCIM_TOKEN", SCIM),
            ("RUST_LOG", "debug"),
        ],
    );
    let ch = p.channel().await;
    wait_ready(&ch).await;
    let mut errors = Vec::new();
    // SCIM rejects its token: Validate fails and says so; names are an enrichment, so the user
    // listing still lists, with emails for names.
    let e = rpc::validate(&ch).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    errors.push(e.message().to_string());
    let users = rpc::resources_page(&ch, "user", None, "").await.unwrap();
    assert_eq!(users.list.len(), 100);
    assert!(users.list.iter().all(|u| u.display_name.contains('@')));
    rpc::resources_page(&ch, "team", None, "").await.unwrap();
    p.signal("-TERM");
    let status = tokio::task::spawn_blocking(move || {
        let s = p.wait(Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(100));
        (s, p.output.lock().unwrap().clone())
    })
    .await
    .unwrap();
    let (status, logs) = status;
    assert_eq!(status.code(), Some(0));
    assert!(
        logs.contains("\"method\":\"/c1.connector.v2.ResourcesService/ListResources\""),
        "one line per RPC: {logs}"
    );
    assert!(logs.contains("Unauthenticated"));
    for text in errors.iter().chain([&logs]) {
        assert!(
            !text.contains(ACCESS) && !text.contains(SCIM),
            "a token leaked: {text}"
        );
    }
}

#[tokio::test]
async fn a_second_signal_exits_at_once() {
    let mut cfg = SimConfig::new(org(30, 2));
    cfg.faults = slow("GET /v2/orgs/{org_id}/teams", 20_000);
    let sim = start_sim(cfg).await;
    let (api, scim) = (sim.api_url(), sim.scim_url());
    let mut args = serve_args(&sim, &api, &scim);
    args.extend(["--shutdown-grace", "60s"]);
    let mut p = spawn(&args, &[("MIRO_ACCESS_TOKEN", sim.access_token())]);
    let ch = p.channel().await;
    wait_ready(&ch).await;
    // An RPC that would hold the drain open for 20 s.
    tokio::spawn(async move {
        let _ = rpc::resources_page(&ch, "team", None, "").await;
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    p.signal("-TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t0 = Instant::now();
    p.signal("-TERM");
    let status = tokio::task::spawn_blocking(move || p.wait(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "the second signal did not exit at once"
    );
}
