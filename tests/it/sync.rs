//! A full sync in the official client's order finds exactly the simulator's organization, with
//! one Miro request per protocol page.
use std::collections::BTreeSet;

use miro_connector::{
    client::{self, Snapshot},
    connector::annotations::find,
    pb,
    sim::{LastCursor, Org, SimConfig},
};

use super::common::*;

/// The role id of an admin role: prebuilt ones by name, custom ones as the README documents
/// (`admin_role_custom_` + the name in unpadded URL-safe base64).
fn admin_role_id(name: &str) -> String {
    use base64::Engine;
    match name {
        "Content Admin" => "admin_role_content_admin".into(),
        "User Admin" => "admin_role_user_admin".into(),
        "Security Admin" => "admin_role_security_admin".into(),
        custom => format!(
            "admin_role_custom_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(custom)
        ),
    }
}

fn ids<'a>(it: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    it.map(String::from).collect()
}

fn expected_grants(org: &Org) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for t in org.teams.values() {
        for (uid, m) in &t.members {
            out.insert(format!("team:{}:{}:user:{uid}", t.id, m.role));
        }
    }
    for m in org.members.values() {
        if m.role != "unknown" {
            out.insert(format!("role:{}:assigned:user:{}", m.role, m.id));
        }
        for a in &m.admin_roles {
            out.insert(format!(
                "role:{}:assigned:user:{}",
                admin_role_id(&a.name),
                m.id
            ));
        }
        out.insert(format!("license:{}:assigned:user:{}", m.license, m.id));
    }
    for g in org.groups.values() {
        for uid in &g.members {
            out.insert(format!("group:{}:member:user:{uid}", g.id));
        }
        for t in &g.teams {
            out.insert(format!("team:{t}:member:group:{}", g.id));
        }
    }
    out
}

fn check_snapshot(org: &Org, snap: &Snapshot) {
    let of_type = |t: &str| {
        ids(snap
            .resources
            .iter()
            .filter_map(|r| r.id.as_ref())
            .filter(|i| i.resource_type == t)
            .map(|i| i.resource.as_str()))
    };
    assert_eq!(of_type("user"), ids(org.members.keys().map(String::as_str)));
    assert_eq!(of_type("team"), ids(org.teams.keys().map(String::as_str)));
    assert_eq!(of_type("group"), ids(org.groups.keys().map(String::as_str)));
    // Seven listed roles, and each custom admin role once, from its holders' grants.
    let custom: BTreeSet<String> = org
        .members
        .values()
        .flat_map(|m| &m.admin_roles)
        .filter(|r| r.kind == "custom")
        .map(|r| admin_role_id(&r.name))
        .collect();
    assert!(!custom.is_empty(), "the org holds a custom admin role");
    assert!(of_type("role").is_superset(&custom));
    assert_eq!(of_type("role").len(), 7 + custom.len());
    assert_eq!(
        snap.resources
            .iter()
            .filter(|r| r.id.as_ref().unwrap().resource_type == "role")
            .count(),
        7 + custom.len(),
        "each role once"
    );
    assert_eq!(of_type("license").len(), 9);
    assert_eq!(
        snap.resource_types
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>(),
        [
            "user",
            "team",
            "role",
            "group",
            "license",
            "board",
            "project",
            "organization"
        ],
        "boards and Spaces are types, empty while content is off"
    );

    let mut want_ents = BTreeSet::new();
    for t in org.teams.keys() {
        for r in ["member", "admin", "non_team", "team_guest"] {
            want_ents.insert(format!("team:{t}:{r}"));
        }
    }
    // Custom roles too: they are listed (from SCIM), so their entitlements are.
    for r in of_type("role") {
        want_ents.insert(format!("role:{r}:assigned"));
    }
    for l in of_type("license") {
        want_ents.insert(format!("license:{l}:assigned"));
    }
    for g in org.groups.keys() {
        want_ents.insert(format!("group:{g}:member"));
    }
    assert_eq!(
        ids(snap.entitlements.iter().map(|e| e.id.as_str())),
        want_ents
    );
    assert_eq!(
        snap.entitlements.len(),
        want_ents.len(),
        "no duplicate entitlements"
    );

    let got: BTreeSet<String> = snap.grants.iter().map(|g| g.id.clone()).collect();
    let want = expected_grants(org);
    assert_eq!(got.len(), want.len(), "grant count");
    assert_eq!(got, want);

    // Every resource carries the trait its type declares (the walker also enforces it), and users
    // carry what the platform shows.
    for r in &snap.resources {
        let id = r.id.as_ref().unwrap();
        match id.resource_type.as_str() {
            "user" => {
                let m = &org.members[&id.resource];
                let ut: pb::UserTrait = find(&r.annotations).expect("UserTrait");
                assert_eq!(ut.login, m.email);
                assert_eq!(ut.emails[0].address, m.email);
                let enabled = if m.active { 1 } else { 2 };
                assert_eq!(ut.status.unwrap().status, enabled);
                assert_eq!(r.status.as_ref().unwrap().status, enabled);
                assert_eq!(ut.account_type, pb::user_trait::AccountType::Human as i32);
                assert_eq!(ut.last_login.is_some(), m.last_activity_at.is_some());
                let scim_visible = !matches!(
                    m.role.as_str(),
                    "organization_external_user" | "organization_team_guest_user"
                );
                let want_name = match (&m.display_name, scim_visible) {
                    (_, false) => m.email.clone(),
                    (Some(d), true) => d.clone(),
                    (None, true) => format!("{} {}", m.given_name, m.family_name),
                };
                assert_eq!(r.display_name, want_name, "display name of {}", m.id);
            }
            "team" => {
                assert!(find::<pb::GroupTrait>(&r.annotations).is_some());
                assert_eq!(r.display_name, org.teams[&id.resource].name);
            }
            "group" => {
                assert!(find::<pb::GroupTrait>(&r.annotations).is_some());
                assert_eq!(r.display_name, org.groups[&id.resource].name);
            }
            "organization" => {
                assert_eq!(
                    (id.resource.as_str(), r.display_name.as_str()),
                    (org.id.as_str(), org.name.as_str())
                );
            }
            _ => assert!(find::<pb::RoleTrait>(&r.annotations).is_some()),
        }
    }
}

