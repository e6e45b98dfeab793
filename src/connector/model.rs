//! Building blocks shared by the resource types: entitlements, grants, ids, request checks.
use prost_types::{Any, Struct, Value, value::Kind};

use super::ConnectorError;
use crate::pb::{self, entitlement::PurposeValue};

pub fn rid(resource_type: &str, id: &str) -> pb::ResourceId {
    pb::ResourceId {
        resource_type: resource_type.into(),
        resource: id.into(),
        baton_resource: false,
    }
}

/// The part of a resource a grant or entitlement points at.
pub fn reference(r: &pb::Resource) -> pb::Resource {
    pb::Resource {
        id: r.id.clone(),
        display_name: r.display_name.clone(),
        ..Default::default()
    }
}

pub fn user_type_ref() -> pb::ResourceType {
    pb::ResourceType {
        id: super::users::USER.into(),
        display_name: "User".into(),
        ..Default::default()
    }
}

pub fn entitlement_id(resource: &pb::ResourceId, slug: &str) -> String {
    format!("{}:{}:{}", resource.resource_type, resource.resource, slug)
}

/// An ASSIGNMENT entitlement grantable to users.
pub fn entitlement(
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
        grantable_to: vec![user_type_ref()],
        annotations,
        purpose: PurposeValue::Assignment as i32,
        slug: slug.into(),
    }
}

pub fn grant_id(entitlement_id: &str, user_id: &str) -> String {
    format!("{entitlement_id}:{}:{user_id}", super::users::USER)
}

/// A grant of `entitlement` to the user `user_id`.
pub fn grant(entitlement: &pb::Entitlement, user_id: &str) -> pb::Grant {
    pb::Grant {
        entitlement: Some(pb::Entitlement {
            resource: entitlement.resource.clone(),
            id: entitlement.id.clone(),
            slug: entitlement.slug.clone(),
            ..Default::default()
        }),
        principal: Some(pb::Resource {
            id: Some(rid(super::users::USER, user_id)),
            ..Default::default()
        }),
        id: grant_id(&entitlement.id, user_id),
        annotations: Vec::new(),
        sources: None,
    }
}

/// A resource id with both parts present.
pub fn require_id<'a>(
    what: &str,
    id: Option<&'a pb::ResourceId>,
) -> Result<&'a pb::ResourceId, ConnectorError> {
    match id {
        Some(id) if !id.resource_type.is_empty() && !id.resource.is_empty() => Ok(id),
        _ => Err(ConnectorError::InvalidArgument(format!(
            "{what} is required: a resource id with resource_type and resource set"
        ))),
    }
}

/// The slug of an entitlement id `{type}:{resource}:{slug}`, checked against the entitlement's resource.
pub fn entitlement_slug<'a>(
    entitlement_id: &'a str,
    resource: &pb::ResourceId,
) -> Result<&'a str, ConnectorError> {
    let prefix = format!("{}:{}:", resource.resource_type, resource.resource);
    entitlement_id.strip_prefix(&prefix).filter(|s| !s.is_empty() && !s.contains(':')).ok_or_else(|| {
        ConnectorError::InvalidArgument(format!(
            "entitlement id {entitlement_id:?} does not belong to resource {}:{} (expected {prefix}<slug>)",
            resource.resource_type, resource.resource
        ))
    })
}

pub fn unknown_type(t: &str) -> ConnectorError {
    ConnectorError::InvalidArgument(format!(
        "unknown resource type {t:?}; this connector serves user, team and role"
    ))
}

/// A free-form profile (`google.protobuf.Struct`) from string or list fields.
pub fn profile(fields: Vec<(&str, Value)>) -> Struct {
    Struct {
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}

pub fn text(s: impl Into<String>) -> Value {
    Value {
        kind: Some(Kind::StringValue(s.into())),
    }
}

pub fn flag(b: bool) -> Value {
    Value {
        kind: Some(Kind::BoolValue(b)),
    }
}

pub fn list(items: impl IntoIterator<Item = String>) -> Value {
    Value {
        kind: Some(Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(text).collect(),
        })),
    }
}

pub fn profile_text<'a>(p: Option<&'a Struct>, key: &str) -> Option<&'a str> {
    match p?.fields.get(key)?.kind.as_ref()? {
        Kind::StringValue(s) => Some(s),
        _ => None,
    }
}

pub fn profile_list(p: Option<&Struct>, key: &str) -> Option<Vec<String>> {
    match p?.fields.get(key)?.kind.as_ref()? {
        Kind::ListValue(l) => Some(
            l.values
                .iter()
                .filter_map(|v| match &v.kind {
                    Some(Kind::StringValue(s)) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_must_belong_to_their_resource() {
        let team = rid("team", "42");
        assert_eq!(entitlement_slug("team:42:admin", &team).unwrap(), "admin");
        assert!(entitlement_slug("team:43:admin", &team).is_err());
        assert!(entitlement_slug("role:42:admin", &team).is_err());
        assert!(entitlement_slug("team:42:", &team).is_err());
        assert!(entitlement_slug("team:42:admin:extra", &team).is_err());
    }
}
