//! SCIM 2.0 `/Users` and `/ServiceProviderConfig`, legacy team model, as Miro documents them.
use std::collections::HashMap;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

use super::{
    AppState,
    state::{
        AdminRole, Member, Org, PREBUILT_ADMIN_ROLES, TeamMembership, license_to_user_type,
        now_rfc3339, user_type_to_license,
    },
};

mod filter;
mod patch;
mod render;

use filter::{clause_matches, parse_filter};
use patch::{patch_user, replace_user};
use render::{base_url, user_json};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/Users", get(list_users).post(create_user))
        .route(
            "/Users/{id}",
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/ServiceProviderConfig", get(service_provider_config))
}

/// SCIM's error body: `status` is a string and `scimType` is optional.
pub(super) fn error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    let mut body =
        json!({"schemas": [ERROR_SCHEMA], "status": status.as_u16().to_string(), "detail": detail});
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/scim+json")],
        Json(body),
    )
        .into_response()
}

/// A SCIM error on its way out.
pub(super) struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        error(self.status, self.scim_type, &self.detail)
    }
}

type Result<T> = std::result::Result<T, ScimError>;

pub(super) fn bad(scim_type: &'static str, detail: &str) -> ScimError {
    ScimError {
        status: StatusCode::BAD_REQUEST,
        scim_type: Some(scim_type),
        detail: detail.into(),
    }
}

pub(super) fn not_found(id: &str) -> ScimError {
    ScimError {
        status: StatusCode::NOT_FOUND,
        scim_type: None,
        detail: format!("No valid resources: [{{memberId={id}, display=null}}]"),
    }
}

pub(super) fn scim_json(status: StatusCode, v: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/scim+json")],
        Json(v),
    )
        .into_response()
}

async fn list_users(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response> {
    let start: usize = match q.get("startIndex") {
        None => 1,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| bad("invalidValue", "startIndex must be a positive integer"))?
            .max(1),
    };
    let count: usize = match q.get("count") {
        None => 100,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| bad("invalidValue", "count must be a non-negative integer"))?
            .min(1000),
    };
    let filter = q
        .get("filter")
        .map(|f| parse_filter(f))
        .transpose()
        .map_err(|e| bad("invalidFilter", &e))?;
    if let (Some((clauses, _)), Some(max)) = (&filter, s.cfg.scim_max_filter_clauses)
        && clauses.len() > max
    {
        return Err(bad(
            "invalidFilter",
            &format!("The filter is too complex: at most {max} clauses are supported"),
        ));
    }
    let org = s.org.read().unwrap_or_else(|e| e.into_inner());
    let base = base_url(&headers);
    let visible = |m: &&Member| m.is_scim_visible();
    let matched: Vec<&Member> = match &filter {
        // A pure `id eq` disjunction is answered by lookup, as a real index would.
        Some((clauses, true)) if clauses.iter().all(|c| c.attr == "id" && c.op == "eq") => {
            let mut ms: Vec<&Member> = clauses
                .iter()
                .filter_map(|c| org.members.get(&c.value))
                .filter(visible)
                .collect();
            ms.sort_by(|a, b| a.id.cmp(&b.id));
            ms.dedup_by(|a, b| a.id == b.id);
            ms
        }
        Some((clauses, any)) => {
            let mut out = Vec::new();
            for m in org.members.values().filter(visible) {
                let mut results = clauses.iter().map(|c| clause_matches(c, m));
                let hit = if *any {
                    results.try_fold(false, |acc, r| r.map(|r| acc || r))
                } else {
                    results.try_fold(true, |acc, r| r.map(|r| acc && r))
                };
                if hit.map_err(|e| bad("invalidFilter", &e))? {
                    out.push(m);
                }
            }
            out
        }
        None => org.members.values().filter(visible).collect(),
    };
    let page: Vec<Value> = matched
        .iter()
        .skip(start - 1)
        .take(count)
        .map(|m| user_json(&org, m, &base))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        json!({"schemas": [LIST_SCHEMA], "totalResults": matched.len(), "startIndex": start,
            "itemsPerPage": page.len(), "Resources": page}),
    ))
}

pub(super) fn visible_member<'a>(org: &'a Org, id: &str) -> Result<&'a Member> {
    org.members
        .get(id)
        .filter(|m| m.is_scim_visible())
        .ok_or_else(|| not_found(id))
}

async fn get_user(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let org = s.org.read().unwrap_or_else(|e| e.into_inner());
    let m = visible_member(&org, &id)?;
    Ok(scim_json(
        StatusCode::OK,
        user_json(&org, m, &base_url(&headers)),
    ))
}

pub(super) fn parse(body: &Bytes) -> Result<Value> {
    serde_json::from_slice(body).map_err(|e| {
        bad(
            "invalidSyntax",
            &format!("Request body is not valid JSON: {e}"),
        )
    })
}

