//! Grant and Revoke: team roles through REST, org and admin roles through SCIM.
use prost_types::Any;

use super::{
    Principal, Target, already_exists, already_revoked, only_content, only_team_membership,
    precondition, principal, target, turn_key,
};
use crate::{
    connector::{
        Connector, ConnectorError,
        annotations::pack,
        grants, groups,
        ids::{TEAM, USER, entitlement_id, grant_id, rid},
        roles::{self, RoleDef, RoleKind},
        teams,
    },
    miro::{
        ErrorKind,
        models::{License, OrgRole, ScimPatch, ScimUser, TeamRole},
    },
    pb,
};

impl Connector {
    pub(crate) async fn apply_grant(
        &self,
        req: pb::GrantManagerServiceGrantRequest,
    ) -> Result<pb::GrantManagerServiceGrantResponse, ConnectorError> {
        let (target, entitlement) = target(req.entitlement.as_ref())?;
        let who = principal(req.principal.as_ref())?;
        self.require_provisioning()?;
        let _turn = self.writes.turn(turn_key(&target, &who)).await;
        let _forget = self.forget_write(&target, &who);
        let (annotations, new_grant) = match (target, who) {
            (Target::Content(c), who) => {
                self.content_on("boards and Spaces")?;
                let (annotations, grants) = self.grant_content(c, who, &entitlement).await?;
                return Ok(pb::GrantManagerServiceGrantResponse {
                    annotations,
                    grants,
                });
            }
            (
                Target::Team {
                    team_id,
                    role: TeamRole::Member,
                },
                Principal::Group(group),
            ) => (
                self.assign_group(&team_id, &group).await?,
                groups::team_grant(&team_id, &group),
            ),
            (_, Principal::Group(_)) => return Err(only_team_membership()),
            (_, Principal::Team(_) | Principal::OrgRole(_)) => return Err(only_content()),
            (target, Principal::User(user)) => {
                let annotations = match target {
                    Target::Team { team_id, role } => {
                        self.grant_team(&team_id, role, &user).await?
                    }
                    Target::Role(def) => self.grant_role(def, &user).await?,
                    Target::CustomAdmin(name) => self.grant_admin_role(&name, &user).await?,
                    Target::Group(group) => self.set_group_member(&group, &user, true).await?,
                    Target::License(l) => self.grant_license(l, &user).await?,
                    Target::Content(_) => unreachable!("content targets are matched first"),
                };
                (annotations, grants::grant(&entitlement, &user))
            }
        };
        Ok(pb::GrantManagerServiceGrantResponse {
            annotations,
            grants: vec![new_grant],
        })
    }