fn pages(n: usize) -> u64 {
    n.div_ceil(100).max(1) as u64
}

#[tokio::test]
async fn full_sync_matches_the_organization_with_minimal_requests() {
    let Harness { sim, daemon, ch } = Fixture::new().members(350).teams(9).scim().start().await;
    sim.reset_stats();
    let snap = client::full_sync(ch, &mut ()).await.unwrap();
    let org = sim.org();
    check_snapshot(&org, &snap);

    let stats = sim.stats();
    let members = pages(org.members.len());
    assert_eq!(members, 4);
    assert_eq!(
        stats.requests_to("GET /v2/orgs/{org_id}/members"),
        members,
        "ceil(N/100) member pages"
    );
    let scim_users = org
        .members
        .values()
        .filter(|m| !m.role.contains("external") && !m.role.contains("guest"))
        .count();
    assert_eq!(
        stats.requests_to("GET /Users"),
        members + (scim_users.div_ceil(1000).max(1) as u64),
        "one SCIM request per page of users, and the role listing's pages of 1,000"
    );
    assert_eq!(
        stats.requests_to("GET /v2/orgs/{org_id}/teams"),
        pages(org.teams.len())
    );
    let team_pages: u64 = org.teams.values().map(|t| pages(t.members.len())).sum();
    assert!(
        org.teams.values().any(|t| t.members.len() > 100),
        "a team spans pages"
    );
    assert_eq!(
        stats.requests_to("GET /v2/orgs/{org_id}/teams/{team_id}/members"),
        team_pages
    );
    assert_eq!(
        stats.requests_to("GET /v2/orgs/{org_id}/members/{member_id}"),
        0,
        "no request per user"
    );
    assert_eq!(
        stats.requests_to("GET /Users/{id}"),
        0,
        "no SCIM request per user"
    );
    // Per group: its member pages, then its team pages (one at least, even when empty).
    let group_pages: u64 = org
        .groups
        .values()
        .map(|g| pages(g.members.len()) + pages(g.teams.len()))
        .sum();
    assert_eq!(
        stats.requests_to("GET /v2/orgs/{org_id}/groups/{group_id}/members")
            + stats.requests_to("GET /v2/orgs/{org_id}/groups/{group_id}/teams"),
        group_pages
    );
    assert!(
        org.members
            .values()
            .flat_map(|m| &m.admin_roles)
            .any(|r| r.kind == "custom"),
        "the org holds a custom admin role"
    );
    // Content access is off by default: the org's boards and Spaces cost nothing, and the total
    // below is exactly what it was before they existed.
    assert!(!org.boards.is_empty() && !org.projects.is_empty());
    assert!(
        stats
            .endpoints
            .keys()
            .all(|e| !e.contains("boards") && !e.contains("projects")),
        "{:?}",
        stats.endpoints.keys()
    );
    // Validate: token info, the organization, SCIM's config; and the SCIM pages of users (1,000
    // a page) the custom admin roles are listed from.
    assert_eq!(
        stats.requests,
        3 + 2 * members
            + (scim_users.div_ceil(1000).max(1) as u64)
            + pages(org.teams.len())
            + team_pages
            + pages(org.groups.len())
            + group_pages
    );
    assert_eq!(stats.rate_limited, 0);
    daemon.shutdown().await;
}

