//! Boards and Spaces: a sync in each content mode finds exactly what the simulator holds, in the
//! fewest requests Miro's API allows; the scope bounds the scan; with content off nothing is asked.
use std::collections::BTreeSet;

use miro_connector::{
    client::{self, Snapshot},
    config::TeamIds,
    connector::{ContentMode, annotations::find},
    pb,
    sim::{ContentParts, Org, content_minimum},
};

use super::common::*;

const ORG_ROLES: [&str; 2] = ["organization_internal_admin", "organization_internal_user"];

fn level_role(level: &str, comment: &str) -> Option<String> {
    match level {
        "view" => Some("viewer".into()),
        "comment" => Some(comment.into()),
        "edit" => Some("editor".into()),
        _ => None,
    }
}

/// Every content grant the simulator's state implies, for the teams `covered` keeps.
pub fn expected_content(
    org: &Org,
    members: bool,
    covered: &dyn Fn(&str) -> bool,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for b in org.boards.values().filter(|b| covered(&b.team_id)) {
        if members {
            for (uid, role) in &b.members {
                out.insert(format!("board:{}:{role}:user:{uid}", b.id));
            }
        } else {
            out.insert(format!("board:{}:owner:user:{}", b.id, b.owner_id));
        }
        if let Some(r) = level_role(&b.sharing.team_access, "commenter") {
            out.insert(format!("board:{}:{r}:team:{}", b.id, b.team_id));
        }
        if let Some(r) = level_role(&b.sharing.organization_access, "commenter") {
            for role in ORG_ROLES {
                out.insert(format!("board:{}:{r}:role:{role}", b.id));
            }
        }
        for (g, role) in &b.groups {
            out.insert(format!("board:{}:{}:group:{g}", b.id, role.to_lowercase()));
        }
    }
    for p in org.projects.values().filter(|p| covered(&p.team_id)) {
        if p.team_access == "view" {
            out.insert(format!("project:{}:viewer:team:{}", p.id, p.team_id));
        }
        for (g, role) in &p.groups {
            let r = level_role(&role.to_lowercase().replace("er", ""), "commentator");
            let r = r.unwrap_or_else(|| role.to_lowercase());
            out.insert(format!("project:{}:{r}:group:{g}", p.id));
        }
        if members {
            for (uid, role) in &p.members {
                out.insert(format!("project:{}:{role}:user:{uid}", p.id));
            }
        }
    }
    out
}

fn content_grants(snap: &Snapshot) -> BTreeSet<String> {
    snap.grants
        .iter()
        .filter(|g| g.id.starts_with("board:") || g.id.starts_with("project:"))
        .map(|g| g.id.clone())
        .collect()
}

fn of_type(snap: &Snapshot, t: &str) -> BTreeSet<(String, String)> {
    snap.resources
        .iter()
        .filter_map(|r| {
            let id = r.id.as_ref()?;
            (id.resource_type == t).then(|| {
                let parent = r
                    .parent_resource_id
                    .as_ref()
                    .map(|p| format!("{}:{}", p.resource_type, p.resource));
                (id.resource.clone(), parent.unwrap_or_default())
            })
        })
        .collect()
}

async fn sync_with(
    mode: ContentMode,
    teams: Option<&str>,
    skip: Option<&str>,
) -> (Org, Snapshot, miro_connector::sim::Stats) {
    let sim = sim_with(300, 6).await;
    let mut args = settings(&sim, false, true);
    args.content = Some(mode);
    args.content_teams = teams.map(|t| t.parse::<TeamIds>().unwrap());
    args.content_skip_teams = skip.map(|t| t.parse::<TeamIds>().unwrap());
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    sim.reset_stats();
    let snap = client::full_sync(ch, &mut ()).await.unwrap();
    let stats = sim.stats();
    daemon.shutdown().await;
    (sim.org(), snap, stats)
}

