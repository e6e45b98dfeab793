//! Grant, Revoke, CreateAccount and deprovisioning. Each works from ids only, checks them before
//! anything reaches Miro, reads current state first, writes only when something must change, and
//! says so with the SDK's annotations.
mod account;
mod content;
mod deprovision;
mod grant;
mod group;

use prost_types::Any;

use super::{
    ConnectorError,
    annotations::pack,
    boards,
    ids::{ASSIGNED, MEMBER, board_id, entitlement_slug, miro_id, require_id, truncated},
    kinds::Kind,
    licenses,
    roles::{self, RoleDef},
    spaces, teams,
};
use crate::{
    miro::models::{License, TeamRole},
    pb,
};
use content::Content;

fn already_exists() -> Vec<Any> {
    vec![pack(&pb::GrantAlreadyExists {})]
}

fn already_revoked() -> Vec<Any> {
    vec![pack(&pb::GrantAlreadyRevoked {})]
}

fn precondition(m: impl Into<String>) -> ConnectorError {
    ConnectorError::FailedPrecondition(m.into())
}

impl super::Connector {
    /// The email of an active organization member, which Miro's invitations go to; `what` says
    /// what a deactivated member cannot be.
    async fn active_email(&self, user: &str, what: &str) -> Result<String, ConnectorError> {
        let org = self.org_id().await?;
        let m = self.miro().rest.member(org, user).await?.ok_or_else(|| {
            precondition(format!(
                "user {user} is not a member of the Miro organization; create the account first"
            ))
        })?;
        if !m.active {
            return Err(precondition(format!(
                "user {user} is deactivated in Miro and cannot be {what}; reactivate them first"
            )));
        }
        Ok(m.email)
    }
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
    Content(Content),
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
    let t = match Kind::named(&resource.resource_type)? {
        Kind::Team => Target::Team {
            team_id: miro_id("team id", &resource.resource)?.to_string(),
            role: teams::role_from_slug(slug).ok_or_else(|| {
                ConnectorError::InvalidArgument(format!(
                    "{:?} is not a team entitlement (member, admin, non_team, team_guest)",
                    truncated(slug)
                ))
            })?,
        },
        Kind::Role | Kind::License if slug != ASSIGNED => {
            return Err(ConnectorError::InvalidArgument(format!(
                "{}s have one entitlement, {ASSIGNED:?}, not {:?}",
                resource.resource_type,
                truncated(slug)
            )));
        }
        Kind::Role => match roles::Role::lookup(&resource.resource)? {
            roles::Role::Listed(def) => Target::Role(def),
            roles::Role::Custom(name) => Target::CustomAdmin(name),
        },
        Kind::License => Target::License(licenses::parse(&resource.resource)?),
        Kind::Group if slug == MEMBER => {
            Target::Group(miro_id("group id", &resource.resource)?.to_string())
        }
        Kind::Group => {
            return Err(ConnectorError::InvalidArgument(format!(
                "user groups have one entitlement, {MEMBER:?}, not {:?}",
                truncated(slug)
            )));
        }
        Kind::Board => Target::Content(Content::Board {
            id: board_id("board id", &resource.resource)?.to_string(),
            team: e
                .resource
                .as_ref()
                .map(crate::connector::content::claimed_team)
                .transpose()?
                .flatten()
                .map(str::to_string),
            role: boards::role_from_slug(slug).ok_or_else(|| {
                ConnectorError::InvalidArgument(format!(
                    "{:?} is not a board entitlement (viewer, commenter, editor, coowner, owner)",
                    truncated(slug)
                ))
            })?,
        }),
        Kind::Space => Target::Content(Content::Space {
            id: miro_id("Space id", &resource.resource)?.to_string(),
            team: spaces::team_of(
                e.resource.as_ref().unwrap_or(&pb::Resource::default()),
                None,
            )?
            .to_string(),
            role: spaces::role_from_slug(slug).ok_or_else(|| {
                ConnectorError::InvalidArgument(format!(
                    "{:?} is not a Space entitlement (owner, coowner, editor, commentator, viewer)",
                    truncated(slug)
                ))
            })?,
        }),
        Kind::User | Kind::Organization => {
            return Err(ConnectorError::InvalidArgument(format!(
                "{}s offer no entitlements",
                resource.resource_type
            )));
        }
    };
    Ok((t, e.clone()))
}

impl Target {
    /// The resource whose grants a write to this target changes (None: grants read from the
    /// user's own profile, which the member listing holds).
    fn resource(&self) -> Option<&str> {
        match self {
            Self::Team { team_id, .. } => Some(team_id),
            Self::Group(id) => Some(id),
            Self::Content(Content::Board { id, .. } | Content::Space { id, .. }) => Some(id),
            Self::Role(_) | Self::CustomAdmin(_) | Self::License(_) => None,
        }
    }
}

