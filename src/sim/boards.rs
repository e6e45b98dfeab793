//! Boards (`/v2/boards…`), their members, and the user groups shared with them
//! (`/v2/orgs/{org_id}/boards/{board_id}/groups…`, not `/v2/boards/{id}/groups`, which is about
//! groups of items), shaped as Miro's OpenAPI spec describes them. Boards and their members page
//! by offset (at most 50, `limit` a string in the spec); group shares by cursor (at most 100).
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
        Result, after, bad, check_org, cursor_page, group_share, limit, not_found, parse_body,
        read, write,
    },
    state::{ACCESS_LEVELS, BOARD_ROLES, Board, Org},
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/boards", get(list_boards))
        .route("/v2/boards/{board_id}", get(get_board).patch(update_board))
        .route(
            "/v2/boards/{board_id}/members",
            get(list_members).post(share),
        )
        .route(
            "/v2/boards/{board_id}/members/{board_member_id}",
            get(get_member).patch(update_member).delete(remove_member),
        )
        .route(
            "/v2/orgs/{org_id}/boards/{board_id}/groups",
            get(list_groups).post(share_with_groups),
        )
        .route(
            "/v2/orgs/{org_id}/boards/{board_id}/groups/{group_id}",
            axum::routing::delete(unshare_group),
        )
}

/// `limit` (1 to 50, default 20; a string in the spec) and `offset` (default 0).
fn offset_window(q: &HashMap<String, String>) -> Result<(usize, usize)> {
    let limit = match q.get("limit") {
        None => 20,
        Some(l) => match l.parse::<usize>() {
            Ok(n @ 1..=50) => n,
            _ => return Err(bad("limit must be a number between 1 and 50")),
        },
    };
    let offset = match q.get("offset") {
        None => 0,
        Some(o) => o
            .parse::<usize>()
            .map_err(|_| bad("offset must be a non-negative number"))?,
    };
    Ok((limit, offset))
}

/// One offset page, with the spec's `links` (relative to the API's root). Only the window is
/// rendered, so a team with thousands of boards costs a page's worth of JSON, not the team's.
fn offset_page<T>(
    path: &str,
    all: &[T],
    limit: usize,
    offset: usize,
    render: impl Fn(&T) -> Value,
) -> Value {
    let total = all.len();
    let data: Vec<Value> = all.iter().skip(offset).take(limit).map(render).collect();
    let link = |o: usize| {
        format!(
            "{path}{}limit={limit}&offset={o}",
            if path.contains('?') { "&" } else { "?" }
        )
    };
    let mut links = json!({"self": link(offset), "first": link(0)});
    if total > 0 {
        links["last"] = json!(link((total - 1) / limit * limit));
    }
    if offset + data.len() < total {
        links["next"] = json!(link(offset + limit));
    }
    if offset > 0 {
        links["prev"] = json!(link(offset.saturating_sub(limit)));
    }
    json!({"data": data, "total": total, "size": data.len(), "offset": offset, "limit": limit,
        "links": links, "type": "list"})
}

fn user_short(org: &Org, id: &str) -> Value {
    json!({"id": id, "name": member_name(org, id), "type": "user"})
}

fn member_name(org: &Org, id: &str) -> String {
    org.members.get(id).map_or_else(String::new, |m| {
        m.display_name
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| {
                format!("{} {}", m.given_name, m.family_name)
                    .trim()
                    .to_string()
            })
    })
}

pub(super) fn board_json(org: &Org, b: &Board) -> Value {
    let team = org.teams.get(&b.team_id).map_or("", |t| t.name.as_str());
    let mut v = json!({
        "id": b.id, "type": "board", "name": b.name, "description": b.description,
        "team": {"id": b.team_id, "name": team, "type": "team"},
        "owner": user_short(org, &b.owner_id),
        "createdAt": b.created_at, "createdBy": user_short(org, &b.owner_id),
        "modifiedAt": b.modified_at, "modifiedBy": user_short(org, &b.owner_id),
        "viewLink": format!("https://miro.com/app/board/{}", b.id),
        "policy": {"sharingPolicy": {
            "access": b.sharing.access, "accessPasswordRequired": b.sharing.access_password_required,
            "teamAccess": b.sharing.team_access, "organizationAccess": b.sharing.organization_access,
            "inviteToAccountAndBoardLinkAccess": "no_access",
        }},
    });
    if let Some(p) = &b.project_id {
        v["project"] = json!({"id": p});
    }
    if let Some(t) = &b.last_opened_at {
        v["lastOpenedAt"] = json!(t);
    }
    v
}