fn check(
    org: &Org,
    snap: &Snapshot,
    stats: &miro_connector::sim::Stats,
    members: bool,
    covered: &dyn Fn(&str) -> bool,
) {
    let boards: BTreeSet<_> = org
        .boards
        .values()
        .filter(|b| covered(&b.team_id))
        .map(|b| (b.id.clone(), format!("team:{}", b.team_id)))
        .collect();
    assert!(
        boards.len() > 50,
        "a team's boards span offset pages: {}",
        boards.len()
    );
    assert_eq!(of_type(snap, "board"), boards);
    let spaces: BTreeSet<_> = org
        .projects
        .values()
        .filter(|p| covered(&p.team_id))
        .map(|p| (p.id.clone(), format!("team:{}", p.team_id)))
        .collect();
    assert!(!spaces.is_empty());
    assert_eq!(of_type(snap, "project"), spaces);
    let want = expected_content(org, members, covered);
    let got = content_grants(snap);
    assert_eq!(
        got.symmetric_difference(&want).take(5).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "{} grants against {} expected",
        got.len(),
        want.len()
    );
    for kind in [":team:", ":role:", ":group:"] {
        assert!(
            want.iter().any(|g| g.contains(kind)),
            "the org has access through {kind}"
        );
    }
    // Team, org and group access expand to the people they reach.
    for g in snap
        .grants
        .iter()
        .filter(|g| g.id.starts_with("board:") || g.id.starts_with("project:"))
    {
        let p = g.principal.as_ref().and_then(|p| p.id.as_ref()).unwrap();
        let x = find::<pb::GrantExpandable>(&g.annotations);
        match p.resource_type.as_str() {
            "user" => assert!(x.is_none()),
            "team" => assert_eq!(
                x.unwrap().entitlement_ids,
                [
                    format!("team:{}:member", p.resource),
                    format!("team:{}:admin", p.resource)
                ]
            ),
            "group" => assert_eq!(
                x.unwrap().entitlement_ids,
                [format!("group:{}:member", p.resource)]
            ),
            "role" => assert_eq!(
                x.unwrap().entitlement_ids,
                [format!("role:{}:assigned", p.resource)]
            ),
            other => panic!("unexpected principal {other}"),
        }
    }
    let parts = ContentParts {
        members,
        ..Default::default()
    };
    let min = content_minimum(org, parts, covered);
    for (endpoint, n) in [
        ("GET /v2/boards", min.board_pages),
        (
            "GET /v2/orgs/{org_id}/boards/{board_id}/groups",
            min.board_group_pages,
        ),
        (
            "GET /v2/orgs/{org_id}/teams/{team_id}/projects",
            min.space_pages,
        ),
        (
            "GET /v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}/settings",
            min.space_settings,
        ),
        (
            "GET /v2/orgs/{org_id}/projects/{project_id}/groups",
            min.space_group_pages,
        ),
        ("GET /v2/boards/{board_id}/members", min.board_member_pages),
        (
            "GET /v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}/members",
            min.space_member_pages,
        ),
        ("GET /v2/boards/{board_id}", 0),
    ] {
        assert_eq!(stats.requests_to(endpoint), n, "{endpoint}");
    }
    assert_eq!(stats.rate_limited, 0);
}

#[tokio::test]
async fn sharing_mode_syncs_boards_spaces_and_their_access_in_the_fewest_requests() {
    let (org, snap, stats) = sync_with(ContentMode::Sharing, None, None).await;
    check(&org, &snap, &stats, false, &|_| true);
}

#[tokio::test]
async fn members_mode_adds_every_direct_member() {
    let (org, snap, stats) = sync_with(ContentMode::Members, None, None).await;
    check(&org, &snap, &stats, true, &|_| true);
    let owners = content_grants(&snap)
        .iter()
        .filter(|g| g.starts_with("board:") && g.contains(":owner:user:"))
        .count();
    assert_eq!(owners, org.boards.len(), "each board's owner once");
}

#[tokio::test]
async fn the_team_scope_bounds_the_scan() {
    let probe = sim_with(300, 6).await.org();
    let teams: Vec<&String> = probe.teams.keys().collect();
    let allow = format!("{},{},{}", teams[0], teams[1], teams[2]);
    let skip = teams[1].clone();
    let (org, snap, stats) = sync_with(ContentMode::Sharing, Some(&allow), Some(&skip)).await;
    let covered = |t: &str| (t == teams[0] || t == teams[2]) && t != skip;
    let boards = of_type(&snap, "board");
    assert!(
        boards
            .iter()
            .all(|(_, p)| p == &format!("team:{}", teams[0]) || p == &format!("team:{}", teams[2]))
    );
    assert_eq!(
        stats.requests_to("GET /v2/boards"),
        content_minimum(&org, ContentParts::default(), &covered).board_pages,
        "no board listing for teams left out"
    );
    assert_eq!(
        content_grants(&snap),
        expected_content(&org, false, &covered)
    );
}

/// What the adapter sends to board and Space endpoints matches the request schemas of Miro's spec.
#[test]
fn content_request_bodies_match_the_openapi_spec() {
    use super::contract::{assert_valid, request_body, spec};
    use miro_connector::miro::{
        boards::{Reach, group_share_body, policy_body, role_body, share_body},
        content_models::{Access, BoardRole, ProjectRole, ShareRole},
        spaces,
    };
    let Some(spec) = spec() else { return };
    let body = |path: &str, method: &str| request_body(&spec, path, method);
    let policy = body("/v2/boards/{board_id}", "patch");
    for reach in [Reach::Link, Reach::Team, Reach::Organization] {
        for level in [Access::Private, Access::View, Access::Comment, Access::Edit] {
            assert_valid(&policy, &policy_body(reach, level), "sharing policy");
        }
    }
    let share = body("/v2/boards/{board_id}/members", "post");
    assert_valid(
        &share,
        &share_body(&["a@example.com"], BoardRole::Editor),
        "share",
    );
    assert!(!share.is_valid(&serde_json::json!({"emails": "a@example.com"})));
    let role = body("/v2/boards/{board_id}/members/{board_member_id}", "patch");
    assert_valid(&role, &role_body(BoardRole::Commenter), "board role");
    for path in [
        "/v2/orgs/{org_id}/boards/{board_id}/groups",
        "/v2/orgs/{org_id}/projects/{project_id}/groups",
    ] {
        let v = body(path, "post");
        for r in [ShareRole::Viewer, ShareRole::Commenter, ShareRole::Editor] {
            assert_valid(&v, &group_share_body("3074457345618265000", r), path);
        }
    }
    const P: &str = "/v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}";
    let add = body(&format!("{P}/members"), "post");
    let patch = body(&format!("{P}/members/{{member_id}}"), "patch");
    for r in [
        ProjectRole::Viewer,
        ProjectRole::Commentator,
        ProjectRole::Editor,
        ProjectRole::Coowner,
    ] {
        assert_valid(
            &add,
            &spaces::member_body("a@example.com", r),
            "add Space member",
        );
        assert_valid(&patch, &spaces::role_body(r), "Space role");
    }
    let settings = body(&format!("{P}/settings"), "patch");
    for level in [Access::Private, Access::View] {
        assert_valid(&settings, &spaces::settings_body(level), "Space settings");
    }
}

