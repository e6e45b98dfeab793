//! REST v2 endpoints (and v1 token info), shaped as Miro's OpenAPI spec describes them.
use std::collections::HashMap;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

use super::{
    AppState,
    answer::{
        Result, after, bad, check_org, cursor_page, error, limit, not_found, parse_body, read,
        required_str, team, write,
    },
    state::{LICENSES, Member, ORG_ROLES, TEAM_ROLES, Team, TeamMembership, now_rfc3339},
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/oauth-token", get(token_info))
        .route("/v2/orgs/{org_id}", get(get_org))
        .route("/v2/orgs/{org_id}/members", get(list_members))
        .route("/v2/orgs/{org_id}/members/{member_id}", get(get_member))
        .route("/v2/orgs/{org_id}/teams", get(list_teams))
        .route("/v2/orgs/{org_id}/teams/{team_id}", get(get_team))
        .route(
            "/v2/orgs/{org_id}/teams/{team_id}/members",
            get(list_team_members).post(invite),
        )
        .route(
            "/v2/orgs/{org_id}/teams/{team_id}/members/{member_id}",
            get(get_team_member)
                .patch(update_team_member)
                .delete(remove_team_member),
        )
}

async fn token_info(State(s): State<AppState>) -> Json<Value> {
    let org = read(&s);
    let admin = org.members.get(&org.admin_user_id);
    let user = json!({"type": "user", "id": org.admin_user_id, "name": admin.map_or("", |m| m.email.as_str())});
    let team = org.teams.values().next().map_or(
        json!({"type": "team", "id": "0", "name": ""}),
        |t| json!({"type": "team", "id": t.id, "name": t.name}),
    );
    Json(json!({
        "type": "oauth-token",
        "organization": {"type": "organization", "id": org.id, "name": org.name},
        "team": team,
        "createdBy": user,
        "user": user,
        "scopes": s.cfg.scopes,
    }))
}

async fn get_org(State(s): State<AppState>, Path(org_id): Path<String>) -> Result<Json<Value>> {
    let org = read(&s);
    check_org(&org, &org_id)?;
    Ok(Json(json!({
        "id": org.id, "name": org.name, "plan": org.plan,
        "fullLicensesPurchased": org.full_licenses_purchased, "type": "organization",
    })))
}

pub(super) fn member_json(m: &Member) -> Value {
    let mut v = json!({
        "id": m.id, "email": m.email, "role": m.role, "license": m.license, "active": m.active,
        "adminRoles": m.admin_roles, "type": "organization-member",
    });
    if let Some(t) = &m.last_activity_at {
        v["lastActivityAt"] = json!(t);
    }
    if let Some(t) = &m.license_assigned_at {
        v["licenseAssignedAt"] = json!(t);
    }
    v
}

fn team_json(t: &Team) -> Value {
    json!({"id": t.id, "name": t.name, "type": "team"})
}

fn team_member_json(team_id: &str, user_id: &str, m: &TeamMembership) -> Value {
    json!({
        "id": user_id, "role": m.role, "teamId": team_id, "createdAt": m.created_at, "createdBy": m.created_by,
        "modifiedAt": m.modified_at, "modifiedBy": m.modified_by, "type": "team-member",
    })
}

fn one_of<'a>(
    q: &'a HashMap<String, String>,
    key: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>> {
    match q.get(key) {
        Some(v) if !allowed.contains(&v.as_str()) => {
            Err(bad(&format!("{key} has an invalid value '{v}'")))
        }
        v => Ok(v.map(String::as_str)),
    }
}