/// Throws away, when the write is over (done or failed part-way), what was read ahead about the
/// resources it touched, so the next read sees Miro after the write.
pub(crate) struct Forget<'a> {
    connector: &'a super::Connector,
    /// None: everything (a user or group deleted leaves every listing that named it).
    ids: Option<Vec<String>>,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        let ids: Option<Vec<&str>> = self
            .ids
            .as_ref()
            .map(|ids| ids.iter().map(String::as_str).collect());
        self.connector.ahead.forget(ids.as_deref());
    }
}

impl super::Connector {
    /// `ids`: the resources a write touches; a user's profile lives in the member listing (`""`).
    pub(crate) fn forget_after(&self, ids: Option<Vec<String>>) -> Forget<'_> {
        Forget {
            connector: self,
            ids,
        }
    }

    fn forget_write(&self, target: &Target, who: &Principal) -> Forget<'_> {
        let mut ids: Vec<String> = target.resource().into_iter().map(str::to_string).collect();
        // A board's holders show in its team's board listing too (its owner).
        if let Target::Content(Content::Board { team: Some(t), .. }) = target {
            ids.push(t.clone());
        }
        ids.push(who.id().to_string());
        if matches!(who, Principal::User(_)) {
            ids.push(String::new());
        }
        self.forget_after(Some(ids))
    }
}

/// Who a grant is to: a user, or a user group (team membership and content only), by a valid
/// Miro id; a team or an internal org role only for the access they have to boards and Spaces.
enum Principal {
    User(String),
    Group(String),
    Team(String),
    OrgRole(&'static str),
}

impl Principal {
    fn id(&self) -> &str {
        match self {
            Self::User(id) | Self::Group(id) | Self::Team(id) => id,
            Self::OrgRole(id) => id,
        }
    }

    /// Writes to one principal run one at a time (`inflight`).
    fn key(&self) -> String {
        match self {
            Self::User(id) => format!("{}:{id}", Kind::User.id()),
            Self::Group(id) => format!("{}:{id}", Kind::Group.id()),
            Self::Team(id) => format!("{}:{id}", Kind::Team.id()),
            Self::OrgRole(id) => format!("{}:{id}", Kind::Role.id()),
        }
    }
}

/// What a write takes its turn on (`inflight`): the principal, except for a board's or Space's
/// team and organization access, which is one setting of the content whichever principal names
/// it (the internal users' and admins' grants are one organization level), and which the
/// link-access action also writes.
fn turn_key(target: &Target, who: &Principal) -> String {
    match (target, who) {
        (
            Target::Content(Content::Board { id, .. }),
            Principal::Team(_) | Principal::OrgRole(_),
        ) => {
            format!("{}:{id}", Kind::Board.id())
        }
        (Target::Content(Content::Space { id, .. }), Principal::Team(_)) => {
            format!("{}:{id}", Kind::Space.id())
        }
        _ => who.key(),
    }
}

fn principal(principal: Option<&pb::Resource>) -> Result<Principal, ConnectorError> {
    let id = require_id("principal.id", principal.and_then(|p| p.id.as_ref()))?;
    let not_one = || {
        ConnectorError::InvalidArgument(format!(
            "principal must be a user or a user group (or, for boards and Spaces, a team or an org role), not a {:?}",
            truncated(&id.resource_type)
        ))
    };
    match Kind::named(&id.resource_type).map_err(|_| not_one())? {
        Kind::User => Ok(Principal::User(
            miro_id("user id", &id.resource)?.to_string(),
        )),
        Kind::Group => Ok(Principal::Group(
            miro_id("group id", &id.resource)?.to_string(),
        )),
        Kind::Team => Ok(Principal::Team(miro_id("team id", &id.resource)?.to_string())),
        Kind::Role => content::org_role(&id.resource)
            .map(Principal::OrgRole)
            .ok_or_else(|| {
                ConnectorError::InvalidArgument(format!(
                    "a role is a principal only as organization access to a board (organization_internal_admin or organization_internal_user), not {:?}",
                    truncated(&id.resource)
                ))
            }),
        Kind::License | Kind::Board | Kind::Space | Kind::Organization => Err(not_one()),
    }
}

/// Teams and org roles are principals only of board and Space access.
fn only_content() -> ConnectorError {
    ConnectorError::InvalidArgument(
        "a team or an org role can be granted access to a board or a Space only".into(),
    )
}

/// A group holds team membership and nothing else.
fn only_team_membership() -> ConnectorError {
    ConnectorError::InvalidArgument(
        "a user group can be granted team membership (team:{id}:member) only; other entitlements go to users".into(),
    )
}