/// A fixture file (the shape of `/_sim/state`) carries boards and Spaces: `simulate --fixture`
/// serves exactly the organization it was written from.
#[tokio::test]
async fn a_fixture_carries_boards_and_spaces() {
    use std::io::{BufRead, BufReader};
    let org = sim_with(120, 4).await.org();
    assert!(!org.boards.is_empty() && !org.projects.is_empty());
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&org).unwrap()).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_miro-connector"))
        .args(["simulate", "--listen", "127.0.0.1:0", "--fixture"])
        .arg(file.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let api = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let api = lines
            .find_map(|l| {
                l.split_whitespace()
                    .find(|w| w.starts_with("http://"))
                    .map(str::to_string)
            })
            .unwrap();
        std::thread::spawn(move || lines.for_each(drop));
        api
    })
    .await
    .unwrap();
    let served: Org = reqwest::get(format!("{api}/_sim/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(served, org);
}

/// A token without `boards:read` and `projects:read` (or an org without the plan): the sync
/// completes without boards and Spaces, and a counter says which part was left out.
#[tokio::test]
async fn without_the_content_scopes_the_sync_completes_and_says_why() {
    use miro_connector::sim::SimConfig;
    for (dropped, part, kept) in [
        ("boards:", "boards", "project"),
        ("projects:", "spaces", "board"),
        ("organizations:groups:", "board_user_groups", "board"),
    ] {
        let mut cfg = SimConfig::new(org(150, 4));
        cfg.scopes.retain(|s| !s.starts_with(dropped));
        let sim = start_sim(cfg).await;
        let mut args = settings(&sim, false, true);
        args.content = Some(ContentMode::Sharing);
        args.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        let (daemon, ch) = start_daemon(&args).await;
        wait_ready(&ch).await;
        let snap = client::full_sync(ch, &mut ()).await.unwrap();
        let org = sim.org();
        let boards = of_type(&snap, "board").len();
        let spaces = of_type(&snap, "project").len();
        match dropped {
            "boards:" => assert_eq!((boards, spaces), (0, org.projects.len())),
            "projects:" => assert_eq!((boards, spaces), (org.boards.len(), 0)),
            _ => {
                assert_eq!((boards, spaces), (org.boards.len(), org.projects.len()));
                assert!(!content_grants(&snap).iter().any(|g| g.contains(":group:")));
            }
        }
        assert!(
            !of_type(&snap, kept).is_empty(),
            "{dropped}: {kept} still sync"
        );
        let body = scrape(&daemon).await;
        assert!(
            body.contains(&format!(
                "connector_content_skipped_total{{part=\"{part}\"}}"
            )),
            "{dropped}: {body}"
        );
        daemon.shutdown().await;
    }
}

/// An organization without the Enterprise plan has no Spaces or group shares to list (Miro
/// answers 403): boards still sync, with their owners, team and org access.
#[tokio::test]
async fn without_the_enterprise_plan_boards_sync_alone() {
    use miro_connector::sim::SimConfig;
    let mut o = org(150, 4);
    o.plan = "business".into();
    let sim = start_sim(SimConfig::new(o)).await;
    let mut args = settings(&sim, false, true);
    args.content = Some(ContentMode::Members);
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    let snap = client::full_sync(ch, &mut ()).await.unwrap();
    let org = sim.org();
    assert_eq!(of_type(&snap, "board").len(), org.boards.len());
    assert!(of_type(&snap, "project").is_empty());
    let grants = content_grants(&snap);
    assert!(!grants.iter().any(|g| g.contains(":group:")));
    assert!(grants.iter().any(|g| g.contains(":team:")));
    let direct: usize = org.boards.values().map(|b| b.members.len()).sum();
    assert_eq!(
        grants.iter().filter(|g| g.contains(":user:")).count(),
        direct
    );
    daemon.shutdown().await;
}
