//! What the spec says of each endpoint: its rate-limit level in credits, the scopes it requires,
//! whether it is Enterprise only; and Miro's SCIM limits. The gate in `limits` applies them.

/// Cost in credits of one REST request, by the rate-limit level the spec gives each operation.
pub(super) fn rest_credits(endpoint: &str) -> u64 {
    const L1: u64 = 50;
    const L2: u64 = 100;
    const L3: u64 = 500;
    const L4: u64 = 2000;
    match endpoint {
        "GET /v2/orgs/{org_id}"
        | "GET /v2/orgs/{org_id}/members"
        | "GET /v2/orgs/{org_id}/members/{member_id}" => L3,
        "GET /v2/orgs/{org_id}/teams/{team_id}/members"
        | "POST /v2/orgs/{org_id}/teams/{team_id}/members"
        | "PATCH /v2/orgs/{org_id}/teams/{team_id}/members/{member_id}" => L2,
        "DELETE /v2/orgs/{org_id}/groups/{group_id}"
        | "DELETE /v2/orgs/{org_id}/groups/{group_id}/members/{member_id}"
        | "DELETE /v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}/members/{member_id}" => {
            L4
        }
        "POST /v2/boards/{board_id}/members" => L3,
        "GET /v2/audit/logs" => L2,
        "GET /v2/orgs/{org_id}/data-classification-settings"
        | "GET /v2/orgs/{org_id}/teams/{team_id}/boards/{board_id}/data-classification" => L2,
        "PATCH /v2/boards/{board_id}"
        | "PATCH /v2/boards/{board_id}/members/{board_member_id}"
        | "DELETE /v2/boards/{board_id}/members/{board_member_id}" => L2,
        _ => L1,
    }
}

/// Level 1 per item: "if you want to add 10 users and remove 5, [it] will be 750 credits".
pub(super) const GROUP_MEMBERS_PATCH: &str = "PATCH /v2/orgs/{org_id}/groups/{group_id}/members";

/// Endpoints the spec marks as Enterprise only: Spaces, the user groups boards and Spaces are
/// shared with, and board classification. Miro's plan for Enterprise is `company`.
pub(super) fn enterprise_only(endpoint: &str) -> bool {
    let path = endpoint.split_once(' ').map_or(endpoint, |(_, p)| p);
    path.starts_with("/v2/orgs/{org_id}/projects/")
        || path.starts_with("/v2/orgs/{org_id}/teams/{team_id}/projects")
        || path.starts_with("/v2/orgs/{org_id}/boards/")
        || path.ends_with("data-classification-settings")
        || path.ends_with("/data-classification")
        || path == "/v2/audit/logs"
}

/// The scopes the spec requires of the user-group, board and classification endpoints (each listed under
/// "Required scope").
pub(super) fn required_scopes(endpoint: &str) -> &'static [&'static str] {
    const BR: &str = "boards:read";
    const BW: &str = "boards:write";
    const PR: &str = "projects:read";
    const PW: &str = "projects:write";
    const GR: &str = "organizations:groups:read";
    const GW: &str = "organizations:groups:write";
    const TR: &str = "organizations:teams:read";
    const TW: &str = "organizations:teams:write";
    let Some((method, path)) = endpoint.split_once(' ') else {
        return &[];
    };
    let reads = method == "GET";
    if path == "/v2/audit/logs" {
        &["auditlogs:read"]
    } else if path == "/v2/orgs/{org_id}/data-classification-settings" {
        &["organizations:read"]
    } else if path.ends_with("/boards/{board_id}/data-classification") {
        if reads { &[BR] } else { &[BW] }
    } else if path.starts_with("/v2/orgs/{org_id}/projects/") {
        if reads { &[GR, PR] } else { &[GR, PW] }
    } else if path.starts_with("/v2/orgs/{org_id}/teams/{team_id}/projects") {
        if reads { &[PR] } else { &[PW] }
    } else if path.starts_with("/v2/orgs/{org_id}/boards/") {
        if reads { &[GR, BR] } else { &[GR, BW] }
    } else if path.starts_with("/v2/boards") {
        if reads { &[BR] } else { &[BW] }
    } else if path.starts_with("/v2/orgs/{org_id}/teams/{team_id}/groups") {
        if reads { &[GR, TR] } else { &[GR, TW] }
    } else if path.starts_with("/v2/orgs/{org_id}/groups/{group_id}/teams") {
        &[GR, TR]
    } else if path.starts_with("/v2/orgs/{org_id}/groups") {
        if reads { &[GR] } else { &[GW] }
    } else {
        &[]
    }
}

/// SCIM limits are requests per endpoint per 30 s (Miro's SCIM rate-limit table).
pub(super) fn scim_limit(endpoint: &str) -> u64 {
    if endpoint.starts_with("PUT ") || endpoint.starts_with("PATCH ") {
        100
    } else if endpoint.starts_with("DELETE ") {
        20
    } else {
        200
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_spec() {
        assert_eq!(rest_credits("GET /v2/orgs/{org_id}/members"), 500);
        assert_eq!(rest_credits("GET /v2/orgs/{org_id}/teams"), 50);
        assert_eq!(
            rest_credits("GET /v2/orgs/{org_id}/teams/{team_id}/members"),
            100
        );
        assert_eq!(scim_limit("DELETE /Users/{id}"), 20);
        assert_eq!(
            rest_credits("DELETE /v2/orgs/{org_id}/groups/{group_id}/members/{member_id}"),
            2000
        );
        assert_eq!(
            rest_credits("GET /v2/orgs/{org_id}/groups/{group_id}/teams"),
            50
        );
    }

    #[test]
    fn group_endpoints_name_their_scopes() {
        assert_eq!(
            required_scopes("GET /v2/orgs/{org_id}/groups"),
            ["organizations:groups:read"]
        );
        assert_eq!(
            required_scopes("POST /v2/orgs/{org_id}/teams/{team_id}/groups"),
            ["organizations:groups:read", "organizations:teams:write"]
        );
        assert!(required_scopes("GET /v2/orgs/{org_id}/teams").is_empty());
    }
}
