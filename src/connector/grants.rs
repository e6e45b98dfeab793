//! Entitlements and grants, built the same way for every resource type.
use prost_types::Any;

use super::ids::{USER, entitlement_id, grant_id, rid};
use crate::pb::{self, entitlement::PurposeValue};

/// The part of a resource a grant or entitlement points at: its parent too, since a Space is
/// addressed through its team.
pub(super) fn reference(r: &pb::Resource) -> pb::Resource {
    pb::Resource {
        id: r.id.clone(),
        parent_resource_id: r.parent_resource_id.clone(),
        display_name: r.display_name.clone(),
        ..Default::default()
    }
}

/// A resource type as `grantable_to` names it.
pub(super) fn type_ref(id: &str, display_name: &str) -> pb::ResourceType {
    pb::ResourceType {
        id: id.into(),
        display_name: display_name.into(),
        ..Default::default()
    }
}

/// An ASSIGNMENT entitlement grantable to users.
pub(super) fn entitlement(
    resource: &pb::Resource,
    slug: &str,
    display_name: String,
    description: String,
    annotations: Vec<Any>,
) -> pb::Entitlement {
    let id = resource
        .id
        .as_ref()
        .map(|r| entitlement_id(r, slug))
        .unwrap_or_default();
    pb::Entitlement {
        resource: Some(reference(resource)),
        id,
        display_name,
        description,
        grantable_to: vec![type_ref(USER, "User")],
        annotations,
        purpose: PurposeValue::Assignment as i32,
        slug: slug.into(),
    }
}

/// A grant of `entitlement` to the user `user_id`.
pub(super) fn grant(entitlement: &pb::Entitlement, user_id: &str) -> pb::Grant {
    grant_to(entitlement, rid(USER, user_id))
}

/// The grant, naming the whole resource of its entitlement rather than a reference: on a page
/// marked `InsertResourceGrants` the SDK stores what the grants name.
pub(super) fn with_resource(mut g: pb::Grant, resource: pb::Resource) -> pb::Grant {
    if let Some(e) = g.entitlement.as_mut() {
        e.resource = Some(resource);
    }
    g
}

/// A grant of `entitlement` to any principal.
pub(super) fn grant_to(entitlement: &pb::Entitlement, principal: pb::ResourceId) -> pb::Grant {
    pb::Grant {
        entitlement: Some(pb::Entitlement {
            resource: entitlement.resource.clone(),
            id: entitlement.id.clone(),
            slug: entitlement.slug.clone(),
            ..Default::default()
        }),
        id: grant_id(&entitlement.id, &principal),
        principal: Some(pb::Resource {
            id: Some(principal),
            ..Default::default()
        }),
        annotations: Vec::new(),
        sources: None,
    }
}
