//! Spaces, which the API calls projects (`/v2/orgs/{org_id}/teams/{team_id}/projects…`), their
//! settings and members, and the user groups shared with them
//! (`/v2/orgs/{org_id}/projects/{project_id}/groups…`), shaped as Miro's OpenAPI spec describes
//! them. Everything pages by cursor (at most 100). Roles use the API's words: `commentator` here,
//! where boards say `commenter`.
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
        Result, after, bad, check_org, cursor_page, error, group_share, limit, not_found,
        parse_body, read, required_str, team, write,
    },
    state::{Org, PROJECT_ROLES, Project},
};

pub(super) fn routes() -> Router<AppState> {
    const P: &str = "/v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}";
    Router::new()
        .route("/v2/orgs/{org_id}/teams/{team_id}/projects", get(list))
        .route(P, get(get_one))
        .route(
            &format!("{P}/settings"),
            get(settings).patch(update_settings),
        )
        .route(&format!("{P}/members"), get(list_members).post(add_member))
        .route(
            &format!("{P}/members/{{member_id}}"),
            get(get_member).patch(update_member).delete(remove_member),
        )
        .route(
            "/v2/orgs/{org_id}/projects/{project_id}/groups",
            get(list_groups).post(share_with_groups),
        )
        .route(
            "/v2/orgs/{org_id}/projects/{project_id}/groups/{group_id}",
            axum::routing::delete(unshare_group),
        )
}

type Ids = (String, String, String);

fn project<'a>(org: &'a Org, (o, t, p): &Ids) -> Result<&'a Project> {
    team(org, o, t)?;
    org.projects
        .get(p)
        .filter(|s| &s.team_id == t)
        .ok_or_else(|| not_found("Project"))
}

fn project_mut<'a>(org: &'a mut Org, ids: &Ids) -> Result<&'a mut Project> {
    project(org, ids)?;
    org.projects
        .get_mut(&ids.2)
        .ok_or_else(|| not_found("Project"))
}

fn project_json(p: &Project) -> Value {
    json!({"id": p.id, "name": p.name, "type": "project"})
}

fn settings_json(p: &Project) -> Value {
    json!({"sharingPolicySettings": {"teamAccess": p.team_access}, "type": "project_settings"})
}

fn member_json(org: &Org, id: &str, role: &str) -> Value {
    let email = org.members.get(id).map_or("", |m| m.email.as_str());
    json!({"id": id, "email": email, "role": role, "type": "project_member"})
}

