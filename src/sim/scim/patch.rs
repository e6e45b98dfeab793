//! PATCH and PUT of a User: operations applied to a copy, then stored.
use super::*;

pub(super) fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

pub(super) fn org_role(value: &str) -> Result<String> {
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
pub(super) fn admin_role(value: &str) -> Result<AdminRole> {
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
pub(super) fn apply(m: &mut Member, op: &Value) -> Result<()> {
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
            let license = user_type_to_license(t).ok_or_else(|| {
                bad(
                    "invalidValue",
                    &format!("userType '{t}' is not a license of this organization"),
                )
            })?;
            // "userType (license) cannot be downgraded using this operation".
            if m.license == "full" && license != "full" {
                return Err(bad(
                    "invalidValue",
                    "userType (license) cannot be downgraded using this operation",
                ));
            }
            if m.license != license {
                m.license = license.into();
                m.license_assigned_at = Some(super::super::state::now_rfc3339());
            }
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

pub(super) async fn patch_user(
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

pub(super) async fn replace_user(
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
