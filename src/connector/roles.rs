//! `role`: the organization roles, and the prebuilt admin roles as roles of their own.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::{
    ConnectorError,
    annotations::pack,
    grants::{entitlement, grant as grant_of, with_resource},
    ids::{ASSIGNED, ROLE, rid, truncated},
    page_token,
    profile::{profile, text},
    readahead::reads,
};
use crate::{
    miro::{ErrorKind, models::OrgRole, scim::MAX_COUNT},
    pb::{self, resource_type::Trait},
};

/// Org roles are exclusive: a member holds exactly one.
const ORG_ROLE_GROUP: &str = "role:org_role";

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum RoleKind {
    Org(OrgRole),
    /// A prebuilt admin role, by the name Miro uses for it.
    Admin(&'static str),
}

#[derive(Debug, PartialEq)]
pub(super) struct RoleDef {
    pub id: &'static str,
    pub display_name: &'static str,
    pub kind: RoleKind,
    pub description: &'static str,
}

pub(super) const ROLES: &[RoleDef] = &[
    RoleDef {
        id: "organization_internal_admin",
        display_name: "Organization admin",
        kind: RoleKind::Org(OrgRole::InternalAdmin),
        description: "Company Admin of the Miro organization",
    },
    RoleDef {
        id: "organization_internal_user",
        display_name: "Organization member",
        kind: RoleKind::Org(OrgRole::InternalUser),
        description: "Internal member of the Miro organization",
    },
    RoleDef {
        id: "organization_external_user",
        display_name: "External user",
        kind: RoleKind::Org(OrgRole::ExternalUser),
        description: "External user of the organization (read-only here: Miro cannot set it through its API)",
    },
    RoleDef {
        id: "organization_team_guest_user",
        display_name: "Team guest",
        kind: RoleKind::Org(OrgRole::TeamGuestUser),
        description: "Team guest of the organization (read-only here: Miro cannot set it through its API)",
    },
    // Admin-role ids are not `organization_*`, so they cannot collide with the org roles.
    RoleDef {
        id: "admin_role_content_admin",
        display_name: "Content Admin",
        kind: RoleKind::Admin("Content Admin"),
        description: "Miro prebuilt admin role: Content Admin",
    },
    RoleDef {
        id: "admin_role_user_admin",
        display_name: "User Admin",
        kind: RoleKind::Admin("User Admin"),
        description: "Miro prebuilt admin role: User Admin",
    },
    RoleDef {
        id: "admin_role_security_admin",
        display_name: "Security Admin",
        kind: RoleKind::Admin("Security Admin"),
        description: "Miro prebuilt admin role: Security Admin",
    },
];

pub(super) fn resource_type() -> pb::ResourceType {
    pb::ResourceType {
        id: ROLE.into(),
        display_name: "Role".into(),
        traits: vec![Trait::Role as i32],
        annotations: Vec::new(),
        description: "A Miro organization role or prebuilt admin role".into(),
        sourced_externally: false,
    }
}

pub(super) fn def(id: &str) -> Option<&'static RoleDef> {
    ROLES.iter().find(|r| r.id == id)
}

/// A role by its resource id: a listed one, or a custom admin role by its encoded name.
pub(super) enum Role {
    Listed(&'static RoleDef),
    Custom(String),
}

impl Role {
    pub(super) fn lookup(id: &str) -> Result<Self, ConnectorError> {
        match def(id) {
            Some(d) => Ok(Self::Listed(d)),
            None => custom_name(id).map(Self::Custom).ok_or_else(|| unknown(id)),
        }
    }

    pub(super) fn resource(&self) -> pb::Resource {
        match self {
            Self::Listed(d) => resource(d),
            Self::Custom(name) => custom_resource(name),
        }
    }

