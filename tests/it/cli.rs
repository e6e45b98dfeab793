//! The operator commands, run as a person would: the binary against the simulator.
use std::{
    io::{BufRead, BufReader},
    process::{Command, Output, Stdio},
    time::Duration,
};

use miro_connector::pb::{self, resources_service_client::ResourcesServiceClient};
use serde_json::Value;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;

use super::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_miro-connector");

async fn run(args: Vec<String>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(&args)
        .env_remove("RUST_LOG")
        .env_remove("MIRO_ACCESS_TOKEN")
        .env_remove("MIRO_SCIM_TOKEN")
        .envs(env.iter().copied());
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn sync_writes_a_deterministic_snapshot_of_the_organization() {
    let sim = sim_with(260, 4).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.json");
    let (api, scim) = (sim.api_url(), sim.scim_url());
    let args = strings(&[
        "sync",
        "--miro-api-url",
        &api,
        "--miro-scim-url",
        &scim,
        "--out",
        out.to_str().unwrap(),
    ]);
    let env = [
        ("MIRO_ACCESS_TOKEN", sim.access_token()),
        ("MIRO_SCIM_TOKEN", sim.scim_token()),
    ];
    let o = run(args.clone(), &env).await;
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("grants") && stdout.contains("RPCs"),
        "a summary table: {stdout}"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let org = sim.org();
    let users: Vec<&str> = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str()?.strip_prefix("user:"))
        .collect();
    assert_eq!(
        users,
        org.members.keys().map(String::as_str).collect::<Vec<_>>(),
        "every member, in order"
    );
    let memberships: usize = org.teams.values().map(|t| t.members.len()).sum();
    let team_grants = doc["grants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            let id = g["id"].as_str().unwrap();
            id.starts_with("team:") && id.contains(":user:")
        })
        .count();
    assert_eq!(team_grants, memberships);
    // Four per team, seven roles and the custom admin roles, nine licenses, one per group.
    let custom: std::collections::BTreeSet<&str> = org
        .members
        .values()
        .flat_map(|m| &m.admin_roles)
        .filter(|r| r.kind == "custom")
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(
        doc["entitlements"].as_array().unwrap().len(),
        org.teams.len() * 4 + 7 + custom.len() + 9 + org.groups.len()
    );

    // Against a running daemon, as JSON Lines; the same data in the same order.
    let (daemon, _ch) = start_daemon(&settings(&sim, false, true)).await;
    let lines = dir.path().join("snap.jsonl");
    let addr = daemon.addr.to_string();
    let o = run(
        strings(&["sync", "--connect", &addr, "--out", lines.to_str().unwrap()]),
        &[],
    )
    .await;
    assert!(o.status.success(), "{:?}", text(&o));
    let mut records: Vec<Value> = std::fs::read_to_string(&lines)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Custom admin roles are listed with the resources (read from SCIM's users), each once,
    // before the first grant: a resources-only sync needs them without the grants.
    let first_grant = records.iter().position(|r| r["kind"] == "grant").unwrap();
    let custom_listed: Vec<&str> = records[..first_grant]
        .iter()
        .filter(|r| r["kind"] == "resource")
        .filter_map(|r| r["id"].as_str())
        .filter(|id| id.starts_with("role:admin_role_custom_"))
        .collect();
    assert_eq!(custom_listed.len(), custom.len(), "{custom_listed:?}");
    let kind = |r: &Value| {
        ["resource_type", "resource", "entitlement", "grant"]
            .iter()
            .position(|k| r["kind"] == *k)
    };
    records.sort_by_key(kind);
    let from_doc: Vec<Value> = ["resource_types", "resources", "entitlements", "grants"]
        .iter()
        .flat_map(|k| doc[*k].as_array().unwrap().clone())
        .collect();
    assert_eq!(
        records, from_doc,
        "two snapshots of the same organization are identical"
    );
    daemon.shutdown().await;
}