async fn list_members(
    State(s): State<AppState>,
    Path(org_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>> {
    let org = read(&s);
    check_org(&org, &org_id)?;
    if let Some(emails) = q.get("emails") {
        let wanted: Vec<&str> = emails
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        if wanted.len() > 10 {
            return Err(bad("emails accepts at most 10 addresses"));
        }
        // With `emails`, every other filter is ignored and the answer is a bare array.
        let found: Vec<Value> = org
            .members
            .values()
            .filter(|m| wanted.iter().any(|w| w.eq_ignore_ascii_case(&m.email)))
            .map(member_json)
            .collect();
        return Ok(Json(Value::Array(found)));
    }
    let limit = limit(&q)?;
    let role = one_of(&q, "role", ORG_ROLES)?;
    let license = one_of(&q, "license", LICENSES)?;
    let active = match q.get("active").map(String::as_str) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(v) => return Err(bad(&format!("active must be true or false, not '{v}'"))),
    };
    let items = after(&org.members, q.get("cursor")).filter(|(_, m)| {
        role.is_none_or(|r| m.role == r)
            && license.is_none_or(|l| m.license == l)
            && active.is_none_or(|a| m.active == a)
    });
    Ok(Json(cursor_page(&s, items, limit, |_, m| member_json(m))))
}

async fn get_member(
    State(s): State<AppState>,
    Path((org_id, member_id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let org = read(&s);
    check_org(&org, &org_id)?;
    org.members
        .get(&member_id)
        .map(|m| Json(member_json(m)))
        .ok_or_else(|| not_found("Organization member"))
}

async fn list_teams(
    State(s): State<AppState>,
    Path(org_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>> {
    let org = read(&s);
    check_org(&org, &org_id)?;
    let limit = limit(&q)?;
    let name = q.get("name").map(|n| n.to_lowercase());
    let items = after(&org.teams, q.get("cursor")).filter(|(_, t)| {
        name.as_ref()
            .is_none_or(|n| t.name.to_lowercase().contains(n.as_str()))
    });
    Ok(Json(cursor_page(&s, items, limit, |_, t| team_json(t))))
}

async fn get_team(
    State(s): State<AppState>,
    Path((org_id, team_id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let org = read(&s);
    Ok(Json(team_json(team(&org, &org_id, &team_id)?)))
}

async fn list_team_members(
    State(s): State<AppState>,
    Path((org_id, team_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>> {
    let org = read(&s);
    let t = team(&org, &org_id, &team_id)?;
    let limit = limit(&q)?;
    let role = one_of(&q, "role", TEAM_ROLES)?;
    let items =
        after(&t.members, q.get("cursor")).filter(|(_, m)| role.is_none_or(|r| m.role == r));
    Ok(Json(cursor_page(&s, items, limit, |id, m| {
        team_member_json(&team_id, id, m)
    })))
}

async fn get_team_member(
    State(s): State<AppState>,
    Path((org_id, team_id, member_id)): Path<(String, String, String)>,
) -> Result<Json<Value>> {
    let org = read(&s);
    let t = team(&org, &org_id, &team_id)?;
    let m = t
        .members
        .get(&member_id)
        .ok_or_else(|| not_found("Team member"))?;
    Ok(Json(team_member_json(&team_id, &member_id, m)))
}

/// Only `member` and `admin` can be written.
fn writable_role(v: &Value) -> Result<Option<String>> {
    match v.get("role") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(r)) if r == "member" || r == "admin" => Ok(Some(r.clone())),
        Some(r) => Err(bad(&format!("role must be 'member' or 'admin', not {r}"))),
    }
}

async fn invite(
    State(s): State<AppState>,
    Path((org_id, team_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    let v = parse_body(&body)?;
    let email = required_str(&v, "email")?;
    let role = writable_role(&v)?.unwrap_or_else(|| "member".into());
    let mut org = write(&s);
    team(&org, &org_id, &team_id)?;
    let user = org.member_by_email(&email).ok_or_else(|| {
        bad("The user must exist in your Miro organization; invite new users through SCIM")
    })?;
    if !user.active {
        return Err(bad("Deactivated users cannot be added to teams"));
    }
    let (uid, by) = (user.id.clone(), org.admin_user_id.clone());
    let t = org
        .teams
        .get_mut(&team_id)
        .ok_or_else(|| not_found("Team"))?;
    if t.members.contains_key(&uid) {
        return Err(error(
            StatusCode::CONFLICT,
            "conflict",
            "User is already a member of the team",
        ));
    }
    let now = now_rfc3339();
    let m = TeamMembership {
        role,
        created_at: now.clone(),
        created_by: by.clone(),
        modified_at: now,
        modified_by: by,
    };
    let body = team_member_json(&team_id, &uid, &m);
    t.members.insert(uid, m);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn update_team_member(
    State(s): State<AppState>,
    Path((org_id, team_id, member_id)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Json<Value>> {
    let v = parse_body(&body)?;
    let role = writable_role(&v)?.ok_or_else(|| bad("role is required"))?;
    let mut org = write(&s);
    team(&org, &org_id, &team_id)?;
    let by = org.admin_user_id.clone();
    let t = org
        .teams
        .get_mut(&team_id)
        .ok_or_else(|| not_found("Team"))?;
    let m = t
        .members
        .get_mut(&member_id)
        .ok_or_else(|| not_found("Team member"))?;
    m.role = role;
    m.modified_at = now_rfc3339();
    m.modified_by = by;
    Ok(Json(team_member_json(&team_id, &member_id, m)))
}

async fn remove_team_member(
    State(s): State<AppState>,
    Path((org_id, team_id, member_id)): Path<(String, String, String)>,
) -> Result<StatusCode> {
    let mut org = write(&s);
    team(&org, &org_id, &team_id)?;
    let t = org
        .teams
        .get_mut(&team_id)
        .ok_or_else(|| not_found("Team"))?;
    t.members
        .remove(&member_id)
        .ok_or_else(|| not_found("Team member"))?;
    Ok(StatusCode::NO_CONTENT)
}
