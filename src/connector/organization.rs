//! `organization`: the one Miro organization the token belongs to. It has no entitlements or
//! grants; it is what a sign-in uses (the usage feed's target), as baton-github's organization is.
//! Listing it costs nothing: its id and name come with the token's info, read once.
use super::{
    Connector, ConnectorError,
    ids::{ORGANIZATION, rid, truncated},
};
use crate::pb;

pub(super) fn resource_type() -> pb::ResourceType {
    pb::ResourceType {
        id: ORGANIZATION.into(),
        display_name: "Organization".into(),
        traits: Vec::new(),
        annotations: Vec::new(),
        description: "The Miro organization: what a sign-in uses, in the usage event feed".into(),
        sourced_externally: false,
    }
}

pub(super) fn resource(id: &str, name: &str) -> pb::Resource {
    pb::Resource {
        id: Some(rid(ORGANIZATION, id)),
        display_name: if name.is_empty() {
            format!("Miro organization {id}")
        } else {
            name.into()
        },
        ..Default::default()
    }
}

impl Connector {
    /// The organization, as a resource.
    pub(crate) async fn organization(&self) -> Result<pb::Resource, ConnectorError> {
        let (id, name) = self.org().await?;
        Ok(resource(id, name))
    }

    pub(super) async fn get_organization(&self, id: &str) -> Result<pb::Resource, ConnectorError> {
        let org = self.organization().await?;
        if org.id.as_ref().is_some_and(|r| r.resource == id) {
            Ok(org)
        } else {
            Err(ConnectorError::NotFound(format!(
                "organization {:?} is not the one this token belongs to",
                truncated(id)
            )))
        }
    }
}