/// JSON Lines stream in the walk's order; listing eight resources' grants (and eight teams' boards
/// and Spaces) at once writes the same file, byte for byte.
#[tokio::test]
async fn workers_walk_concurrently_and_write_the_same_file() {
    let sim = sim_with(300, 12).await;
    let mut args = settings(&sim, false, true);
    // Sharing: two syncs stay within the half of Miro's budget that goes at once.
    args.content = Some(miro_connector::connector::ContentMode::Sharing);
    let (daemon, _ch) = start_daemon(&args).await;
    let addr = daemon.addr.to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for workers in ["1", "8"] {
        let out = dir.path().join(format!("w{workers}.jsonl"));
        let o = run(
            strings(&[
                "sync",
                "--connect",
                &addr,
                "--workers",
                workers,
                "--out",
                out.to_str().unwrap(),
            ]),
            &[],
        )
        .await;
        assert!(o.status.success(), "{:?}", text(&o));
        files.push(std::fs::read(&out).unwrap());
    }
    assert!(!files[0].is_empty());
    assert!(files[0] == files[1], "the same organization, the same file");
    let memberships: usize = sim.org().teams.values().map(|t| t.members.len()).sum();
    let grants = String::from_utf8_lossy(&files[1])
        .lines()
        .filter(|l| {
            l.contains("\"kind\":\"grant\"") && l.contains("\"id\":\"team:") && l.contains(":user:")
        })
        .count();
    assert_eq!(grants, memberships);
    let boards = String::from_utf8_lossy(&files[1])
        .lines()
        .filter(|l| l.contains("\"kind\":\"resource\"") && l.contains("\"id\":\"board:"))
        .count();
    assert_eq!(boards, sim.org().boards.len());
    daemon.shutdown().await;
}

#[tokio::test]
async fn one_shot_provisioning_reports_what_happened() {
    let sim = sim_with(200, 4).await;
    let (daemon, _ch) = start_daemon(&settings(&sim, true, true)).await;
    let addr = daemon.addr.to_string();
    let org = sim.org();
    let team = org.teams.values().last().unwrap();
    let user = org
        .members
        .values()
        .find(|m| {
            m.active && m.role == "organization_internal_user" && !team.members.contains_key(&m.id)
        })
        .unwrap();
    let ent = format!("team:{}:member", team.id);
    let cmd = |verb: &str| {
        strings(&[
            verb,
            "--connect",
            &addr,
            "--entitlement",
            &ent,
            "--user",
            &user.id,
        ])
    };

    let out = |o: Output| {
        assert!(o.status.success(), "{:?}", text(&o));
        text(&o).0
    };
    assert!(out(run(cmd("grant"), &[]).await).starts_with("granted"));
    assert!(out(run(cmd("grant"), &[]).await).starts_with("already granted"));
    let admin = strings(&[
        "grant",
        "--connect",
        &addr,
        "--entitlement",
        &format!("team:{}:admin", team.id),
        "--user",
        &user.id,
    ]);
    assert!(out(run(admin, &[]).await).contains(&format!("replacing {ent}:user:{}", user.id)));
    let revoke_admin = strings(&[
        "revoke",
        "--connect",
        &addr,
        "--entitlement",
        &format!("team:{}:admin", team.id),
        "--user",
        &user.id,
    ]);
    assert!(out(run(revoke_admin.clone(), &[]).await).starts_with("revoked"));
    assert!(out(run(revoke_admin, &[]).await).starts_with("already revoked"));
    assert!(!sim.org().teams[&team.id].members.contains_key(&user.id));

    let create = strings(&[
        "create-account",
        "--connect",
        &addr,
        "--email",
        "cli.user@example.com",
        "--first-name",
        "Cli",
        "--last-name",
        "User",
    ]);
    assert!(out(run(create.clone(), &[]).await).starts_with("created user"));
    assert!(out(run(create, &[]).await).starts_with("already exists"));
    let delete = strings(&["delete", "--connect", &addr, "--user", &user.id]);
    assert!(out(run(delete.clone(), &[]).await).starts_with("deprovisioned"));
    assert!(out(run(delete, &[]).await).starts_with("already deprovisioned"));
    assert!(!sim.org().members[&user.id].active);
    daemon.shutdown().await;
}

