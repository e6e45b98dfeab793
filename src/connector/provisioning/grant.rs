//! Grant and Revoke: team roles through REST, org and admin roles through SCIM.
use prost_types::Any;

use super::{Target, already_exists, already_revoked, precondition, principal_user, target};
use crate::{
    connector::{
        Connector, ConnectorError,
        annotations::pack,
        grants,
        ids::{TEAM, USER, entitlement_id, grant_id, rid},
        roles::{self, RoleDef, RoleKind},
        teams,
    },
    miro::{
        ErrorKind,
        models::{OrgRole, ScimPatch, ScimUser, TeamRole},
    },
    pb,
};

impl Connector {
    pub async fn grant(
        &self,
        req: pb::GrantManagerServiceGrantRequest,
    ) -> Result<pb::GrantManagerServiceGrantResponse, ConnectorError> {
        let (target, entitlement) = target(req.entitlement.as_ref())?;
        let user = principal_user(req.principal.as_ref())?;
        self.require_provisioning()?;
        let new_grant = grants::grant(&entitlement, &user);
        let annotations = match target {
            Target::Team { team_id, role } => self.grant_team(&team_id, role, &user).await?,
            Target::Role(def) => self.grant_role(def, &user).await?,
        };
        Ok(pb::GrantManagerServiceGrantResponse {
            annotations,
            grants: vec![new_grant],
        })
    }

    async fn grant_team(
        &self,
        team_id: &str,
        role: TeamRole,
        user: &str,
    ) -> Result<Vec<Any>, ConnectorError> {
        if !teams::writable(role) {
            return Err(precondition(format!(
                "Miro does not let the {} team role be assigned through its API; grant member or admin instead",
                role.as_str()
            )));
        }
        let org = self.org_id().await?;
        let rest = &self.miro().rest;
        match rest.team_member(org, team_id, user).await? {
            Some(m) if m.role == role => Ok(already_exists()),
            Some(m) => {
                rest.set_team_role(org, team_id, user, role).await?;
                Ok(match teams::ROLES.contains(&m.role) {
                    true => vec![pack(&pb::GrantReplaced {
                        replaced_grant_id: grant_id(
                            &entitlement_id(&rid(TEAM, team_id), m.role.as_str()),
                            &rid(USER, user),
                        ),
                    })],
                    false => Vec::new(),
                })
            }
            None => {
                let member = rest.member(org, user).await?.ok_or_else(|| {
                    precondition(format!("user {user} is not a member of the Miro organization; create the account first"))
                })?;
                if !member.active {
                    return Err(precondition(format!(
                        "user {user} is deactivated in Miro and cannot be added to teams; reactivate them first"
                    )));
                }
                match rest.invite(org, team_id, user, &member.email, role).await {
                    // Someone added them in between: judge by what is there now.
                    Err(e) if e.kind() == ErrorKind::Conflict => {
                        match rest.team_member(org, team_id, user).await? {
                            Some(m) if m.role == role => Ok(already_exists()),
                            _ => Err(e.into()),
                        }
                    }
                    r => r.map(|_| Vec::new()).map_err(Into::into),
                }
            }
        }
    }

    async fn scim_user(&self, user: &str) -> Result<ScimUser, ConnectorError> {
        self.scim()?.user(user).await?.ok_or_else(|| {
            precondition(format!(
                "user {user} is not managed by Miro's SCIM API (unknown id, or a guest or external user, whose roles Miro cannot change)"
            ))
        })
    }

    async fn grant_role(
        &self,
        def: &'static RoleDef,
        user: &str,
    ) -> Result<Vec<Any>, ConnectorError> {
        if !roles::writable(def) {
            return Err(precondition(format!(
                "Miro cannot assign the {} role through its API; only organization_internal_admin and organization_internal_user can be set",
                def.id
            )));
        }
        let u = self.scim_user(user).await?;
        let scim = self.scim()?;
        match def.kind {
            RoleKind::Org(role) => {
                let current = u.org_role();
                if current == Some(role) {
                    return Ok(already_exists());
                }
                if !u.active {
                    return Err(precondition(format!(
                        "user {user} is deactivated; Miro does not change roles of deactivated users"
                    )));
                }
                scim.patch(user, &[ScimPatch::PrimaryRole(role)]).await?;
                Ok(current
                    .and_then(|c| roles::org_role_def(c.as_str()))
                    .map(|old| {
                        vec![pack(&pb::GrantReplaced {
                            replaced_grant_id: roles::grant(old, user).id,
                        })]
                    })
                    .unwrap_or_default())
            }
            RoleKind::Admin(name) => {
                if u.has_admin_role(name) {
                    return Ok(already_exists());
                }
                scim.patch(user, &[ScimPatch::AddAdminRole(name.into())])
                    .await?;
                Ok(Vec::new())
            }
        }
    }

    pub async fn revoke(
        &self,
        req: pb::GrantManagerServiceRevokeRequest,
    ) -> Result<pb::GrantManagerServiceRevokeResponse, ConnectorError> {
        let g = req
            .grant
            .ok_or_else(|| ConnectorError::InvalidArgument("grant is required".into()))?;
        let (target, _) = target(g.entitlement.as_ref())?;
        let user = principal_user(g.principal.as_ref())?;
        self.require_provisioning()?;
        let annotations = match target {
            Target::Team { team_id, role } => {
                let org = self.org_id().await?;
                let rest = &self.miro().rest;
                // Only the role this grant names is removed: a stale grant never removes a membership.
                match rest.team_member(org, &team_id, &user).await? {
                    Some(m) if m.role == role => {
                        if !teams::writable(role) {
                            return Err(precondition(format!(
                                "Miro does not let the {} team role be changed through its API",
                                role.as_str()
                            )));
                        }
                        if rest.remove_from_team(org, &team_id, &user).await? {
                            Vec::new()
                        } else {
                            already_revoked()
                        }
                    }
                    _ => already_revoked(),
                }
            }
            Target::Role(def) => self.revoke_role(def, &user).await?,
        };
        Ok(pb::GrantManagerServiceRevokeResponse { annotations })
    }

    async fn revoke_role(
        &self,
        def: &'static RoleDef,
        user: &str,
    ) -> Result<Vec<Any>, ConnectorError> {
        match def.kind {
            RoleKind::Org(OrgRole::InternalUser) => Err(precondition(
                "every Miro organization member holds a base role; to take organization_internal_user away, deprovision the account (DeleteResource) instead",
            )),
            RoleKind::Org(OrgRole::InternalAdmin) => {
                let u = self.scim_user(user).await?;
                if u.org_role() != Some(OrgRole::InternalAdmin) {
                    return Ok(already_revoked());
                }
                if !u.active {
                    return Err(precondition(format!(
                        "user {user} is deactivated; Miro does not change roles of deactivated users"
                    )));
                }
                // Revoking admin leaves the user an internal member.
                self.scim()?
                    .patch(user, &[ScimPatch::PrimaryRole(OrgRole::InternalUser)])
                    .await?;
                Ok(Vec::new())
            }
            RoleKind::Org(_) => Err(precondition(format!(
                "Miro cannot change the {} role through its API",
                def.id
            ))),
            RoleKind::Admin(name) => {
                let u = self.scim_user(user).await?;
                if !u.has_admin_role(name) {
                    return Ok(already_revoked());
                }
                self.scim()?
                    .patch(user, &[ScimPatch::RemoveAdminRole(name.into())])
                    .await?;
                Ok(Vec::new())
            }
        }
    }
}
