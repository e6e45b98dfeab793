//! Grant, Revoke, CreateAccount and deprovisioning. Each works from ids only, reads current state
//! first, writes only when something must change, and says so with the SDK's annotations.
use prost_types::Any;

use super::{
    Connector, ConnectorError,
    annotations::pack,
    model::{entitlement_slug, grant_id, require_id, unknown_type},
    roles::{self, ASSIGNED, ROLE, RoleDef, RoleKind},
    teams::{self, TEAM},
    users::{self, USER},
};
use crate::{
    miro::models::{NewScimUser, OrgRole, ScimPatch, ScimUser, TeamRole},
    pb::{self, credential_options::Options},
};

fn already_exists() -> Vec<Any> {
    vec![pack(&pb::GrantAlreadyExists {})]
}

fn already_revoked() -> Vec<Any> {
    vec![pack(&pb::GrantAlreadyRevoked {})]
}

fn precondition(m: impl Into<String>) -> ConnectorError {
    ConnectorError::FailedPrecondition(m.into())
}

/// What an entitlement stands for in Miro.
enum Target {
    Team { team_id: String, role: TeamRole },
    Role(&'static RoleDef),
}

fn target(
    entitlement: Option<&pb::Entitlement>,
) -> Result<(Target, pb::Entitlement), ConnectorError> {
    let e = entitlement
        .ok_or_else(|| ConnectorError::InvalidArgument("entitlement is required".into()))?;
    let resource = require_id(
        "entitlement.resource.id",
        e.resource.as_ref().and_then(|r| r.id.as_ref()),
    )?;
    let slug = entitlement_slug(&e.id, resource)?;
    let t = match resource.resource_type.as_str() {
        TEAM => Target::Team {
            team_id: resource.resource.clone(),
            role: teams::role_from_slug(slug).ok_or_else(|| {
                ConnectorError::InvalidArgument(format!(
                    "{slug:?} is not a team entitlement (member, admin, non_team, team_guest)"
                ))
            })?,
        },
        ROLE if slug == ASSIGNED => {
            Target::Role(roles::def(&resource.resource).ok_or_else(|| {
                ConnectorError::NotFound(format!("no role {:?}", resource.resource))
            })?)
        }
        ROLE => {
            return Err(ConnectorError::InvalidArgument(format!(
                "roles have one entitlement, {ASSIGNED:?}, not {slug:?}"
            )));
        }
        USER => {
            return Err(ConnectorError::InvalidArgument(
                "users offer no entitlements".into(),
            ));
        }
        other => return Err(unknown_type(other)),
    };
    Ok((t, e.clone()))
}

fn principal_user(principal: Option<&pb::Resource>) -> Result<String, ConnectorError> {
    let id = require_id("principal.id", principal.and_then(|p| p.id.as_ref()))?;
    if id.resource_type != USER {
        return Err(ConnectorError::InvalidArgument(format!(
            "principal must be a user, not a {:?}: Miro grants team and role access to users only",
            id.resource_type
        )));
    }
    Ok(id.resource.clone())
}

fn scim_role(role: OrgRole) -> &'static str {
    match role {
        OrgRole::InternalAdmin => "ORGANIZATION_INTERNAL_ADMIN",
        _ => "ORGANIZATION_INTERNAL_USER",
    }
}

