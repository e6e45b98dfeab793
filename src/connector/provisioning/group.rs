//! User groups: membership (a members PATCH, 50 credits an item, never the 2,000-credit DELETE),
//! assignment to teams, and creating and deleting the groups themselves.
use prost_types::Any;

use super::{already_exists, already_revoked, precondition};
use crate::{
    connector::{
        Connector, ConnectorError, groups,
        ids::{GROUP, truncated},
    },
    miro::{ErrorKind, models::MembersResult},
    pb,
};

/// Longest name and description Miro accepts for a group (spec: 1..60 and 0..300 characters).
const NAME_MAX: usize = 60;
const DESCRIPTION_MAX: usize = 300;

/// Read the one result of a single-user members PATCH: whether it changed anything.
fn changed(results: &[MembersResult], operation: &str, user: &str) -> Result<bool, ConnectorError> {
    let r = results
        .iter()
        .find(|r| r.operation == operation)
        .ok_or_else(|| {
            ConnectorError::Miro(crate::miro::MiroError::Internal(format!(
                "Miro's answer to the group members change has no {operation} result"
            )))
        })?;
    if let Some(e) = &r.error {
        return Err(precondition(format!(
            "Miro refused to {} user {user}: {}",
            if operation == "addMembers" {
                "add"
            } else {
                "remove"
            },
            truncated(e.message.as_deref().unwrap_or("no reason given"))
        )));
    }
    Ok(r.affected_users.iter().any(|u| u.id == user))
}

impl Connector {
    /// Make `user` a member of `group` or not, with one members PATCH when the state differs.
    pub(super) async fn set_group_member(
        &self,
        group: &str,
        user: &str,
        member: bool,
    ) -> Result<Vec<Any>, ConnectorError> {
        let org = self.org_id().await?;
        let unchanged = || {
            if member {
                already_exists()
            } else {
                already_revoked()
            }
        };
        if self
            .miro()
            .rest
            .group_member(org, group, user)
            .await?
            .is_some()
            == member
        {
            return Ok(unchanged());
        }
        let (add, remove, operation): (&[&str], &[&str], _) = if member {
            (&[user], &[], "addMembers")
        } else {
            (&[], &[user], "removeMembers")
        };
        let results = self.group_change(group, add, remove).await?;
        // Not affected: someone else made the change in between.
        Ok(match changed(&results, operation, user)? {
            true => Vec::new(),
            false => unchanged(),
        })
    }

    async fn group_change(
        &self,
        group: &str,
        add: &[&str],
        remove: &[&str],
    ) -> Result<Vec<MembersResult>, ConnectorError> {
        let org = self.org_id().await?;
        match self
            .miro()
            .rest
            .change_group_members(org, group, add, remove)
            .await
        {
            Err(e) if e.kind() == ErrorKind::NotFound => Err(ConnectorError::NotFound(format!(
                "no Miro user group with id {group}"
            ))),
            r => Ok(r?),
        }
    }

    pub(super) async fn assign_group(
        &self,
        team: &str,
        group: &str,
    ) -> Result<Vec<Any>, ConnectorError> {
        let org = self.org_id().await?;
        let rest = &self.miro().rest;
        if rest.team_group(org, team, group).await?.is_some() {
            return Ok(already_exists());
        }
        match rest.assign_group(org, team, group).await {
            Ok(_) => Ok(Vec::new()),
            // Assigned in between: the state asked for holds.
            Err(e) if e.kind() == ErrorKind::Conflict => Ok(already_exists()),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn unassign_group(
        &self,
        team: &str,
        group: &str,
    ) -> Result<Vec<Any>, ConnectorError> {
        let org = self.org_id().await?;
        let rest = &self.miro().rest;
        if rest.team_group(org, team, group).await?.is_none() {
            return Ok(already_revoked());
        }
        Ok(match rest.unassign_group(org, team, group).await? {
            true => Vec::new(),
            false => already_revoked(),
        })
    }

    /// CreateResource for `group`: a user group named by the resource's display name. A group of
    /// that name already there is the answer, not a second group.
    pub(crate) async fn create_group(
        &self,
        resource: Option<&pb::Resource>,
    ) -> Result<pb::CreateResourceResponse, ConnectorError> {
        let r = resource
            .ok_or_else(|| ConnectorError::InvalidArgument("resource is required".into()))?;
        let kind =
            r.id.as_ref()
                .map(|i| i.resource_type.as_str())
                .unwrap_or_default();
        if kind != GROUP {
            return Err(ConnectorError::InvalidArgument(format!(
                "this connector creates user groups (resource type {GROUP:?}), not {:?}; accounts come from CreateAccount",
                truncated(kind)
            )));
        }
        let name = r.display_name.trim();
        if name.is_empty() || name.chars().count() > NAME_MAX {
            return Err(ConnectorError::InvalidArgument(format!(
                "a user group needs a display_name of 1 to {NAME_MAX} characters"
            )));
        }
        if r.description.chars().count() > DESCRIPTION_MAX {
            return Err(ConnectorError::InvalidArgument(format!(
                "a user group's description holds at most {DESCRIPTION_MAX} characters"
            )));
        }
        self.require_provisioning()?;
        let _turn = self.writes.turn(format!("group name:{name}")).await;
        let org = self.org_id().await?;
        let rest = &self.miro().rest;
        let description = (!r.description.is_empty()).then_some(r.description.as_str());
        let group = match rest.group_named(org, name).await? {
            Some(g) => g,
            None => rest.create_group(org, name, description).await?,
        };
        Ok(pb::CreateResourceResponse {
            created: Some(groups::resource(&group)),
            annotations: Vec::new(),
        })
    }

    /// DeleteResource for `group`: the group and its memberships go; its members stay users. The
    /// group is read first: a repeat sends no DELETE (Level 4, 40 times a read's credits).
    pub(super) async fn delete_group(&self, group: &str) -> Result<Vec<Any>, ConnectorError> {
        let org = self.org_id().await?;
        let rest = &self.miro().rest;
        let gone = || {
            vec![crate::connector::annotations::pack(
                &pb::ResourceDoesNotExist {},
            )]
        };
        if rest.group(org, group).await?.is_none() {
            return Ok(gone());
        }
        Ok(match rest.delete_group(org, group).await? {
            true => Vec::new(),
            false => gone(),
        })
    }
}
