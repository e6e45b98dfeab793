//! `license`: one resource per Miro license, with one entitlement each. Who holds which comes from
//! each user's stored profile, so these grants cost no Miro request. Only an upgrade to Full can be
//! written (SCIM `userType`): Miro cannot downgrade through its API.
use super::{
    ConnectorError,
    annotations::pack,
    grants::{entitlement, grant},
    ids::{ASSIGNED, LICENSE, rid, truncated},
    profile::{profile, text},
};
use crate::{
    miro::models::License,
    pb::{self, resource_type::Trait},
};

/// A member holds exactly one license.
const LICENSE_GROUP: &str = "license:assigned";

pub(super) fn resource_type() -> pb::ResourceType {
    pb::ResourceType {
        id: LICENSE.into(),
        display_name: "License".into(),
        traits: vec![Trait::Role as i32],
        // The license a user holds is a grant; the licenses themselves have no members to list.
        annotations: Vec::new(),
        description: "A Miro license (Full, Free, …): who holds a paid seat".into(),
        sourced_externally: false,
    }
}

/// The licenses an account can be created with (those SCIM has a `userType` for), as Miro's REST
/// values: `full, free, …`.
pub(super) fn creatable() -> String {
    License::ALL
        .iter()
        .filter(|l| l.user_type().is_some())
        .map(License::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every license Miro reports, `unknown` last.
pub(super) fn all() -> impl Iterator<Item = License> {
    License::ALL
        .iter()
        .copied()
        .chain(std::iter::once(License::Unknown))
}

pub(super) fn parse(id: &str) -> Result<License, ConnectorError> {
    all()
        .find(|l| l.as_str() == id)
        .ok_or_else(|| ConnectorError::NotFound(format!("no Miro license {:?}", truncated(id))))
}

fn display_name(l: License) -> &'static str {
    l.user_type().unwrap_or("Unknown")
}

pub(super) fn resource(l: License) -> pb::Resource {
    let p = profile(vec![
        ("license", text(l.as_str())),
        ("user_type", text(display_name(l))),
    ]);
    pb::Resource {
        id: Some(rid(LICENSE, l.as_str())),
        display_name: format!("{} license", display_name(l)),
        description: match l {
            License::Full => "Miro Full license (paid)".into(),
            _ => format!("Miro license {}", display_name(l)),
        },
        annotations: vec![pack(&pb::RoleTrait {
            profile: Some(p.clone()),
            role_scope_conditions: None,
        })],
        profile: Some(p),
        ..Default::default()
    }
}

/// Only Full can be granted (an upgrade); the rest are read-only here.
pub(super) fn grantable(l: License) -> bool {
    l == License::Full
}

pub(super) fn entitlement_of(l: License) -> pb::Entitlement {
    let mut annotations = vec![pack(&pb::EntitlementExclusionGroup {
        exclusion_group_id: LICENSE_GROUP.into(),
        order: all().position(|x| x == l).unwrap_or(0) as u32,
        is_default: false,
        scope_to_resource: false,
    })];
    if !grantable(l) {
        annotations.push(pack(&pb::EntitlementImmutable {
            source_id: String::new(),
            metadata: None,
        }));
    }
    entitlement(
        &resource(l),
        ASSIGNED,
        format!("{} license", display_name(l)),
        format!("Holds a Miro {} license", display_name(l)),
        annotations,
    )
}

pub(super) fn grant_of(l: License, user_id: &str) -> pb::Grant {
    grant(&entitlement_of(l), user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_license_is_a_resource_and_only_full_is_grantable() {
        let ids: Vec<&str> = all().map(|l| l.as_str()).collect();
        for want in [
            "full",
            "occasional",
            "free",
            "free_restricted",
            "full_trial",
            "unknown",
        ] {
            assert!(ids.contains(&want), "{want} missing");
        }
        assert_eq!(parse("full").unwrap(), License::Full);
        assert!(parse("platinum").is_err());
        assert_eq!(entitlement_of(License::Full).id, "license:full:assigned");
        assert!(
            crate::connector::annotations::find::<pb::EntitlementImmutable>(
                &entitlement_of(License::Free).annotations
            )
            .is_some()
        );
        assert_eq!(
            grant_of(License::FullTrial, "7").id,
            "license:full_trial:assigned:user:7"
        );
    }
}
