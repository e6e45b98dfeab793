//! A user group's members (`/v2/orgs/{org_id}/groups/{group_id}/members…`): list, get, add,
//! remove, and the PATCH that adds and removes many at once (207, 50 credits an item).
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
        Result, bad, cursor_page, error, limit, not_found, parse_body, read, required_str, write,
    },
    groups::{after_in, conflict, group, group_mut},
    state::Org,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v2/orgs/{org_id}/groups/{group_id}/members",
            get(list_members).post(add_member).patch(patch_members),
        )
        .route(
            "/v2/orgs/{org_id}/groups/{group_id}/members/{member_id}",
            get(get_member).delete(remove_member),
        )
}

/// Most identifiers one PATCH of a group's members may carry (spec: "up to 500 users at a time").
pub(super) const MAX_PATCH_ITEMS: usize = 500;

fn member_json(org: &Org, id: &str) -> Value {
    let email = org.members.get(id).map_or("", |m| m.email.as_str());
    json!({"id": id, "email": email, "type": "user-group-member"})
}

async fn list_members(
    State(s): State<AppState>,
    Path((org_id, group_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>> {
    let org = read(&s);
    let g = group(&org, &org_id, &group_id)?;
    let limit = limit(&q)?;
    let items = after_in(&g.members, q.get("cursor")).map(|id| (id, ()));
    Ok(Json(cursor_page(&s, items, limit, |id, ()| {
        member_json(&org, id)
    })))
}

async fn get_member(
    State(s): State<AppState>,
    Path((org_id, group_id, member_id)): Path<(String, String, String)>,
) -> Result<Json<Value>> {
    let org = read(&s);
    let g = group(&org, &org_id, &group_id)?;
    if !g.members.contains(&member_id) {
        return Err(not_found("User group member"));
    }
    Ok(Json(member_json(&org, &member_id)))
}

/// A member of the organization by id or email, as the PATCH items and the POST body name them.
fn resolve(org: &Org, who: &str) -> Option<String> {
    if org.members.contains_key(who) {
        return Some(who.to_string());
    }
    org.member_by_email(who).map(|m| m.id.clone())
}

async fn add_member(
    State(s): State<AppState>,
    Path((org_id, group_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    let v = parse_body(&body)?;
    let email = required_str(&v, "email")?;
    let mut org = write(&s);
    group(&org, &org_id, &group_id)?;
    let uid = org
        .member_by_email(&email)
        .map(|m| m.id.clone())
        .ok_or_else(|| bad("The user must be a member of the organization"))?;
    let g = group_mut(&mut org, &org_id, &group_id)?;
    if !g.members.insert(uid.clone()) {
        return Err(conflict("User is already a member of the user group"));
    }
    Ok((StatusCode::CREATED, Json(member_json(&org, &uid))).into_response())
}

/// The identifiers of one list in a PATCH body (ids or emails).
fn identifiers(v: &Value, key: &str) -> Result<Vec<String>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(&format!("{key} must hold user ids or emails as strings")))
            })
            .collect(),
        Some(_) => Err(bad(&format!("{key} must be an array"))),
    }
}

/// How many items a PATCH body carries: Miro charges 50 credits for each.
pub(super) fn patch_items(body: &[u8]) -> usize {
    serde_json::from_slice::<Value>(body).map_or(0, |v| {
        ["membersToAdd", "membersToRemove"]
            .iter()
            .map(|k| v.get(k).and_then(Value::as_array).map_or(0, Vec::len))
            .sum()
    })
}

/// Add and remove in one request; 207 with one result per operation. An operation that names a
/// user who is not in the organization fails whole (an error result) and changes nothing; users
/// already in (or already out of) the group are not "affected".
async fn patch_members(
    State(s): State<AppState>,
    Path((org_id, group_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    let v = parse_body(&body)?;
    let add = identifiers(&v, "membersToAdd")?;
    let remove = identifiers(&v, "membersToRemove")?;
    if add.is_empty() && remove.is_empty() {
        return Err(bad(
            "membersToAdd or membersToRemove must name at least one user",
        ));
    }
    if add.len() + remove.len() > MAX_PATCH_ITEMS {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payloadTooLarge",
            "You can add or remove up to 500 users at a time",
        ));
    }
    let mut org = write(&s);
    group(&org, &org_id, &group_id)?;
    let mut results = Vec::new();
    for (operation, list, adding) in [
        ("addMembers", &add, true),
        ("removeMembers", &remove, false),
    ] {
        if list.is_empty() {
            continue;
        }
        let resolved: Vec<Option<String>> = list.iter().map(|w| resolve(&org, w)).collect();
        if let Some(i) = resolved.iter().position(Option::is_none) {
            results.push(json!({"operation": operation, "status": 400, "error": {
                "status": 400, "code": "invalidParameters", "type": "error",
                "message": format!("User '{}' is not a member of the organization", list[i]),
            }}));
            continue;
        }
        let g = group_mut(&mut org, &org_id, &group_id)?;
        let changed: Vec<String> = resolved
            .into_iter()
            .flatten()
            .filter(|id| {
                if adding {
                    g.members.insert(id.clone())
                } else {
                    g.members.remove(id)
                }
            })
            .collect();
        let affected: Vec<Value> = changed.iter().map(|id| member_json(&org, id)).collect();
        results.push(json!({"operation": operation, "status": 200, "affectedUsers": affected}));
    }
    Ok((StatusCode::MULTI_STATUS, Json(Value::Array(results))).into_response())
}

async fn remove_member(
    State(s): State<AppState>,
    Path((org_id, group_id, member_id)): Path<(String, String, String)>,
) -> Result<StatusCode> {
    let mut org = write(&s);
    let g = group_mut(&mut org, &org_id, &group_id)?;
    if g.members.remove(&member_id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found("User group member"))
    }
}
