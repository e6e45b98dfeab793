//! A member as Miro's SCIM renders a User.
use super::*;

pub(super) fn user_json(org: &Org, m: &Member, base: &str) -> Value {
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
pub(super) fn display_name(m: &Member) -> String {
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

pub(super) fn base_url(headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}/api/v1/scim")
}
