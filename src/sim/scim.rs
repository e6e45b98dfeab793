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

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

pub fn routes() -> Router<AppState> {
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
pub fn error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
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
pub struct ScimError {
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

fn bad(scim_type: &'static str, detail: &str) -> ScimError {
    ScimError {
        status: StatusCode::BAD_REQUEST,
        scim_type: Some(scim_type),
        detail: detail.into(),
    }
}

fn not_found(id: &str) -> ScimError {
    ScimError {
        status: StatusCode::NOT_FOUND,
        scim_type: None,
        detail: format!("No valid resources: [{{memberId={id}, display=null}}]"),
    }
}

fn scim_json(status: StatusCode, v: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/scim+json")],
        Json(v),
    )
        .into_response()
}

fn user_json(org: &Org, m: &Member, base: &str) -> Value {
    let mut roles = vec![json!({
        "type": "organization_user_role",
        "value": m.role.to_ascii_uppercase(),
        "display": m.role,
        "primary": true,
    })];
    roles.extend(m.admin_roles.iter().map(|r| {
        json!({"type": "organization_admin_role", "value": r.name, "display": r.name, "primary": false})
    }));
    let groups: Vec<Value> = org
        .teams
        .values()
        .filter(|t| t.members.contains_key(&m.id))
        .map(|t| json!({"value": t.id, "display": t.name}))
        .collect();
    json!({
        "schemas": [USER_SCHEMA],
        "id": m.id,
        "userName": m.email,
        "name": {
            "givenName": m.given_name,
            "familyName": m.family_name,
            "formatted": format!("{} {}", m.given_name, m.family_name).trim(),
        },
        "displayName": display_name(m),
        "userType": license_to_user_type(&m.license),
        "active": m.active,
        "emails": [{"value": m.email, "type": "work", "primary": true, "display": m.email}],
        "groups": groups,
        "roles": roles,
        "meta": {"resourceType": "User", "location": format!("{base}/Users/{}", m.id)},
    })
}

/// Miro's precedence: displayName, then the formatted name, then given+family, then userName.
fn display_name(m: &Member) -> String {
    if let Some(d) = m.display_name.as_ref().filter(|d| !d.is_empty()) {
        return d.clone();
    }
    let full = format!("{} {}", m.given_name, m.family_name)
        .trim()
        .to_string();
    if full.is_empty() {
        m.email.clone()
    } else {
        full
    }
}

fn base_url(headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}/api/v1/scim")
}

/// One clause of a filter: `attr op "value"`.
struct Clause {
    attr: String,
    op: String,
    value: String,
}

/// The subset of SCIM filters Miro's clients use: clauses joined by `or` (or a single `and` chain)
/// with `eq`, `ne`, `co`, `sw` on userName, id, displayName, active, userType, emails.value.
fn parse_filter(filter: &str) -> std::result::Result<(Vec<Clause>, bool), String> {
    let lower = filter.to_ascii_lowercase();
    let (joiner, any) = if lower.contains(" and ") {
        (" and ", false)
    } else {
        (" or ", true)
    };
    let mut clauses = Vec::new();
    let mut rest = filter;
    loop {
        let idx = rest.to_ascii_lowercase().find(joiner);
        let part = idx.map_or(rest, |i| &rest[..i]).trim();
        let mut it = part.splitn(3, ' ');
        let (attr, op, value) = (it.next(), it.next(), it.next());
        let (Some(attr), Some(op), Some(value)) = (attr, op, value) else {
            return Err(format!("Unsupported filter clause '{part}'"));
        };
        let op = op.to_ascii_lowercase();
        if !["eq", "ne", "co", "sw"].contains(&op.as_str()) {
            return Err(format!("Unsupported filter operator '{op}'"));
        }
        let value = value.trim().trim_matches('"').to_string();
        clauses.push(Clause {
            attr: attr.to_ascii_lowercase(),
            op,
            value,
        });
        match idx {
            Some(i) => rest = &rest[i + joiner.len()..],
            None => break,
        }
    }
    Ok((clauses, any))
}

