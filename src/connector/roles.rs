//! `role`: the organization roles, and the prebuilt admin roles as roles of their own.
use super::{
    ConnectorError,
    annotations::pack,
    grants::{entitlement, grant as grant_of},
    ids::{ASSIGNED, ROLE, cap, rid},
    profile::{profile, text},
};
use crate::{
    miro::models::OrgRole,
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

pub(super) fn unknown(id: &str) -> ConnectorError {
    ConnectorError::NotFound(format!("no role {:?}", cap(id)))
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
    let kind = match def.kind {
        RoleKind::Org(_) => "organization_role",
        RoleKind::Admin(_) => "admin_role",
    };
    let p = profile(vec![
        ("kind", text(kind)),
        (
            "miro_value",
            text(match def.kind {
                RoleKind::Org(o) => o.as_str(),
                RoleKind::Admin(n) => n,
            }),
        ),
    ]);
    pb::Resource {
        id: Some(rid(ROLE, def.id)),
        display_name: def.display_name.into(),
        description: def.description.into(),
        annotations: vec![pack(&pb::RoleTrait {
            profile: Some(p.clone()),
            role_scope_conditions: None,
        })],
        profile: Some(p),
        ..Default::default()
    }
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
}
