//! What every REST handler of the simulator answers with: Miro's error body, the organization
//! under its lock, checked paths, `limit`, cursor pages and request bodies. A leaf: the handlers
//! (`rest`, `groups`, `group_members`) use it, and it uses none of them.
use std::{collections::HashMap, ops::Bound};

use axum::{Json, body::Bytes, http::StatusCode};
use serde_json::{Value, json};

use super::{
    AppState, LastCursor,
    state::{Org, Team},
};

pub(super) type Result<T> = std::result::Result<T, (StatusCode, Json<Value>)>;

/// Miro's REST error body.
pub(super) fn error(status: StatusCode, code: &str, message: &str) -> (StatusCode, Json<Value>) {
    (
        status,
        Json(json!({"status": status.as_u16(), "code": code, "message": message, "type": "error"})),
    )
}

pub(super) fn bad(message: &str) -> (StatusCode, Json<Value>) {
    error(StatusCode::BAD_REQUEST, "invalidParameters", message)
}

pub(super) fn not_found(what: &str) -> (StatusCode, Json<Value>) {
    error(
        StatusCode::NOT_FOUND,
        "notFound",
        &format!("{what} not found"),
    )
}

pub(super) fn read(s: &AppState) -> std::sync::RwLockReadGuard<'_, Org> {
    s.org.read().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn write(s: &AppState) -> std::sync::RwLockWriteGuard<'_, Org> {
    s.org.write().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn check_org(org: &Org, org_id: &str) -> Result<()> {
    if org.id == org_id {
        Ok(())
    } else {
        Err(not_found("Organization"))
    }
}

pub(super) fn limit(q: &HashMap<String, String>) -> Result<usize> {
    match q.get("limit") {
        None => Ok(100),
        Some(l) => match l.parse::<usize>() {
            Ok(n @ 1..=100) => Ok(n),
            _ => Err(bad("limit must be an integer between 1 and 100")),
        },
    }
}

/// One page of a cursor list over ids in order; the cursor is the last id returned (exclusive).
pub(super) fn cursor_page<'a, T: 'a>(
    s: &AppState,
    items: impl Iterator<Item = (&'a String, T)>,
    limit: usize,
    to_json: impl Fn(&String, T) -> Value,
) -> Value {
    let mut data = Vec::with_capacity(limit);
    let mut more = false;
    for (id, item) in items {
        if data.len() == limit {
            more = true;
            break;
        }
        data.push((id, to_json(id, item)));
    }
    let next = if more {
        data.last().map(|(id, _)| (*id).clone())
    } else {
        None
    };
    let mut page = json!({"limit": limit, "size": data.len(), "type": "cursor-list",
        "data": data.into_iter().map(|(_, v)| v).collect::<Vec<_>>()});
    match (next, s.cfg.last_cursor) {
        (Some(c), _) => page["cursor"] = json!(c),
        (None, LastCursor::Empty) => page["cursor"] = json!(""),
        (None, LastCursor::Omit) => {}
    }
    page
}

pub(super) fn after<'a, V>(
    map: &'a std::collections::BTreeMap<String, V>,
    cursor: Option<&String>,
) -> std::collections::btree_map::Range<'a, String, V> {
    match cursor.filter(|c| !c.is_empty()) {
        Some(c) => map.range::<String, _>((Bound::Excluded(c), Bound::Unbounded)),
        None => map.range::<String, _>(..),
    }
}

pub(super) fn team<'a>(org: &'a Org, org_id: &str, team_id: &str) -> Result<&'a Team> {
    check_org(org, org_id)?;
    org.teams.get(team_id).ok_or_else(|| not_found("Team"))
}

pub(super) fn parse_body(body: &Bytes) -> Result<Value> {
    serde_json::from_slice(body).map_err(|e| bad(&format!("Request body is not valid JSON: {e}")))
}

/// A string the body must carry.
pub(super) fn required_str(v: &Value, key: &str) -> Result<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| bad(&format!("{key} is required")))
}

/// The body that shares a board or a Space with user groups: `{userGroupIds*, role*}`, every id an
/// existing group; the role and the ids.
pub(super) fn group_share(body: &Bytes, org: &Org) -> Result<(String, Vec<String>)> {
    let v = parse_body(body)?;
    let role = match v.get("role").and_then(Value::as_str) {
        Some(r @ ("VIEWER" | "COMMENTER" | "EDITOR")) => r.to_string(),
        _ => return Err(bad("role must be VIEWER, COMMENTER or EDITOR")),
    };
    let ids: Vec<String> = v
        .get("userGroupIds")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .filter(|ids: &Vec<String>| !ids.is_empty())
        .ok_or_else(|| bad("userGroupIds must name at least one user group"))?;
    if let Some(missing) = ids.iter().find(|g| !org.groups.contains_key(*g)) {
        return Err(bad(&format!("User group {missing} does not exist")));
    }
    Ok((role, ids))
}
