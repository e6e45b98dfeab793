//! DeleteResource: deprovision a user (deactivate or delete them through SCIM), or delete a user
//! group.
use prost_types::Any;

use super::precondition;
use crate::{
    connector::{
        Connector, ConnectorError, DeprovisionMode,
        annotations::pack,
        ids::{GROUP, USER, miro_id},
    },
    miro::models::ScimPatch,
    pb,
};

impl Connector {
    /// Delete a user group (DeleteResource of a `group`).
    pub(crate) async fn delete_user_group(&self, id: &str) -> Result<Vec<Any>, ConnectorError> {
        let group = miro_id("group id", id)?;
        self.require_provisioning()?;
        let _turn = self.writes.turn(format!("{GROUP}:{group}")).await;
        let _forget = self.forget_after(None);
        self.delete_group(group).await
    }

    /// Deprovision a user (DeleteResource of a `user`), as `--deprovision-mode` says.
    pub(crate) async fn deprovision(&self, id: &str) -> Result<Vec<Any>, ConnectorError> {
        let user = miro_id("user id", id)?;
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
