//! DeleteResource: deprovision a user (deactivate or delete them through SCIM), or delete a user
//! group.
use prost_types::Any;

use super::precondition;
use crate::{
    connector::{
        Connector, ConnectorError, DeprovisionMode,
        annotations::pack,
        ids::{GROUP, LICENSE, ROLE, TEAM, USER, miro_id, require_id},
    },
    miro::models::ScimPatch,
    pb,
};

impl Connector {
    /// DeleteResource and DeleteResourceV2: deprovision a user, or delete a user group.
    pub(crate) async fn delete_or_deprovision(
        &self,
        id: Option<&pb::ResourceId>,
    ) -> Result<Vec<Any>, ConnectorError> {
        let id = require_id("resource_id", id)?;
        match id.resource_type.as_str() {
            USER => {}
            GROUP => {
                let group = miro_id("group id", &id.resource)?;
                self.require_provisioning()?;
                let _turn = self.writes.turn(format!("{GROUP}:{group}")).await;
                let _forget = self.forget_after(None);
                return self.delete_group(group).await;
            }
            TEAM | ROLE | LICENSE => {
                return Err(precondition(format!(
                    "this connector does not delete {}s: it deletes user groups and deprovisions users",
                    id.resource_type
                )));
            }
            other => return Err(ConnectorError::UnknownType(other.into())),
        }
        let user = miro_id("user id", &id.resource)?;
        self.require_provisioning()?;
        let _turn = self.writes.turn(format!("{USER}:{user}")).await;
        let _forget = self.forget_after(None);
        let scim = self.scim()?;
        let gone = || vec![pack(&pb::ResourceDoesNotExist {})];
        let done = match self.settings().deprovision {
            DeprovisionMode::Deactivate => match scim.user(user).await? {
                Some(u) if !u.active => return Ok(gone()),
                Some(_) => {
                    scim.patch(user, &[ScimPatch::Active(false)]).await?;
                    true
                }
                None => false,
            },
            DeprovisionMode::Delete => scim.delete(user).await?,
        };
        if done {
            return Ok(Vec::new());
        }
        // SCIM does not see guests: tell "gone" from "not SCIM's to change".
        let org = self.org_id().await?;
        match self.miro().rest.member(org, user).await? {
            Some(m) => Err(precondition(format!(
                "user {user} has the {} role; Miro's SCIM API cannot deprovision guests or external users",
                m.role.as_str()
            ))),
            None => Ok(gone()),
        }
    }
}
