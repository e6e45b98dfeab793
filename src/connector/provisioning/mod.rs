//! Grant, Revoke, CreateAccount and deprovisioning. Each works from ids only, checks them before
//! anything reaches Miro, reads current state first, writes only when something must change, and
//! says so with the SDK's annotations.
mod account;
mod deprovision;
mod grant;

use prost_types::Any;

use super::{
    ConnectorError,
    annotations::pack,
    ids::{ASSIGNED, ROLE, TEAM, USER, cap, entitlement_slug, miro_id, require_id},
    roles::{self, RoleDef},
    teams,
};
use crate::{miro::models::TeamRole, pb};

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
            team_id: miro_id("team id", &resource.resource)?.to_string(),
            role: teams::role_from_slug(slug).ok_or_else(|| {
                ConnectorError::InvalidArgument(format!(
                    "{:?} is not a team entitlement (member, admin, non_team, team_guest)",
                    cap(slug)
                ))
            })?,
        },
        ROLE if slug == ASSIGNED => Target::Role(
            roles::def(&resource.resource).ok_or_else(|| roles::unknown(&resource.resource))?,
        ),
        ROLE => {
            return Err(ConnectorError::InvalidArgument(format!(
                "roles have one entitlement, {ASSIGNED:?}, not {:?}",
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

/// The principal of a grant: a user, by a valid Miro id.
fn principal_user(principal: Option<&pb::Resource>) -> Result<String, ConnectorError> {
    let id = require_id("principal.id", principal.and_then(|p| p.id.as_ref()))?;
    if id.resource_type != USER {
        return Err(ConnectorError::InvalidArgument(format!(
            "principal must be a user, not a {:?}: Miro grants team and role access to users only",
            cap(&id.resource_type)
        )));
    }
    Ok(miro_id("user id", &id.resource)?.to_string())
}
