//! The cost model the sync benchmark holds the connector to: credits per request by the spec's
//! levels, and the fewest requests any connector needs for an organization.
use std::collections::BTreeMap;

use miro_connector::sim::{self, Org};

/// Credits per request, by the level Miro's spec gives each endpoint.
pub fn credits(endpoint: &str) -> u64 {
    match endpoint {
        "GET /v2/orgs/{org_id}"
        | "GET /v2/orgs/{org_id}/members"
        | "GET /v2/orgs/{org_id}/members/{member_id}" => 500,
        "GET /v2/orgs/{org_id}/teams/{team_id}/members" => 100,
        e if e.starts_with("GET /v") => 50,
        _ => 0,
    }
}

/// The fewest requests any connector needs for this organization: every list at 100 a page, plus
/// Validate's token info, organization and SCIM check, and the SCIM pages of 1,000 users that the
/// custom admin roles are listed from (Miro has no listing of admin roles).
pub fn minimum(org: &Org) -> BTreeMap<&'static str, u64> {
    let pages = |n: usize| n.div_ceil(100).max(1) as u64;
    let members: Vec<&sim::state::Member> = org.members.values().collect();
    let scim_pages = members
        .chunks(100)
        .filter(|c| c.iter().any(|m| m.is_scim_visible()))
        .count() as u64;
    let role_pages = members
        .iter()
        .filter(|m| m.is_scim_visible())
        .count()
        .div_ceil(1000)
        .max(1) as u64;
    BTreeMap::from([
        ("GET /v1/oauth-token", 1),
        ("GET /v2/orgs/{org_id}", 1),
        ("GET /ServiceProviderConfig", 1),
        ("GET /v2/orgs/{org_id}/members", pages(org.members.len())),
        ("GET /Users", scim_pages + role_pages),
        ("GET /v2/orgs/{org_id}/teams", pages(org.teams.len())),
        (
            "GET /v2/orgs/{org_id}/teams/{team_id}/members",
            org.teams.values().map(|t| pages(t.members.len())).sum(),
        ),
        ("GET /v2/orgs/{org_id}/groups", pages(org.groups.len())),
        (
            "GET /v2/orgs/{org_id}/groups/{group_id}/members",
            org.groups.values().map(|g| pages(g.members.len())).sum(),
        ),
        (
            "GET /v2/orgs/{org_id}/groups/{group_id}/teams",
            org.groups.values().map(|g| pages(g.teams.len())).sum(),
        ),
    ])
}

/// The user-group part of a figure: endpoints under `/groups`.
pub fn is_group_endpoint(e: &str) -> bool {
    e.contains("/groups")
}