fn board<'a>(org: &'a Org, board_id: &str) -> Result<&'a Board> {
    org.boards.get(board_id).ok_or_else(|| not_found("Board"))
}

fn board_mut<'a>(org: &'a mut Org, board_id: &str) -> Result<&'a mut Board> {
    org.boards
        .get_mut(board_id)
        .ok_or_else(|| not_found("Board"))
}

async fn list_boards(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>> {
    let (limit, offset) = offset_window(&q)?;
    let org = read(&s);
    let team = q.get("team_id").filter(|t| !t.is_empty());
    if let Some(t) = team
        && !org.teams.contains_key(t)
    {
        return Err(not_found("Team"));
    }
    let project = q.get("project_id").filter(|p| !p.is_empty());
    let owner = q.get("owner").filter(|o| !o.is_empty());
    let all: Vec<&Board> = org
        .boards
        .values()
        .filter(|b| team.is_none_or(|t| &b.team_id == t))
        .filter(|b| project.is_none_or(|p| b.project_id.as_ref() == Some(p)))
        .filter(|b| owner.is_none_or(|o| &b.owner_id == o))
        .collect();
    let path = match team {
        Some(t) => format!("/v2/boards?team_id={t}"),
        None => "/v2/boards".into(),
    };
    Ok(Json(offset_page(&path, &all, limit, offset, |b| {
        board_json(&org, b)
    })))
}

async fn get_board(State(s): State<AppState>, Path(board_id): Path<String>) -> Result<Json<Value>> {
    let org = read(&s);
    Ok(Json(board_json(&org, board(&org, &board_id)?)))
}

/// A change of the sharing policy is applied asynchronously in Miro: 202, and no body. Other
/// changes answer the board.
async fn update_board(
    State(s): State<AppState>,
    Path(board_id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let v = parse_body(&body)?;
    let mut org = write(&s);
    let b = board_mut(&mut org, &board_id)?;
    let sharing = v.pointer("/policy/sharingPolicy");
    if let Some(p) = sharing {
        for (key, slot) in [
            ("access", &mut b.sharing.access),
            ("teamAccess", &mut b.sharing.team_access),
            ("organizationAccess", &mut b.sharing.organization_access),
        ] {
            match p.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::String(l)) if ACCESS_LEVELS.contains(&l.as_str()) => *slot = l.clone(),
                Some(other) => return Err(bad(&format!("{key} has an invalid value {other}"))),
            }
        }
        if b.sharing.access == "private" {
            b.sharing.access_password_required = false;
        }
    }
    if let Some(name) = v.get("name").and_then(Value::as_str) {
        if name.is_empty() || name.chars().count() > 60 {
            return Err(bad("name must hold 1 to 60 characters"));
        }
        b.name = name.into();
    }
    if let Some(d) = v.get("description").and_then(Value::as_str) {
        b.description = d.into();
    }
    if sharing.is_some() {
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let b = board(&org, &board_id)?;
    Ok(Json(board_json(&org, b)).into_response())
}

fn member_json(org: &Org, board_id: &str, id: &str, role: &str, links: bool) -> Value {
    let mut v =
        json!({"id": id, "name": member_name(org, id), "role": role, "type": "board_member"});
    if links {
        v["links"] = json!({"self": format!("/v2/boards/{board_id}/members/{id}")});
    }
    v
}

async fn list_members(
    State(s): State<AppState>,
    Path(board_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>> {
    let (limit, offset) = offset_window(&q)?;
    let org = read(&s);
    let b = board(&org, &board_id)?;
    let all: Vec<(&String, &String)> = b.members.iter().collect();
    let path = format!("/v2/boards/{board_id}/members");
    Ok(Json(offset_page(
        &path,
        &all,
        limit,
        offset,
        |(id, role)| member_json(&org, &board_id, id, role, false),
    )))
}

async fn get_member(
    State(s): State<AppState>,
    Path((board_id, member_id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let org = read(&s);
    let role = board(&org, &board_id)?
        .members
        .get(&member_id)
        .ok_or_else(|| not_found("Board member"))?;
    Ok(Json(member_json(&org, &board_id, &member_id, role, true)))
}

fn role_of(v: &Value) -> Result<String> {
    match v.get("role") {
        None | Some(Value::Null) => Ok("commenter".into()),
        Some(Value::String(r)) if BOARD_ROLES.contains(&r.as_str()) => Ok(r.clone()),
        Some(r) => Err(bad(&format!("role has an invalid value {r}"))),
    }
}

/// Share by email: members of the organization are invited (an existing member's role is kept,
/// as Miro does not lower a role by inviting); any other address fails. `owner` means `coowner`.
/// The answer's user ids are integers beyond 2^53, as Miro's are.
async fn share(
    State(s): State<AppState>,
    Path(board_id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let v = parse_body(&body)?;
    let emails: Vec<String> = match v.get("emails").and_then(Value::as_array) {
        Some(list) if (1..=20).contains(&list.len()) => list
            .iter()
            .map(|e| {
                e.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad("emails must be strings"))
            })
            .collect::<Result<_>>()?,
        _ => return Err(bad("emails must hold 1 to 20 addresses")),
    };
    let role = match role_of(&v)?.as_str() {
        "owner" => "coowner".to_string(),
        r => r.to_string(),
    };
    let mut org = write(&s);
    board(&org, &board_id)?;
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for email in emails {
        let Some(id) = org.member_by_email(&email).map(|m| m.id.clone()) else {
            failed.push(json!({"email": email, "reason": "INVITATION_FAILED"}));
            continue;
        };
        board_mut(&mut org, &board_id)?
            .members
            .entry(id.clone())
            .or_insert_with(|| role.clone());
        successful.push(json!(id.parse::<u64>().unwrap_or_default()));
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"successful": successful, "failed": failed})),
    )
        .into_response())
}

async fn update_member(
    State(s): State<AppState>,
    Path((board_id, member_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>> {
    let role = role_of(&parse_body(&body)?)?;
    let mut org = write(&s);
    let b = board_mut(&mut org, &board_id)?;
    let current = b
        .members
        .get_mut(&member_id)
        .ok_or_else(|| not_found("Board member"))?;
    if *current == "owner" || role == "owner" {
        return Err(bad(
            "The board owner can only be changed in Miro's interface",
        ));
    }
    *current = role.clone();
    Ok(Json(member_json(&org, &board_id, &member_id, &role, true)))
}

async fn remove_member(
    State(s): State<AppState>,
    Path((board_id, member_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    let mut org = write(&s);
    let b = board_mut(&mut org, &board_id)?;
    match b.members.get(&member_id).map(String::as_str) {
        None => Err(not_found("Board member")),
        Some("owner") => Err(bad("The board owner cannot be removed from the board")),
        Some(_) => {
            b.members.remove(&member_id);
            Ok(StatusCode::NO_CONTENT)
        }
    }
}

fn group_share_json(id: &str, role: &str) -> Value {
    json!({"id": id, "role": role, "type": "board_user_group"})
}

async fn list_groups(
    State(s): State<AppState>,
    Path((org_id, board_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>> {
    let org = read(&s);
    check_org(&org, &org_id)?;
    let limit = limit(&q)?;
    let b = board(&org, &board_id)?;
    let items = after(&b.groups, q.get("cursor"));
    Ok(Json(cursor_page(&s, items, limit, |id, role| {
        group_share_json(id, role)
    })))
}

/// An upsert: each group gets the role, whether it had another or none; the answer is the last.
async fn share_with_groups(
    State(s): State<AppState>,
    Path((org_id, board_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>> {
    let mut org = write(&s);
    check_org(&org, &org_id)?;
    let (role, ids) = group_share(&body, &org)?;
    let b = board_mut(&mut org, &board_id)?;
    for id in &ids {
        b.groups.insert(id.clone(), role.clone());
    }
    let last = ids.last().map_or("", String::as_str);
    Ok(Json(group_share_json(last, &role)))
}

async fn unshare_group(
    State(s): State<AppState>,
    Path((org_id, board_id, group_id)): Path<(String, String, String)>,
) -> Result<StatusCode> {
    let mut org = write(&s);
    check_org(&org, &org_id)?;
    match board_mut(&mut org, &board_id)?.groups.remove(&group_id) {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(not_found("Board user group")),
    }
}