#[tokio::test]
async fn last_page_with_an_empty_cursor_and_without_scim() {
    let mut cfg = SimConfig::new(org(205, 3));
    cfg.last_cursor = LastCursor::Empty;
    let sim = start_sim(cfg).await;
    let (daemon, ch) = start_daemon(&settings(&sim, false, false)).await;
    wait_ready(&ch).await;
    sim.reset_stats();
    let snap = client::full_sync(ch, &mut ()).await.unwrap();
    let org = sim.org();
    // Without SCIM, every display name is the email.
    for r in snap
        .resources
        .iter()
        .filter(|r| r.id.as_ref().unwrap().resource_type == "user")
    {
        assert_eq!(
            r.display_name,
            org.members[&r.id.as_ref().unwrap().resource].email
        );
    }
    assert_eq!(
        ids(snap.grants.iter().map(|g| g.id.as_str())),
        expected_grants(&org)
    );
    let stats = sim.stats();
    assert_eq!(stats.requests_to("GET /v2/orgs/{org_id}/members"), 3);
    assert_eq!(stats.requests_to("GET /Users"), 0);
    daemon.shutdown().await;
}

#[tokio::test]
async fn a_team_role_the_model_does_not_know_is_skipped_not_fatal() {
    let mut org = org(120, 2);
    let team = org.teams.values_mut().next().unwrap();
    let (odd_user, m) = team.members.iter_mut().nth(3).unwrap();
    m.role = "owner".into();
    let (odd_user, team_id) = (odd_user.clone(), team.id.clone());
    let sim = start_sim(SimConfig::new(org)).await;
    let (daemon, ch) = start_daemon(&settings(&sim, false, true)).await;
    wait_ready(&ch).await;
    let snap = client::full_sync(ch, &mut ()).await.unwrap();
    let in_team: Vec<&str> = snap
        .grants
        .iter()
        .map(|g| g.id.as_str())
        .filter(|g| g.starts_with(&format!("team:{team_id}:")) && g.contains(":user:"))
        .collect();
    assert_eq!(in_team.len(), sim.org().teams[&team_id].members.len() - 1);
    assert!(
        !in_team
            .iter()
            .any(|g| g.ends_with(&format!(":user:{odd_user}")))
    );
    daemon.shutdown().await;
}

#[tokio::test]
async fn pages_report_the_time_spent_waiting_on_miro_rate_limits() {
    use miro_connector::pb::resources_service_client::ResourcesServiceClient;
    let mut cfg = SimConfig::new(org(300, 1));
    cfg.rest_budget = Some(1200);
    cfg.rest_window = std::time::Duration::from_secs(2);
    let sim = start_sim(cfg).await;
    let (daemon, ch) = start_daemon(&settings(&sim, false, false)).await;
    wait_ready(&ch).await;
    let mut rc = ResourcesServiceClient::new(ch);
    let (mut token, mut waited, mut pages) = (String::new(), 0, 0);
    loop {
        let r = rc
            .list_resources(pb::ResourcesServiceListResourcesRequest {
                resource_type_id: "user".into(),
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        waited += find::<pb::RateLimitWaitReport>(&r.annotations).map_or(0, |w| w.wait_ms);
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    assert_eq!(pages, 3);
    assert!(
        waited > 0,
        "three pages of 500 credits do not fit in 1,200 credits without waiting"
    );
    assert_eq!(sim.stats().rate_limited, 0);
    daemon.shutdown().await;
}