    /// An upgrade to Full through SCIM `userType`; Miro cannot downgrade through its API.
    async fn grant_license(&self, l: License, user: &str) -> Result<Vec<Any>, ConnectorError> {
        let u = self.scim_user(user).await?;
        let current = u.user_type.as_deref().and_then(License::from_either);
        if current == Some(l) {
            return Ok(already_exists());
        }
        if l != License::Full {
            return Err(precondition(format!(
                "Miro assigns the {} license itself and cannot set it through its API; only an upgrade to full can be granted",
                l.as_str()
            )));
        }
        if !u.active {
            return Err(precondition(format!(
                "user {user} is deactivated; Miro does not change the license of deactivated users"
            )));
        }
        self.scim()?.patch(user, &[ScimPatch::License(l)]).await?;
        Ok(current
            .map(|c| {
                vec![pack(&pb::GrantReplaced {
                    replaced_grant_id: crate::connector::licenses::grant_of(c, user).id,
                })]
            })
            .unwrap_or_default())
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
                let email = self.active_email(user, "added to teams").await?;
                match rest.invite(org, team_id, user, &email, role).await {
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
        match def.kind {
            RoleKind::Org(role) => {
                let u = self.scim_user(user).await?;
                let current = u.org_role();
                if current == Some(role) {
                    return Ok(already_exists());
                }
                if !u.active {
                    return Err(precondition(format!(
                        "user {user} is deactivated; Miro does not change roles of deactivated users"
                    )));
                }
                self.scim()?
                    .patch(user, &[ScimPatch::PrimaryRole(role)])
                    .await?;
                Ok(current
                    .and_then(|c| roles::org_role_def(c.as_str()))
                    .map(|old| {
                        vec![pack(&pb::GrantReplaced {
                            replaced_grant_id: roles::grant(old, user).id,
                        })]
                    })
                    .unwrap_or_default())
            }
            RoleKind::Admin(name) => self.grant_admin_role(name, user).await,
        }
    }

    /// An admin role, prebuilt or custom, by the name Miro knows it by.
    async fn grant_admin_role(&self, name: &str, user: &str) -> Result<Vec<Any>, ConnectorError> {
        let u = self.scim_user(user).await?;
        if u.has_admin_role(name) {
            return Ok(already_exists());
        }
        self.scim()?
            .patch(user, &[ScimPatch::AddAdminRole(name.into())])
            .await?;
        Ok(Vec::new())
    }

    async fn revoke_admin_role(&self, name: &str, user: &str) -> Result<Vec<Any>, ConnectorError> {
        let u = self.scim_user(user).await?;
        if !u.has_admin_role(name) {
            return Ok(already_revoked());
        }
        self.scim()?
            .patch(user, &[ScimPatch::RemoveAdminRole(name.into())])
            .await?;
        Ok(Vec::new())
    }

    pub(crate) async fn apply_revoke(
        &self,
        req: pb::GrantManagerServiceRevokeRequest,
    ) -> Result<pb::GrantManagerServiceRevokeResponse, ConnectorError> {
        let g = req
            .grant
            .ok_or_else(|| ConnectorError::InvalidArgument("grant is required".into()))?;
        let (target, _) = target(g.entitlement.as_ref())?;
        let who = principal(g.principal.as_ref())?;
        self.require_provisioning()?;
        let _turn = self.writes.turn(turn_key(&target, &who)).await;
        let _forget = self.forget_write(&target, &who);
        let annotations = match (target, who) {
            (Target::Content(c), who) => {
                self.content_on("boards and Spaces")?;
                self.revoke_content(c, who).await?
            }
            (
                Target::Team {
                    team_id,
                    role: TeamRole::Member,
                },
                Principal::Group(group),
            ) => self.unassign_group(&team_id, &group).await?,
            (_, Principal::Group(_)) => return Err(only_team_membership()),
            (_, Principal::Team(_) | Principal::OrgRole(_)) => return Err(only_content()),
            (Target::Team { team_id, role }, Principal::User(user)) => {
                self.revoke_team(&team_id, role, &user).await?
            }
            (Target::Role(def), Principal::User(user)) => self.revoke_role(def, &user).await?,
            (Target::CustomAdmin(name), Principal::User(user)) => {
                self.revoke_admin_role(&name, &user).await?
            }
            (Target::Group(group), Principal::User(user)) => {
                self.set_group_member(&group, &user, false).await?
            }
            (Target::License(l), Principal::User(_)) => {
                return Err(precondition(format!(
                    "Miro cannot take a license away through its API (no downgrade); to free a {} license, deprovision the user (DeleteResource), which releases it",
                    l.as_str()
                )));
            }
        };
        Ok(pb::GrantManagerServiceRevokeResponse { annotations })
    }

    async fn revoke_team(
        &self,
        team_id: &str,
        role: TeamRole,
        user: &str,
    ) -> Result<Vec<Any>, ConnectorError> {
        let org = self.org_id().await?;
        let rest = &self.miro().rest;
        // Only the role this grant names is removed: a stale grant never removes a membership.
        match rest.team_member(org, team_id, user).await? {
            Some(m) if m.role == role => {
                if !teams::writable(role) {
                    return Err(precondition(format!(
                        "Miro does not let the {} team role be changed through its API",
                        role.as_str()
                    )));
                }
                if rest.remove_from_team(org, team_id, user).await? {
                    Ok(Vec::new())
                } else {
                    Ok(already_revoked())
                }
            }
            _ => Ok(already_revoked()),
        }
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
            RoleKind::Admin(name) => self.revoke_admin_role(name, user).await,
        }
    }
}