impl Connector {
    pub async fn grant(
        &self,
        req: pb::GrantManagerServiceGrantRequest,
    ) -> Result<pb::GrantManagerServiceGrantResponse, ConnectorError> {
        let (target, entitlement) = target(req.entitlement.as_ref())?;
        let user = principal_user(req.principal.as_ref())?;
        self.require_provisioning()?;
        let new_grant = super::model::grant(&entitlement, &user);
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
                            &format!("{TEAM}:{team_id}:{}", m.role.as_str()),
                            user,
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
                    Err(e) if e.status() == Some(409) => {
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
                let current = u.primary_role().unwrap_or_default().to_ascii_lowercase();
                if current == role.as_str() {
                    return Ok(already_exists());
                }
                if !u.active {
                    return Err(precondition(format!(
                        "user {user} is deactivated; Miro does not change roles of deactivated users"
                    )));
                }
                scim.patch(user, &[ScimPatch::PrimaryRole(scim_role(role))])
                    .await?;
                Ok(roles::org_role_def(&current)
                    .map(|old| {
                        vec![pack(&pb::GrantReplaced {
                            replaced_grant_id: roles::grant(old, user).id,
                        })]
                    })
                    .unwrap_or_default())
            }
            RoleKind::Admin(name) => {
                if u.admin_roles().any(|r| r.eq_ignore_ascii_case(name)) {
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
                if !u
                    .primary_role()
                    .unwrap_or_default()
                    .eq_ignore_ascii_case(OrgRole::InternalAdmin.as_str())
                {
                    return Ok(already_revoked());
                }
                if !u.active {
                    return Err(precondition(format!(
                        "user {user} is deactivated; Miro does not change roles of deactivated users"
                    )));
                }
                // Revoking admin leaves the user an internal member.
                self.scim()?
                    .patch(
                        user,
                        &[ScimPatch::PrimaryRole(scim_role(OrgRole::InternalUser))],
                    )
                    .await?;
                Ok(Vec::new())
            }
            RoleKind::Org(_) => Err(precondition(format!(
                "Miro cannot change the {} role through its API",
                def.id
            ))),
            RoleKind::Admin(name) => {
                let u = self.scim_user(user).await?;
                if !u.admin_roles().any(|r| r.eq_ignore_ascii_case(name)) {
                    return Ok(already_revoked());
                }
                self.scim()?
                    .patch(user, &[ScimPatch::RemoveAdminRole(name.into())])
                    .await?;
                Ok(Vec::new())
            }
        }
    }