#[tokio::test]
async fn failures_are_one_clear_line() {
    let sim = sim_with(30, 2).await;
    let (api, scim) = (sim.api_url(), sim.scim_url());
    let one_line = |o: &Output, code: i32, needle: &str| {
        let (_, err) = text(o);
        assert_eq!(o.status.code(), Some(code), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(needle), "{needle:?} not in {err}");
        assert!(!err.contains("panicked") && !err.contains("backtrace"));
    };
    // Nothing listens there.
    let o = run(strings(&["sync", "--connect", "127.0.0.1:9"]), &[]).await;
    one_line(&o, 1, "cannot connect to the daemon at 127.0.0.1:9");
    // A rejected token.
    let o = run(
        strings(&["sync", "--miro-api-url", &api, "--miro-scim-url", &scim]),
        &[("MIRO_ACCESS_TOKEN", "wrong")],
    )
    .await;
    one_line(&o, 1, "Unauthenticated");
    // Miro unreachable.
    let o = run(
        strings(&[
            "sync",
            "--miro-api-url",
            "http://127.0.0.1:9",
            "--miro-max-attempts",
            "1",
        ]),
        &[("MIRO_ACCESS_TOKEN", "t")],
    )
    .await;
    one_line(&o, 1, "unreachable");
    // Provisioning off.
    let team = sim.org().teams.keys().next().unwrap().clone();
    let args = strings(&[
        "grant",
        "--miro-api-url",
        &api,
        "--entitlement",
        &format!("team:{team}:member"),
        "--user",
        "1",
    ]);
    let o = run(args, &[("MIRO_ACCESS_TOKEN", sim.access_token())]).await;
    one_line(&o, 1, "--provisioning");
    // A malformed entitlement id is a usage error.
    let o = run(
        strings(&[
            "grant",
            "--connect",
            "127.0.0.1:9",
            "--entitlement",
            "nonsense",
            "--user",
            "1",
        ]),
        &[],
    )
    .await;
    one_line(&o, 2, "TYPE:ID:SLUG");
}

#[tokio::test]
async fn the_demo_serves_health_and_listings() {
    let mut child = Command::new(BIN)
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--members",
            "40",
            "--teams",
            "3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (addr, team) = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let addr = lines
            .find_map(|l| {
                l.trim()
                    .strip_prefix("connector gRPC")
                    .map(|r| r.split_whitespace().next().unwrap_or_default().to_string())
            })
            .unwrap();
        // The sync command a new user can paste, beside the grpcurl lines.
        let sync = lines
            .find(|l| l.contains("miro-connector sync --connect"))
            .unwrap();
        assert!(sync.contains(&addr), "{sync}");
        // And the bridge's one-shot command beside it.
        let bridge = lines
            .find(|l| l.contains("baton-miro-bridge --connector-addr"))
            .unwrap();
        assert!(
            bridge.contains(&addr) && bridge.contains("-f sync.c1z"),
            "{bridge}"
        );
        // A team's boards, with content access on in the demo.
        let boards = lines
            .find(|l| l.contains("\"board\",\"parent_resource_id\""))
            .unwrap();
        let team = boards
            .split("\"resource\":\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        // Keep reading, as a terminal would.
        std::thread::spawn(move || lines.for_each(drop));
        (addr, team)
    })
    .await
    .unwrap();
    let ch = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    wait_ready(&ch).await;
    assert_eq!(health(&ch, "").await.unwrap(), ServingStatus::Serving);
    let mut resources = ResourcesServiceClient::new(ch);
    let teams = resources
        .list_resources(pb::ResourcesServiceListResourcesRequest {
            resource_type_id: "team".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(teams.list.len(), 3);
    let boards = resources
        .list_resources(pb::ResourcesServiceListResourcesRequest {
            resource_type_id: "board".into(),
            parent_resource_id: Some(pb::ResourceId {
                resource_type: "team".into(),
                resource: team,
                baton_resource: false,
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        boards.list.iter().any(|b| b
            .profile
            .as_ref()
            .is_some_and(|p| p.fields.contains_key("classification"))),
        "the demo's busiest team has boards, some of them labelled"
    );
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || {
        for _ in 0..500 {
            if let Some(s) = child.try_wait().unwrap() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the demo did not stop");
    })
    .await
    .unwrap();
    assert!(status.success());
}
