//! User groups (`/v2/orgs/{org_id}/groups…`) and their team assignments
//! (`/v2/orgs/{org_id}/teams/{team_id}/groups…`), shaped as Miro's OpenAPI spec describes them.
use std::{
    collections::{BTreeSet, HashMap},
    ops::Bound,
};

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
        Result, bad, check_org, cursor_page, error, limit, not_found, parse_body, read,
        required_str, team, write,
    },
    state::{Group, Org},
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v2/orgs/{org_id}/groups",
            get(list_groups).post(create_group),
        )
        .route(
            "/v2/orgs/{org_id}/groups/{group_id}",
            get(get_group).patch(update_group).delete(delete_group),
        )
        .route(
            "/v2/orgs/{org_id}/groups/{group_id}/teams",
            get(list_group_teams),
        )
        .route(
            "/v2/orgs/{org_id}/groups/{group_id}/teams/{team_id}",
            get(get_group_team),
        )
        .route(
            "/v2/orgs/{org_id}/teams/{team_id}/groups",
            get(list_team_groups).post(assign_group),
        )
        .route(
            "/v2/orgs/{org_id}/teams/{team_id}/groups/{group_id}",
            get(get_team_group).delete(unassign_group),
        )
}

fn group_json(g: &Group) -> Value {
    let mut v = json!({"id": g.id, "name": g.name, "type": "user-group"});
    if let Some(d) = &g.description {
        v["description"] = json!(d);
    }
    v
}

pub(super) fn group<'a>(org: &'a Org, org_id: &str, group_id: &str) -> Result<&'a Group> {
    check_org(org, org_id)?;
    org.groups
        .get(group_id)
        .ok_or_else(|| not_found("User group"))
}

pub(super) fn group_mut<'a>(
    org: &'a mut Org,
    org_id: &str,
    group_id: &str,
) -> Result<&'a mut Group> {
    check_org(org, org_id)?;
    org.groups
        .get_mut(group_id)
        .ok_or_else(|| not_found("User group"))
}

pub(super) fn conflict(message: &str) -> (StatusCode, Json<Value>) {
    error(StatusCode::CONFLICT, "conflict", message)
}

/// Ids after the cursor, in order, from a set (the cursor is the last id returned).
pub(super) fn after_in<'a>(
    set: &'a BTreeSet<String>,
    cursor: Option<&String>,
) -> impl Iterator<Item = &'a String> {
    match cursor.filter(|c| !c.is_empty()) {
        Some(c) => set.range::<String, _>((Bound::Excluded(c), Bound::Unbounded)),
        None => set.range::<String, _>(..),
    }
}

/// A text field within the spec's length bounds.
fn text_field(v: &Value, key: &str, min: usize, max: usize) -> Result<Option<String>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(t)) if (min..=max).contains(&t.chars().count()) => Ok(Some(t.clone())),
        Some(_) => Err(bad(&format!(
            "{key} must be a string of {min} to {max} characters"
        ))),
    }
}

fn name_taken(org: &Org, name: &str, except: Option<&str>) -> bool {
    org.groups
        .values()
        .any(|g| Some(g.id.as_str()) != except && g.name.eq_ignore_ascii_case(name))
}