async fn list(
    State(s): State<AppState>,
    Path((o, t)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>> {
    let org = read(&s);
    team(&org, &o, &t)?;
    let limit = limit(&q)?;
    let items = after(&org.projects, q.get("cursor")).filter(|(_, p)| p.team_id == t);
    Ok(Json(cursor_page(&s, items, limit, |_, p| project_json(p))))
}

async fn get_one(State(s): State<AppState>, Path(ids): Path<Ids>) -> Result<Json<Value>> {
    let org = read(&s);
    Ok(Json(project_json(project(&org, &ids)?)))
}

async fn settings(State(s): State<AppState>, Path(ids): Path<Ids>) -> Result<Json<Value>> {
    let org = read(&s);
    Ok(Json(settings_json(project(&org, &ids)?)))
}

async fn update_settings(
    State(s): State<AppState>,
    Path(ids): Path<Ids>,
    body: Bytes,
) -> Result<Json<Value>> {
    let v = parse_body(&body)?;
    let access = match v.pointer("/sharingPolicySettings/teamAccess") {
        Some(Value::String(a)) if a == "private" || a == "view" => a.clone(),
        _ => {
            return Err(bad(
                "sharingPolicySettings.teamAccess must be private or view",
            ));
        }
    };
    let mut org = write(&s);
    let p = project_mut(&mut org, &ids)?;
    p.team_access = access;
    Ok(Json(settings_json(p)))
}

async fn list_members(
    State(s): State<AppState>,
    Path(ids): Path<Ids>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>> {
    let org = read(&s);
    let p = project(&org, &ids)?;
    let limit = limit(&q)?;
    let items = after(&p.members, q.get("cursor"));
    Ok(Json(cursor_page(&s, items, limit, |id, role| {
        member_json(&org, id, role)
    })))
}

async fn get_member(
    State(s): State<AppState>,
    Path((o, t, p, m)): Path<(String, String, String, String)>,
) -> Result<Json<Value>> {
    let org = read(&s);
    let role = project(&org, &(o, t, p))?
        .members
        .get(&m)
        .ok_or_else(|| not_found("Project member"))?;
    Ok(Json(member_json(&org, &m, role)))
}

fn role_of(v: &Value) -> Result<String> {
    match v.get("role").and_then(Value::as_str) {
        Some(r) if PROJECT_ROLES.contains(&r) => Ok(r.into()),
        _ => Err(bad(
            "role must be owner, coowner, editor, commentator or viewer",
        )),
    }
}

async fn add_member(
    State(s): State<AppState>,
    Path(ids): Path<Ids>,
    body: Bytes,
) -> Result<Response> {
    let v = parse_body(&body)?;
    let email = required_str(&v, "email")?;
    let role = role_of(&v)?;
    let mut org = write(&s);
    let uid = org
        .member_by_email(&email)
        .map(|m| m.id.clone())
        .ok_or_else(|| bad("The user must be a member of the organization"))?;
    if project(&org, &ids)?.members.contains_key(&uid) {
        return Err(error(
            StatusCode::CONFLICT,
            "conflict",
            "The user is already a member of the project",
        ));
    }
    project_mut(&mut org, &ids)?
        .members
        .insert(uid.clone(), role.clone());
    Ok((StatusCode::CREATED, Json(member_json(&org, &uid, &role))).into_response())
}

async fn update_member(
    State(s): State<AppState>,
    Path((o, t, p, m)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Result<Json<Value>> {
    let role = role_of(&parse_body(&body)?)?;
    let mut org = write(&s);
    let slot = project_mut(&mut org, &(o, t, p))?
        .members
        .get_mut(&m)
        .ok_or_else(|| not_found("Project member"))?;
    *slot = role.clone();
    Ok(Json(member_json(&org, &m, &role)))
}

/// Level 4: the user stays in the team.
async fn remove_member(
    State(s): State<AppState>,
    Path((o, t, p, m)): Path<(String, String, String, String)>,
) -> Result<StatusCode> {
    let mut org = write(&s);
    match project_mut(&mut org, &(o, t, p))?.members.remove(&m) {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(not_found("Project member")),
    }
}

fn by_id<'a>(org: &'a mut Org, o: &str, p: &str) -> Result<&'a mut Project> {
    check_org(org, o)?;
    org.projects.get_mut(p).ok_or_else(|| not_found("Project"))
}

fn group_json(id: &str, role: &str) -> Value {
    json!({"id": id, "role": role, "type": "project_user_group"})
}

async fn list_groups(
    State(s): State<AppState>,
    Path((o, p)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>> {
    let org = read(&s);
    check_org(&org, &o)?;
    let limit = limit(&q)?;
    let project = org.projects.get(&p).ok_or_else(|| not_found("Project"))?;
    let items = after(&project.groups, q.get("cursor"));
    Ok(Json(cursor_page(&s, items, limit, |id, role| {
        group_json(id, role)
    })))
}

/// An upsert, as for boards: each group gets the role; the answer is the last.
async fn share_with_groups(
    State(s): State<AppState>,
    Path((o, p)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>> {
    let mut org = write(&s);
    let (role, ids) = group_share(&body, &org)?;
    let project = by_id(&mut org, &o, &p)?;
    for id in &ids {
        project.groups.insert(id.clone(), role.clone());
    }
    Ok(Json(group_json(
        ids.last().map_or("", String::as_str),
        &role,
    )))
}

async fn unshare_group(
    State(s): State<AppState>,
    Path((o, p, g)): Path<(String, String, String)>,
) -> Result<StatusCode> {
    let mut org = write(&s);
    match by_id(&mut org, &o, &p)?.groups.remove(&g) {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(not_found("Project user group")),
    }
}
