//! Grant, Revoke, CreateAccount and deprovisioning. Each works from ids only, checks them before
//! anything reaches Miro, reads current state first, writes only when something must change, and
//! says so with the SDK's annotations.
mod account;
mod deprovision;
mod grant;
mod group;

use prost_types::Any;

use super::{
    ConnectorError,
    annotations::pack,
    ids::{
        ASSIGNED, GROUP, LICENSE, MEMBER, ROLE, TEAM, USER, cap, entitlement_slug, miro_id,
        require_id,
    },
    licenses,
    roles::{self, RoleDef},
    teams,
};
use crate::{
    miro::models::{License, TeamRole},
    pb,
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
    Team {
        team_id: String,
        role: TeamRole,
    },
    Role(&'static RoleDef),
    /// A custom admin role, by its name.
    CustomAdmin(String),
    Group(String),
    License(License),
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
            team_id: miro_id("team id", &resource.resource)?.to_string(),
            role: teams::role_from_slug(slug).ok_or_else(|| {
                ConnectorError::InvalidArgument(format!(
                    "{:?} is not a team entitlement (member, admin, non_team, team_guest)",
                    cap(slug)
                ))
            })?,
        },
        ROLE | LICENSE if slug != ASSIGNED => {
            return Err(ConnectorError::InvalidArgument(format!(
                "{}s have one entitlement, {ASSIGNED:?}, not {:?}",
                resource.resource_type,
                cap(slug)
            )));
        }
        ROLE => match roles::Role::lookup(&resource.resource)? {
            roles::Role::Listed(def) => Target::Role(def),
            roles::Role::Custom(name) => Target::CustomAdmin(name),
        },
        LICENSE => Target::License(licenses::parse(&resource.resource)?),
        GROUP if slug == MEMBER => {
            Target::Group(miro_id("group id", &resource.resource)?.to_string())
        }
        GROUP => {
            return Err(ConnectorError::InvalidArgument(format!(
                "user groups have one entitlement, {MEMBER:?}, not {:?}",
                cap(slug)
            )));
        }
        USER => {
            return Err(ConnectorError::InvalidArgument(
                "users offer no entitlements".into(),
            ));
        }
        other => return Err(ConnectorError::UnknownType(other.into())),
    };
    Ok((t, e.clone()))
}

/// Who a grant is to: a user, or a user group (team membership only), by a valid Miro id.
enum Principal {
    User(String),
    Group(String),
}

impl Principal {
    /// Writes to one principal run one at a time (`inflight`).
    fn key(&self) -> String {
        match self {
            Self::User(id) => format!("{USER}:{id}"),
            Self::Group(id) => format!("{GROUP}:{id}"),
        }
    }
}

fn principal(principal: Option<&pb::Resource>) -> Result<Principal, ConnectorError> {
    let id = require_id("principal.id", principal.and_then(|p| p.id.as_ref()))?;
    match id.resource_type.as_str() {
        USER => Ok(Principal::User(
            miro_id("user id", &id.resource)?.to_string(),
        )),
        GROUP => Ok(Principal::Group(
            miro_id("group id", &id.resource)?.to_string(),
        )),
        other => Err(ConnectorError::InvalidArgument(format!(
            "principal must be a user or a user group, not a {:?}",
            cap(other)
        ))),
    }
}

/// A group holds team membership and nothing else.
fn only_team_membership() -> ConnectorError {
    ConnectorError::InvalidArgument(
        "a user group can be granted team membership (team:{id}:member) only; other entitlements go to users".into(),
    )
}