async fn list_groups(
    State(s): State<AppState>,
    Path(org_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>> {
    let org = read(&s);
    check_org(&org, &org_id)?;
    let limit = limit(&q)?;
    let items = super::answer::after(&org.groups, q.get("cursor"));
    Ok(Json(cursor_page(&s, items, limit, |_, g| group_json(g))))
}

async fn create_group(
    State(s): State<AppState>,
    Path(org_id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let v = parse_body(&body)?;
    let name = text_field(&v, "name", 1, 60)?.ok_or_else(|| bad("name is required"))?;
    let description = text_field(&v, "description", 0, 300)?;
    let mut org = write(&s);
    check_org(&org, &org_id)?;
    if name_taken(&org, &name, None) {
        return Err(conflict("A user group with this name already exists"));
    }
    let id = org.next_id();
    let g = Group {
        id: id.clone(),
        name,
        description,
        members: BTreeSet::new(),
        teams: BTreeSet::new(),
    };
    let body = group_json(&g);
    org.groups.insert(id, g);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn get_group(
    State(s): State<AppState>,
    Path((org_id, group_id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let org = read(&s);
    Ok(Json(group_json(group(&org, &org_id, &group_id)?)))
}

async fn update_group(
    State(s): State<AppState>,
    Path((org_id, group_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>> {
    let v = parse_body(&body)?;
    let name = text_field(&v, "name", 1, 60)?;
    let description = text_field(&v, "description", 0, 300)?;
    let mut org = write(&s);
    group(&org, &org_id, &group_id)?;
    if name
        .as_deref()
        .is_some_and(|n| name_taken(&org, n, Some(&group_id)))
    {
        return Err(conflict("A user group with this name already exists"));
    }
    let g = group_mut(&mut org, &org_id, &group_id)?;
    if let Some(n) = name {
        g.name = n;
    }
    if let Some(d) = description {
        g.description = Some(d);
    }
    Ok(Json(group_json(g)))
}

/// Removes the group and its memberships and team assignments; the users stay.
async fn delete_group(
    State(s): State<AppState>,
    Path((org_id, group_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    let mut org = write(&s);
    group(&org, &org_id, &group_id)?;
    org.groups.remove(&group_id);
    Ok(StatusCode::NO_CONTENT)
}

async fn list_group_teams(
    State(s): State<AppState>,
    Path((org_id, group_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>> {
    let org = read(&s);
    let g = group(&org, &org_id, &group_id)?;
    let limit = limit(&q)?;
    let items = after_in(&g.teams, q.get("cursor")).map(|id| (id, ()));
    Ok(Json(cursor_page(
        &s,
        items,
        limit,
        |id, ()| json!({"id": id, "role": "member", "type": "user-group-team"}),
    )))
}

async fn get_group_team(
    State(s): State<AppState>,
    Path((org_id, group_id, team_id)): Path<(String, String, String)>,
) -> Result<Json<Value>> {
    let org = read(&s);
    let g = group(&org, &org_id, &group_id)?;
    if !g.teams.contains(&team_id) {
        return Err(not_found("Team of the user group"));
    }
    Ok(Json(
        json!({"id": team_id, "role": "member", "type": "user-group-team"}),
    ))
}

fn team_group_json(group_id: &str) -> Value {
    json!({"id": group_id, "role": "member", "type": "team-user-group"})
}

async fn list_team_groups(
    State(s): State<AppState>,
    Path((org_id, team_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>> {
    let org = read(&s);
    team(&org, &org_id, &team_id)?;
    let limit = limit(&q)?;
    let items = org
        .groups
        .iter()
        .filter(|(_, g)| g.teams.contains(&team_id));
    let items = items.filter(|(id, _)| {
        q.get("cursor")
            .filter(|c| !c.is_empty())
            .is_none_or(|c| id.as_str() > c.as_str())
    });
    Ok(Json(cursor_page(&s, items, limit, |id, _| {
        team_group_json(id)
    })))
}

async fn get_team_group(
    State(s): State<AppState>,
    Path((org_id, team_id, group_id)): Path<(String, String, String)>,
) -> Result<Json<Value>> {
    let org = read(&s);
    team(&org, &org_id, &team_id)?;
    match org.groups.get(&group_id) {
        Some(g) if g.teams.contains(&team_id) => Ok(Json(team_group_json(&group_id))),
        _ => Err(not_found("User group of the team")),
    }
}

async fn assign_group(
    State(s): State<AppState>,
    Path((org_id, team_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    let v = parse_body(&body)?;
    let group_id = required_str(&v, "userGroupId")?;
    match v.get("role").and_then(Value::as_str) {
        Some("member") => {}
        _ => return Err(bad("role is required and must be 'member'")),
    }
    let mut org = write(&s);
    team(&org, &org_id, &team_id)?;
    let g = org
        .groups
        .get_mut(&group_id)
        .ok_or_else(|| bad("userGroupId does not name a user group of the organization"))?;
    if !g.teams.insert(team_id) {
        return Err(conflict("The user group is already part of the team"));
    }
    Ok((StatusCode::CREATED, Json(team_group_json(&group_id))).into_response())
}

async fn unassign_group(
    State(s): State<AppState>,
    Path((org_id, team_id, group_id)): Path<(String, String, String)>,
) -> Result<StatusCode> {
    let mut org = write(&s);
    team(&org, &org_id, &team_id)?;
    let removed = org
        .groups
        .get_mut(&group_id)
        .is_some_and(|g| g.teams.remove(&team_id));
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found("User group of the team"))
    }
}