fn clause_matches(c: &Clause, m: &Member) -> std::result::Result<bool, String> {
    let field = match c.attr.as_str() {
        "username" | "emails.value" | "emails" => m.email.clone(),
        "id" => m.id.clone(),
        "displayname" => display_name(m),
        "active" => m.active.to_string(),
        "usertype" => license_to_user_type(&m.license).to_string(),
        other => return Err(format!("Unsupported filter attribute '{other}'")),
    };
    let (f, v) = (field.to_lowercase(), c.value.to_lowercase());
    Ok(match c.op.as_str() {
        "eq" => f == v,
        "ne" => f != v,
        "co" => f.contains(&v),
        _ => f.starts_with(&v),
    })
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

fn visible_member<'a>(org: &'a Org, id: &str) -> Result<&'a Member> {
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

fn parse(body: &Bytes) -> Result<Value> {
    serde_json::from_slice(body).map_err(|e| {
        bad(
            "invalidSyntax",
            &format!("Request body is not valid JSON: {e}"),
        )
    })
}

fn valid_email(e: &str) -> bool {
    let mut parts = e.splitn(2, '@');
    matches!((parts.next(), parts.next()), (Some(l), Some(d)) if !l.is_empty() && d.contains('.') && !d.starts_with('.') && !e.contains(' '))
}

