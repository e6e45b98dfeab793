//! `user`: one per organization member.
use super::{
    Connector, ConnectorError,
    annotations::pack,
    holdings::Held,
    ids::{USER, miro_id, resource_miro_id, rid},
    profile::{flag, list, profile, profile_list, profile_text, text},
    roles,
};
use crate::{
    miro::models::{OrgMember, ScimUser},
    pb::{self, resource_type::Trait, user_trait},
};

pub(super) fn resource_type() -> pb::ResourceType {
    pb::ResourceType {
        id: USER.into(),
        display_name: "User".into(),
        traits: vec![Trait::User as i32],
        // Users hold entitlements but offer none: skip a ListEntitlements call per user.
        annotations: vec![pack(&pb::SkipEntitlements {})],
        description: "A member of the Miro organization".into(),
        sourced_externally: false,
    }
}

fn timestamp(rfc3339: Option<&str>) -> Option<prost_types::Timestamp> {
    rfc3339
        .filter(|s| !s.is_empty())
        .and_then(|s| humantime::parse_rfc3339_weak(s).ok())
        .map(prost_types::Timestamp::from)
}

/// The user as ListResources lists it. Names come from SCIM when we have the SCIM record.
pub(super) fn resource(m: &OrgMember, scim: Option<&ScimUser>) -> pb::Resource {
    let name = scim.and_then(|u| u.name.clone()).unwrap_or_default();
    let full_name = match (name.given_name.as_deref(), name.family_name.as_deref()) {
        (Some(g), Some(f)) if !g.is_empty() || !f.is_empty() => {
            Some(format!("{g} {f}").trim().to_string())
        }
        _ => None,
    };
    let display_name = scim
        .and_then(|u| u.display_name.clone())
        .filter(|d| !d.trim().is_empty())
        .or_else(|| name.formatted.clone().filter(|f| !f.trim().is_empty()))
        .or(full_name)
        .unwrap_or_else(|| m.email.clone());
    let status = if m.active {
        user_trait::status::Status::Enabled
    } else {
        user_trait::status::Status::Disabled
    };
    let admin_roles: Vec<String> = m.admin_roles.iter().map(|r| r.name.clone()).collect();
    let mut fields = vec![
        ("email", text(&m.email)),
        // `login` as baton-miro sets it, for automations written against its profiles.
        ("login", text(&m.email)),
        ("license", text(m.license.as_str())),
        ("org_role", text(m.role.as_str())),
        ("admin_roles", list(admin_roles)),
        ("active", flag(m.active)),
    ];
    if let Some(t) = m.last_activity_at.as_deref().filter(|t| !t.is_empty()) {
        fields.push(("last_activity_at", text(t)));
    }
    if let Some(t) = m.license_assigned_at.as_deref().filter(|t| !t.is_empty()) {
        fields.push(("license_assigned_at", text(t)));
    }
    let profile = profile(fields);
    let structured_name = (name.given_name.is_some() || name.family_name.is_some()).then(|| {
        user_trait::StructuredName {
            given_name: name.given_name.clone().unwrap_or_default(),
            family_name: name.family_name.clone().unwrap_or_default(),
            ..Default::default()
        }
    });
    let trait_ = pb::UserTrait {
        emails: vec![user_trait::Email {
            address: m.email.clone(),
            is_primary: true,
        }],
        status: Some(user_trait::Status {
            status: status as i32,
            details: String::new(),
        }),
        profile: Some(profile.clone()),
        account_type: user_trait::AccountType::Human as i32,
        login: m.email.clone(),
        last_login: timestamp(m.last_activity_at.as_deref()),
        structured_name,
        ..Default::default()
    };
    let resource_status = if m.active {
        pb::status::ResourceStatus::Enabled
    } else {
        pb::status::ResourceStatus::Disabled
    };
    pb::Resource {
        id: Some(rid(USER, &m.id)),
        display_name,
        annotations: vec![pack(&trait_)],
        profile: Some(profile),
        status: Some(pb::Status {
            status: resource_status as i32,
            details: String::new(),
        }),
        ..Default::default()
    }
}

impl Connector {
    pub(crate) async fn get_user(&self, id: &str) -> Result<pb::Resource, ConnectorError> {
        let id = miro_id("user id", id)?;
        let org = self.org_id().await?;
        let m = self.miro().rest.member(org, id).await?.ok_or_else(|| {
            ConnectorError::NotFound(format!("no Miro organization member with id {id}"))
        })?;
        let names = self.scim_names(std::slice::from_ref(&m)).await;
        Ok(resource(&m, names.get(id)))
    }

    /// A user's org-role, admin-role and license grants, from the stored resource's profile: no
    /// Miro request. Only a resource without that profile costs one lookup. A custom admin role is
    /// known only from its holders, so a page that grants one carries `InsertResourceGrants`: the
    /// SDK then stores the role resource the grant names.
    pub(crate) async fn user_grants(
        &self,
        user: &pb::Resource,
    ) -> Result<(Vec<pb::Grant>, Vec<prost_types::Any>), ConnectorError> {
        let id = resource_miro_id("user id", user)?;
        let read = |p: Option<&prost_types::Struct>| {
            Some((
                profile_text(p, "org_role")?.to_string(),
                profile_list(p, "admin_roles")?,
                profile_text(p, "license")?.to_string(),
            ))
        };
        let (org_role, admin_roles, license) = match read(user.profile.as_ref()) {
            Some(held) => held,
            None => {
                let fresh = self.get_user(id).await?;
                read(fresh.profile.as_ref()).unwrap_or_default()
            }
        };
        // A custom admin role is known only from its holders: the page carries
        // `InsertResourceGrants`, and then every grant on it names its resource whole, since the
        // SDK stores what such grants name over what the listings stored. Other pages (nearly all)
        // name references only: this runs once per user.
        let (held, customs) =
            Held::read(&org_role, admin_roles.iter().map(String::as_str), &license);
        let custom = !customs.is_empty();
        let mut grants = held.grants(id, custom);
        grants.extend(customs.iter().map(|name| roles::custom_grant(name, id)));
        let annotations = if custom {
            vec![pack(&pb::InsertResourceGrants {})]
        } else {
            Vec::new()
        };
        Ok((grants, annotations))
    }
}