    pub(super) fn entitlement(&self) -> pb::Entitlement {
        match self {
            Self::Listed(d) => entitlement_of(d),
            Self::Custom(name) => custom_entitlement(name),
        }
    }
}

impl super::Connector {
    /// The roles: the listed ones, then the custom admin roles that SCIM users hold, one SCIM
    /// page (1,000 users) a page. A custom role has no listing of its own in Miro; a full sync
    /// also learns it from its holders' grants, but a resources-only sync lists resources and
    /// nothing else, so it must find them here. Names repeated across pages are the same
    /// resource, which the client stores once. Without SCIM, or when SCIM refuses, the listed
    /// roles alone (logged once).
    pub(super) async fn list_roles(
        &self,
        token: &str,
    ) -> Result<(Vec<pb::Resource>, String), ConnectorError> {
        const SCOPE: &str = "resources:role";
        let (mut list, start) = match page_token::decode(SCOPE, token)? {
            None => (ROLES.iter().map(resource).collect::<Vec<_>>(), 1),
            Some(s) => (
                Vec::new(),
                s.parse::<usize>()
                    .ok()
                    .filter(|s| *s >= 1)
                    .ok_or_else(|| ConnectorError::BadPageToken("no start index".into()))?,
            ),
        };
        if self.miro().scim.is_none() {
            return Ok((list, String::new()));
        }
        let pages = reads::admin_roles(&self.miro);
        let at = start.to_string();
        let page = match self.read_answer(&pages, Some(&at), 0).await {
            Err(e) if matches!(e.kind(), ErrorKind::Forbidden | ErrorKind::Unauthorized) => {
                if self.warned.first("custom_roles") {
                    tracing::warn!(error = %e, "SCIM refused to list users: custom admin roles are listed only from their holders' grants (logged once)");
                }
                return Ok((list, String::new()));
            }
            r => r?,
        };
        let Some(held) = page.items.first() else {
            return Ok((list, String::new()));
        };
        let custom = held.names.iter().filter(|n| admin_role_def(n).is_none());
        list.extend(custom.filter(|n| !n.is_empty()).map(|n| custom_resource(n)));
        let next = page.next;
        // Later pages' start indexes are known now: the next few are read at once.
        if let Some(n) = next.as_deref().and_then(|n| n.parse::<usize>().ok()) {
            let ahead = (0..reads::SCIM_AHEAD).map(|k| n + k * MAX_COUNT);
            let ahead: Vec<String> = ahead
                .take_while(|s| *s as u64 <= held.total)
                .map(|s| s.to_string())
                .collect();
            self.ahead.lead_each(&pages, &ahead);
        }
        Ok((list, page_token::encode(SCOPE, next.as_deref())))
    }
}

pub(super) fn unknown(id: &str) -> ConnectorError {
    ConnectorError::NotFound(format!("no role {:?}", truncated(id)))
}

pub(super) fn org_role_def(role: &str) -> Option<&'static RoleDef> {
    ROLES
        .iter()
        .find(|r| matches!(r.kind, RoleKind::Org(o) if o.as_str() == role))
}

pub(super) fn admin_role_def(name: &str) -> Option<&'static RoleDef> {
    ROLES
        .iter()
        .find(|r| matches!(r.kind, RoleKind::Admin(n) if n.eq_ignore_ascii_case(name)))
}

/// Org roles Miro can write through SCIM's primary role.
pub(super) fn writable(def: &RoleDef) -> bool {
    matches!(
        def.kind,
        RoleKind::Org(OrgRole::InternalAdmin | OrgRole::InternalUser) | RoleKind::Admin(_)
    )
}

pub(super) fn resource(def: &RoleDef) -> pb::Resource {
    let (kind, value) = match def.kind {
        RoleKind::Org(o) => ("organization_role", o.as_str()),
        RoleKind::Admin(n) => ("admin_role", n),
    };
    role_resource(def.id, def.display_name, def.description, kind, value)
}

/// A role resource; `role_id` and `role_name` are the profile keys baton-miro sets.
fn role_resource(
    id: &str,
    display_name: &str,
    description: &str,
    kind: &str,
    miro_value: &str,
) -> pb::Resource {
    let p = profile(vec![
        ("kind", text(kind)),
        ("miro_value", text(miro_value)),
        ("role_id", text(id)),
        ("role_name", text(display_name)),
    ]);
    pb::Resource {
        id: Some(rid(ROLE, id)),
        display_name: display_name.into(),
        description: description.into(),
        annotations: vec![pack(&pb::RoleTrait {
            profile: Some(p.clone()),
            role_scope_conditions: None,
        })],
        profile: Some(p),
        ..Default::default()
    }
}

/// Custom admin roles have no id in Miro, only a name: the resource id is
/// `admin_role_custom_` + the name in unpadded URL-safe base64 (stable, reversible, and safe in
/// any id). A renamed role is a new resource.
const CUSTOM_PREFIX: &str = "admin_role_custom_";
/// Longer names are refused before decoding (Miro's role names are short).
const CUSTOM_MAX: usize = 200;