/// Names from a SCIM body: if `name` is present, givenName and familyName are required.
fn names(v: &Value) -> Result<Option<(String, String)>> {
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

fn license_from(v: &Value) -> Result<Option<&'static str>> {
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

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn org_role(value: &str) -> Result<String> {
    match value.to_ascii_uppercase().as_str() {
        "ORGANIZATION_INTERNAL_ADMIN" => Ok("organization_internal_admin".into()),
        "ORGANIZATION_INTERNAL_USER" => Ok("organization_internal_user".into()),
        _ => Err(bad(
            "invalidValue",
            &format!(
                "Role '{value}' is not supported: only ORGANIZATION_INTERNAL_ADMIN or ORGANIZATION_INTERNAL_USER"
            ),
        )),
    }
}

/// An admin role by name: prebuilt names are canonicalised; anything else is a custom role.
fn admin_role(value: &str) -> Result<AdminRole> {
    if value.trim().is_empty() {
        return Err(bad("invalidValue", "An admin role needs a name"));
    }
    Ok(
        match PREBUILT_ADMIN_ROLES
            .iter()
            .find(|p| p.eq_ignore_ascii_case(value))
        {
            Some(p) => AdminRole {
                kind: "prebuilt".into(),
                name: p.to_string(),
            },
            None => AdminRole {
                kind: "custom".into(),
                name: value.to_string(),
            },
        },
    )
}

/// Apply one PATCH operation to a copy of the member.
fn apply(m: &mut Member, op: &Value) -> Result<()> {
    let kind = op
        .get("op")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
    let value = op.get("value").cloned().unwrap_or(Value::Null);
    let deactivated_guard = |m: &Member| {
        if m.active {
            Ok(())
        } else {
            Err(bad(
                "mutability",
                "userName, userType and roles cannot be changed while the user is deactivated",
            ))
        }
    };
    match (kind.as_str(), path.to_ascii_lowercase().as_str()) {
        ("replace", "active") => {
            m.active =
                as_bool(&value).ok_or_else(|| bad("invalidValue", "active must be a boolean"))?
        }
        ("replace", "displayname") => {
            let d = value
                .as_str()
                .ok_or_else(|| bad("invalidValue", "displayName must be a string"))?;
            if d.chars().count() > 60 {
                return Err(bad(
                    "invalidValue",
                    "displayName must be at most 60 characters",
                ));
            }
            m.display_name = Some(d.into());
        }
        ("replace", "usertype") => {
            deactivated_guard(m)?;
            let t = value
                .as_str()
                .ok_or_else(|| bad("invalidValue", "userType must be a string"))?;
            m.license = user_type_to_license(t)
                .ok_or_else(|| {
                    bad(
                        "invalidValue",
                        &format!("userType '{t}' is not a license of this organization"),
                    )
                })?
                .into();
        }
        ("replace", "roles[primary eq true].value") => {
            deactivated_guard(m)?;
            m.role = org_role(value.as_str().unwrap_or_default())?;
        }
        ("add", "roles") => {
            deactivated_guard(m)?;
            let items = value
                .as_array()
                .cloned()
                .unwrap_or_else(|| vec![value.clone()]);
            for item in items {
                let role = admin_role(
                    item.get("value")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                )?;
                if !m.admin_roles.iter().any(|r| r.name == role.name) {
                    m.admin_roles.push(role);
                }
            }
        }
        ("remove", p) if p.starts_with("roles[value eq ") => {
            deactivated_guard(m)?;
            let name = path["roles[value eq ".len()..]
                .trim_end_matches(']')
                .trim()
                .trim_matches('"')
                .to_string();
            m.admin_roles
                .retain(|r| !r.name.eq_ignore_ascii_case(&name));
        }
        _ => {
            return Err(bad(
                "invalidPath",
                &format!("Unsupported PATCH operation '{kind}' on path '{path}'"),
            ));
        }
    }
    Ok(())
}

async fn patch_user(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let v = parse(&body)?;
    let ops = v
        .get("Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("invalidSyntax", "Operations is required"))?;
    let mut org = s.org.write().unwrap_or_else(|e| e.into_inner());
    let mut m = visible_member(&org, &id)?.clone();
    // All operations apply, or none does.
    for op in ops {
        apply(&mut m, op)?;
    }
    org.members.insert(id.clone(), m);
    Ok(scim_json(
        StatusCode::OK,
        user_json(&org, &org.members[&id], &base_url(&headers)),
    ))
}

async fn replace_user(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let v = parse(&body)?;
    let mut org = s.org.write().unwrap_or_else(|e| e.into_inner());
    let mut m = visible_member(&org, &id)?.clone();
    if let Some(active) = v.get("active").and_then(as_bool) {
        m.active = active;
    }
    if let Some((g, f)) = names(&v)? {
        (m.given_name, m.family_name) = (g, f);
    }
    if let Some(d) = v.get("displayName").and_then(Value::as_str) {
        m.display_name = Some(d.into());
    }
    // While deactivated, userName, userType and roles are left as they are.
    if m.active {
        if let Some(u) = v.get("userName").and_then(Value::as_str) {
            if !valid_email(u) {
                return Err(bad(
                    "invalidValue",
                    &format!("User name '{u}' is invalid: 'must be an email'"),
                ));
            }
            if org.member_by_email(u).is_some_and(|o| o.id != id) {
                return Err(bad(
                    "invalidValue",
                    &format!("User name '{u}' is invalid: 'not unique'"),
                ));
            }
            m.email = u.into();
        }
        if let Some(l) = license_from(&v)? {
            m.license = l.into();
        }
        if let Some(roles) = v.get("roles").and_then(Value::as_array) {
            let mut admin_roles = Vec::new();
            for r in roles {
                let value = r.get("value").and_then(Value::as_str).unwrap_or_default();
                if r.get("primary").and_then(as_bool).unwrap_or(false) {
                    m.role = org_role(value)?;
                } else {
                    admin_roles.push(admin_role(value)?);
                }
            }
            m.admin_roles = admin_roles;
        }
    }
    org.members.insert(id.clone(), m);
    Ok(scim_json(
        StatusCode::OK,
        user_json(&org, &org.members[&id], &base_url(&headers)),
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        let (c, any) = parse_filter(r#"id eq "1" or id eq "2""#).unwrap();
        assert!(any);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].value, "2");
        let (c, any) = parse_filter(r#"userName eq "a@b.co" and active eq true"#).unwrap();
        assert!(!any);
        assert_eq!(c[1].attr, "active");
        assert!(parse_filter("userName gt 3").is_err());
        assert!(parse_filter("garbage").is_err());
    }
}