    pub async fn create_account(
        &self,
        req: pb::CreateAccountRequest,
    ) -> Result<pb::CreateAccountResponse, ConnectorError> {
        use pb::create_account_response::{AlreadyExistsResult, Result as R, SuccessResult};
        if !req.resource_type_id.is_empty() && req.resource_type_id != USER {
            return Err(ConnectorError::InvalidArgument(format!(
                "accounts are of resource type user, not {:?}",
                req.resource_type_id
            )));
        }
        match req
            .credential_options
            .as_ref()
            .and_then(|c| c.options.as_ref())
        {
            None | Some(Options::NoPassword(_)) => {}
            Some(_) => {
                return Err(ConnectorError::InvalidArgument(
                    "Miro accounts sign in through SSO or Miro's own flow: only NO_PASSWORD credentials are supported".into(),
                ));
            }
        }
        let info = req.account_info.unwrap_or_default();
        let p = info.profile.as_ref();
        let field = |k: &str| {
            super::model::profile_text(p, k)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from)
        };
        let email = field("email")
            .or_else(|| {
                info.emails
                    .iter()
                    .find(|e| e.is_primary)
                    .or(info.emails.first())
                    .map(|e| e.address.trim().to_string())
            })
            .or_else(|| Some(info.login.trim().to_string()).filter(|l| !l.is_empty()))
            .ok_or_else(|| {
                ConnectorError::InvalidArgument(
                    "email is required (profile field \"email\")".into(),
                )
            })?;
        if !valid_email(&email) {
            return Err(ConnectorError::InvalidArgument(format!(
                "{email:?} is not a valid email address"
            )));
        }
        let user_type = field("license")
            .map(|l| license_user_type(&l))
            .transpose()?;
        let (given, family) = (field("first_name"), field("last_name"));
        self.require_provisioning()?;
        let scim = self.scim()?;
        let org = self.org_id().await?;
        let existing = |m: crate::miro::models::OrgMember| async move {
            let names = scim.user(&m.id).await?;
            Ok::<_, ConnectorError>(pb::CreateAccountResponse {
                result: Some(R::AlreadyExists(AlreadyExistsResult {
                    resource: Some(users::resource(&m, names.as_ref())),
                    is_create_account_result: true,
                })),
                ..Default::default()
            })
        };
        if let Some(m) = self
            .miro()
            .rest
            .members_by_emails(org, &[&email])
            .await?
            .into_iter()
            .next()
        {
            return existing(m).await;
        }
        let display_name = match (&given, &family) {
            (Some(g), Some(f)) => Some(format!("{g} {f}")),
            _ => None,
        };
        let created = match scim
            .create(&NewScimUser {
                user_name: email.clone(),
                given_name: given,
                family_name: family,
                display_name,
                user_type,
            })
            .await
        {
            Ok(u) => u,
            // Created by someone else in between ("not unique").
            Err(e)
                if e.status() == Some(400)
                    && e.code() == Some("invalidValue")
                    && e.message().contains("not unique") =>
            {
                match self
                    .miro()
                    .rest
                    .members_by_emails(org, &[&email])
                    .await?
                    .into_iter()
                    .next()
                {
                    Some(m) => return existing(m).await,
                    None => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let member = self.miro().rest.member(org, &created.id).await?.ok_or_else(|| {
            ConnectorError::NotFound(format!("Miro created user {} but does not list it as an organization member yet; sync again shortly", created.id))
        })?;
        Ok(pb::CreateAccountResponse {
            result: Some(R::Success(SuccessResult {
                resource: Some(users::resource(&member, Some(&created))),
                is_create_account_result: true,
                invitation_expires_at: None,
            })),
            ..Default::default()
        })
    }

    /// DeleteResource and DeleteResourceV2: deprovision a user.
    pub async fn delete_resource(
        &self,
        id: Option<&pb::ResourceId>,
    ) -> Result<Vec<Any>, ConnectorError> {
        let id = require_id("resource_id", id)?;
        match id.resource_type.as_str() {
            USER => {}
            TEAM | ROLE => {
                return Err(precondition(format!(
                    "this connector does not delete {}s: it deprovisions users only",
                    id.resource_type
                )));
            }
            other => return Err(unknown_type(other)),
        }
        self.require_provisioning()?;
        let scim = self.scim()?;
        let user = &id.resource;
        let gone = || vec![pack(&pb::ResourceDoesNotExist {})];
        let done = match self.settings().deprovision {
            super::DeprovisionMode::Deactivate => match scim.user(user).await? {
                Some(u) if !u.active => return Ok(gone()),
                Some(_) => {
                    scim.patch(user, &[ScimPatch::Active(false)]).await?;
                    true
                }
                None => false,
            },
            super::DeprovisionMode::Delete => scim.delete(user).await?,
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

fn valid_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// A license as SCIM's `userType` wants it; accepts Miro's REST values or SCIM's display names.
fn license_user_type(l: &str) -> Result<String, ConnectorError> {
    const TABLE: &[(&str, &str)] = &[
        ("full", "Full"),
        ("free", "Free"),
        ("free_restricted", "Free Restricted"),
        ("full_trial", "Full (Trial)"),
        ("basic", "Basic"),
        ("standard", "Standard"),
        ("advanced", "Advanced"),
    ];
    TABLE
        .iter()
        .find(|(rest, scim)| rest.eq_ignore_ascii_case(l) || scim.eq_ignore_ascii_case(l))
        .map(|(_, scim)| scim.to_string())
        .ok_or_else(|| {
            ConnectorError::InvalidArgument(format!(
                "license {l:?} is not one Miro knows; use one of {}",
                TABLE.iter().map(|(r, _)| *r).collect::<Vec<_>>().join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_licenses() {
        assert!(valid_email("a+b@example.com"));
        assert!(!valid_email("nope"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("a b@example.com"));
        assert_eq!(license_user_type("full_trial").unwrap(), "Full (Trial)");
        assert_eq!(license_user_type("Basic").unwrap(), "Basic");
        assert!(license_user_type("platinum").is_err());
    }
}