pub(super) fn valid_email(e: &str) -> bool {
    let mut parts = e.splitn(2, '@');
    matches!((parts.next(), parts.next()), (Some(l), Some(d)) if !l.is_empty() && d.contains('.') && !d.starts_with('.') && !e.contains(' '))
}

/// Names from a SCIM body: if `name` is present, givenName and familyName are required.
pub(super) fn names(v: &Value) -> Result<Option<(String, String)>> {
    match v.get("name") {
        None | Some(Value::Null) => Ok(None),
        Some(n) => {
            let g = n.get("givenName").and_then(Value::as_str).unwrap_or("");
            let f = n.get("familyName").and_then(Value::as_str).unwrap_or("");
            if g.is_empty() || f.is_empty() {
                return Err(bad(
                    "invalidValue",
                    "name.givenName and name.familyName are required",
                ));
            }
            if g.chars().count() + f.chars().count() > 60 {
                return Err(bad(
                    "invalidValue",
                    "givenName and familyName together must be at most 60 characters",
                ));
            }
            Ok(Some((g.into(), f.into())))
        }
    }
}

pub(super) fn license_from(v: &Value) -> Result<Option<&'static str>> {
    match v.get("userType").and_then(Value::as_str) {
        None => Ok(None),
        Some(t) => user_type_to_license(t).map(Some).ok_or_else(|| {
            bad(
                "invalidValue",
                &format!("userType '{t}' is not a license of this organization"),
            )
        }),
    }
}

async fn create_user(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let v = parse(&body)?;
    let user_name = v
        .get("userName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_string();
    if !valid_email(&user_name) {
        return Err(bad(
            "invalidValue",
            &format!("User name '{user_name}' is invalid: 'must be an email'"),
        ));
    }
    let (given, family) = names(&v)?.unwrap_or_default();
    let license = license_from(&v)?.unwrap_or("full");
    let display = v
        .get("displayName")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
        .map(String::from);
    let mut org = s.org.write().unwrap_or_else(|e| e.into_inner());
    if org.member_by_email(&user_name).is_some() {
        return Err(bad(
            "invalidValue",
            &format!("User name '{user_name}' is invalid: 'not unique'"),
        ));
    }
    let id = org.next_id();
    let now = now_rfc3339();
    let member = Member {
        id: id.clone(),
        email: user_name,
        role: "organization_internal_user".into(),
        license: license.into(),
        active: v.get("active").and_then(Value::as_bool).unwrap_or(true),
        last_activity_at: None,
        license_assigned_at: Some(now.clone()),
        admin_roles: Vec::new(),
        given_name: given,
        family_name: family,
        display_name: display,
    };
    // "All newly provisioned users are added to the default team."
    let by = org.admin_user_id.clone();
    if let Some(t) = org.teams.values_mut().next() {
        t.members.insert(
            id.clone(),
            TeamMembership {
                role: "member".into(),
                created_at: now.clone(),
                created_by: by.clone(),
                modified_at: now,
                modified_by: by,
            },
        );
    }
    org.members.insert(id.clone(), member);
    let base = base_url(&headers);
    let body = user_json(&org, &org.members[&id], &base);
    let mut r = scim_json(StatusCode::CREATED, body);
    if let Ok(loc) = format!("{base}/Users/{id}").parse() {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

async fn delete_user(State(s): State<AppState>, Path(id): Path<String>) -> Result<StatusCode> {
    let mut org = s.org.write().unwrap_or_else(|e| e.into_inner());
    let m = visible_member(&org, &id)?;
    let is_admin = m.role == "organization_internal_admin";
    let admins = org
        .members
        .values()
        .filter(|o| o.active && o.role == "organization_internal_admin")
        .count();
    if is_admin && admins <= 1 {
        return Err(bad(
            "mutability",
            "The last admin of the organization cannot be deleted",
        ));
    }
    let last_team_admin = org.teams.values().find(|t| {
        t.members.get(&id).is_some_and(|tm| tm.role == "admin")
            && t.members.values().filter(|tm| tm.role == "admin").count() == 1
    });
    if let Some(t) = last_team_admin {
        return Err(bad(
            "mutability",
            &format!("The last admin of team '{}' cannot be deleted", t.name),
        ));
    }
    org.remove_member(&id);
    Ok(StatusCode::NO_CONTENT)
}

async fn service_provider_config() -> Response {
    scim_json(
        StatusCode::OK,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": 200},
            "changePassword": {"supported": false},
            "sort": {"supported": true},
            "etag": {"supported": false},
            "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth Bearer Token",
                "description": "Authentication scheme using the OAuth Bearer Token Standard"}],
        }),
    )
}