pub(super) fn custom_id(name: &str) -> String {
    format!("{CUSTOM_PREFIX}{}", URL_SAFE_NO_PAD.encode(name))
}

/// The name behind a custom admin role id, if `id` is one.
pub(super) fn custom_name(id: &str) -> Option<String> {
    let encoded = id.strip_prefix(CUSTOM_PREFIX)?;
    if encoded.is_empty() || encoded.len() > CUSTOM_MAX {
        return None;
    }
    let name = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()?;
    // Only the canonical encoding names a role, so one role has one id.
    (!name.trim().is_empty() && custom_id(&name) == id && admin_role_def(&name).is_none())
        .then_some(name)
}

pub(super) fn custom_resource(name: &str) -> pb::Resource {
    role_resource(
        &custom_id(name),
        name,
        &format!("Miro custom admin role: {name}"),
        "custom_admin_role",
        name,
    )
}

pub(super) fn custom_entitlement(name: &str) -> pb::Entitlement {
    entitlement(
        &custom_resource(name),
        ASSIGNED,
        format!("{name} role"),
        format!("Holds the Miro custom admin role {name}"),
        Vec::new(),
    )
}

/// A custom role's grant names the whole role resource: the SDK inserts it from here
/// (`InsertResourceGrants`), since no listing can return it.
pub(super) fn custom_grant(name: &str, user_id: &str) -> pb::Grant {
    with_resource(
        grant_of(&custom_entitlement(name), user_id),
        custom_resource(name),
    )
}

pub(super) fn entitlement_of(def: &RoleDef) -> pb::Entitlement {
    let mut annotations = Vec::new();
    if let RoleKind::Org(_) = def.kind {
        annotations.push(pack(&pb::EntitlementExclusionGroup {
            exclusion_group_id: ORG_ROLE_GROUP.into(),
            order: ROLES.iter().position(|r| r.id == def.id).unwrap_or(0) as u32,
            is_default: def.id == "organization_internal_user",
            scope_to_resource: false,
        }));
    }
    if !writable(def) {
        annotations.push(pack(&pb::EntitlementImmutable {
            source_id: String::new(),
            metadata: None,
        }));
    }
    entitlement(
        &resource(def),
        ASSIGNED,
        format!("{} role", def.display_name),
        format!("Holds the Miro role {}", def.display_name),
        annotations,
    )
}

pub(super) fn grant(def: &RoleDef, user_id: &str) -> pb::Grant {
    grant_of(&entitlement_of(def), user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_and_lookups_work() {
        let mut ids: Vec<_> = ROLES.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ROLES.len());
        assert_eq!(
            admin_role_def("user admin").unwrap().id,
            "admin_role_user_admin"
        );
        assert_eq!(
            org_role_def("organization_external_user").unwrap().id,
            "organization_external_user"
        );
        assert!(org_role_def("unknown").is_none());
        assert_eq!(
            entitlement_of(def("organization_internal_admin").unwrap()).id,
            "role:organization_internal_admin:assigned"
        );
        assert_eq!(
            grant(def("admin_role_user_admin").unwrap(), "7").id,
            "role:admin_role_user_admin:assigned:user:7"
        );
    }

    #[test]
    fn custom_role_ids_round_trip_and_refuse_the_rest() {
        for name in ["Billing Admin", "Conformité & Audit", "a:b/c"] {
            let id = custom_id(name);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            );
            assert_eq!(custom_name(&id).as_deref(), Some(name));
        }
        assert_eq!(
            custom_id("Billing Admin"),
            "admin_role_custom_QmlsbGluZyBBZG1pbg"
        );
        for bad in [
            "admin_role_custom_",
            "admin_role_custom_!!",
            "admin_role_custom_QmlsbGluZyBBZG1pbg==",
            "admin_role_custom_VXNlciBBZG1pbg", // "User Admin" is prebuilt
            "organization_internal_admin",
        ] {
            assert_eq!(custom_name(bad), None, "{bad}");
        }
        let g = custom_grant("Billing Admin", "7");
        assert_eq!(
            g.id,
            "role:admin_role_custom_QmlsbGluZyBBZG1pbg:assigned:user:7"
        );
        assert!(
            !g.entitlement
                .unwrap()
                .resource
                .unwrap()
                .annotations
                .is_empty()
        );
    }
}
