//! What boards and Spaces share: the content scope (mode and teams), the grants that team,
//! organization and user-group access give, the phases of their grant listings, and what a sync
//! does when Miro refuses to list them (it goes on without them, and says so once).

use super::{
    Connector, ConnectorError, ContentMode,
    annotations::pack,
    grants::grant_to,
    ids::{
        ASSIGNED, BOARD, GROUP, MEMBER, PROJECT, ROLE, TEAM, USER, entitlement_id, miro_id, rid,
        truncated,
    },
};
use crate::{
    miro::{
        ErrorKind, MiroError,
        boards::Reach,
        content_models::{Access, Board, GroupShare, ShareRole},
        paging::Page,
    },
    pb,
};

/// The team a board or Space the client sent names: its parent, else its profile's `team_id`;
/// checked as a Miro id when there is one.
pub(super) fn claimed_team(r: &pb::Resource) -> Result<Option<&str>, ConnectorError> {
    r.parent_resource_id
        .as_ref()
        .filter(|p| p.resource_type == TEAM && !p.resource.is_empty())
        .map(|p| p.resource.as_str())
        .or_else(|| super::profile::profile_text(r.profile.as_ref(), "team_id"))
        .map(|t| miro_id("team id", t))
        .transpose()
}

/// Organization access reaches the organization's own members: its internal users and admins.
/// External users and team guests are not "anyone at the company", so their roles are not named.
pub(super) const ORG_ROLES: &[&str] =
    &["organization_internal_admin", "organization_internal_user"];

/// What Miro refused to list, each said once per daemon.
#[derive(Debug, Clone, Copy)]
pub(super) enum Skipped {
    Boards,
    Spaces,
    BoardGroups,
    SpaceGroups,
    Classification,
}

impl Skipped {
    fn label(self) -> &'static str {
        match self {
            Self::Boards => "boards",
            Self::Spaces => "spaces",
            Self::BoardGroups => "board_user_groups",
            Self::SpaceGroups => "space_user_groups",
            Self::Classification => "classification",
        }
    }
    fn why(self) -> &'static str {
        match self {
            Self::Boards => {
                "Miro refused to list boards: the sync goes on without them; give the app the boards:read scope"
            }
            Self::Spaces => {
                "Miro refused to list Spaces: the sync goes on without them; they need the projects:read scope and the Enterprise plan"
            }
            Self::BoardGroups => {
                "Miro refused to list the user groups boards are shared with: the sync goes on without that access; it needs organizations:groups:read and the Enterprise plan"
            }
            Self::SpaceGroups => {
                "Miro refused to list the user groups Spaces are shared with: the sync goes on without that access; it needs organizations:groups:read and the Enterprise plan"
            }
            Self::Classification => {
                "Miro refused to read board classification: boards are listed without their labels; it needs organizations:read, boards:read and the Enterprise plan"
            }
        }
    }
}

/// Expandable to the users who hold `entitlement_ids`, directly or through groups. Only users:
/// a group assigned to the team reaches the board through its members, not as a second grantee.
fn expandable(mut g: pb::Grant, entitlement_ids: Vec<String>) -> pb::Grant {
    g.annotations.push(pack(&pb::GrantExpandable {
        entitlement_ids,
        shallow: false,
        resource_type_ids: vec![USER.into()],
    }));
    g
}

/// Team access: a grant to the team, which every member and admin of the team holds.
pub(super) fn team_access_grant(e: &pb::Entitlement, team: &str) -> pb::Grant {
    let t = rid(TEAM, team);
    let ids = vec![entitlement_id(&t, "member"), entitlement_id(&t, "admin")];
    expandable(grant_to(e, t), ids)
}

/// Organization access: a grant to each internal org role, which every holder of the role holds.
pub(super) fn org_access_grants(e: &pb::Entitlement) -> Vec<pb::Grant> {
    ORG_ROLES
        .iter()
        .map(|r| {
            let role = rid(ROLE, r);
            let ids = vec![entitlement_id(&role, ASSIGNED)];
            expandable(grant_to(e, role), ids)
        })
        .collect()
}

/// A user-group share: a grant to the group, which every member of the group holds.
pub(super) fn group_share_grant(e: &pb::Entitlement, group: &str) -> pb::Grant {
    let g = rid(GROUP, group);
    let ids = vec![entitlement_id(&g, MEMBER)];
    expandable(grant_to(e, g), ids)
}

/// A page of direct members as grants: each member whose role the entitlements name; anyone else
/// (a role Miro adds later, an id not Miro's shape) is skipped and said in the log.
pub(super) fn member_grants<'a, R: Copy + PartialEq>(
    of: &str,
    members: impl IntoIterator<Item = (&'a str, R)>,
    roles: &[R],
    label: impl Fn(R) -> &'static str,
    entitlement: impl Fn(R) -> pb::Entitlement,
) -> Vec<pb::Grant> {
    let mut grants = Vec::new();
    for (id, role) in members {
        if miro_id("user id", id).is_ok() && roles.contains(&role) {
            grants.push(grant_to(&entitlement(role), rid(USER, id)));
        } else {
            tracing::warn!(of, user = %truncated(id), role = label(role), "skipping a member this connector cannot read");
        }
    }
    grants
}

/// Where a board's or Space's grant listing is: the first page (sharing and the first page of
/// user groups), more user groups, then (in `members` mode) the direct members.
#[derive(Debug, PartialEq)]
pub(super) enum Phase {
    Start,
    Groups(String),
    /// A cursor or offset; `None` for the first page.
    Members(Option<String>),
}

pub(super) fn phase(token: Option<String>) -> Result<Phase, ConnectorError> {
    let Some(t) = token else {
        return Ok(Phase::Start);
    };
    match t.split_once(':') {
        Some(("g", c)) if !c.is_empty() => Ok(Phase::Groups(c.into())),
        Some(("m", c)) => Ok(Phase::Members((!c.is_empty()).then(|| c.to_string()))),
        _ => Err(ConnectorError::BadPageToken("unknown phase".into())),
    }
}

impl Connector {
    pub(super) fn content_mode(&self) -> ContentMode {
        self.settings().content.mode
    }

    /// Boards and Spaces are served only when content access is on.
    pub(super) fn content_on(&self, what: &str) -> Result<(), ConnectorError> {
        if self.content_mode() == ContentMode::Off {
            return Err(ConnectorError::FailedPrecondition(format!(
                "{what} are not synced: content access is off; set content to sharing or members (--content)"
            )));
        }
        Ok(())
    }

    /// A team's boards and Spaces are read and written only when the scope covers the team.
    pub(super) fn content_team(&self, team: &str, what: &str) -> Result<(), ConnectorError> {
        if self.settings().content.covers(team) {
            Ok(())
        } else {
            Err(ConnectorError::NotFound(format!(
                "{what} belongs to team {team}, which content_teams or content_skip_teams leaves out"
            )))
        }
    }

    /// A team, marked as the parent of boards and Spaces when the scope covers it: the client
    /// then lists them under it, and lists nothing for the teams left out.
    pub(super) fn with_children(&self, mut team: pb::Resource, team_id: &str) -> pb::Resource {
        if self.settings().content.covers(team_id) {
            for child in [BOARD, PROJECT] {
                team.annotations.push(pack(&pb::ChildResourceType {
                    resource_type_id: child.into(),
                }));
            }
        }
        team
    }

    /// The token after a page of user-group shares.
    pub(super) fn after_groups(&self, next: Option<String>) -> Option<String> {
        match next {
            Some(c) => Some(format!("g:{c}")),
            None if self.content_mode() == ContentMode::Members => Some("m:".into()),
            None => None,
        }
    }

    /// A page of user-group shares as grants (`entitlement` says which a share role gives), and
    /// the token after it. A 403 on the first page leaves the shares out (see `content_denied`).
    pub(super) fn group_shares(
        &self,
        what: Skipped,
        first: bool,
        page: Result<Page<GroupShare>, MiroError>,
        entitlement: impl Fn(ShareRole) -> Option<pb::Entitlement>,
        grants: &mut Vec<pb::Grant>,
    ) -> Result<Option<String>, ConnectorError> {
        let page = match page {
            Err(e) if first && self.content_denied(what, &e) => return Ok(self.after_groups(None)),
            r => r?,
        };
        for g in &page.items {
            match entitlement(g.role) {
                Some(e) if miro_id("group id", &g.id).is_ok() => {
                    grants.push(group_share_grant(&e, &g.id));
                }
                _ => {
                    tracing::warn!(part = what.label(), group = %truncated(&g.id), role = g.role.as_str(), "skipping a user-group share this connector cannot read")
                }
            }
        }
        Ok(self.after_groups(page.next))
    }

    /// The board's team and one of its sharing levels, read now.
    pub(super) async fn board_level(
        &self,
        board: &str,
        reach: Reach,
    ) -> Result<(String, Access), ConnectorError> {
        let b =
            self.miro().rest.board(board).await?.ok_or_else(|| {
                ConnectorError::NotFound(format!("no Miro board with id {board}"))
            })?;
        let s = b.sharing().ok_or_else(|| {
            ConnectorError::FailedPrecondition(format!(
                "Miro answered board {board} without its sharing policy"
            ))
        })?;
        let level = match reach {
            Reach::Team => s.team_access,
            Reach::Organization => s.organization_access,
            Reach::Link => s.access,
        };
        // Every write to a board reads it here first, so this is where a team left out of the
        // scope stops it: before anything is written.
        let team = self.board_team(&b, board)?;
        Ok((team.to_string(), level))
    }

    /// The team of a board as Miro answered it, checked as an id and against the scope.
    pub(super) fn board_team<'b>(&self, b: &'b Board, id: &str) -> Result<&'b str, ConnectorError> {
        let team = b
            .team_id()
            .and_then(|t| miro_id("team id", t).ok())
            .ok_or_else(|| {
                ConnectorError::FailedPrecondition(format!(
                    "Miro answered board {id} without its team"
                ))
            })?;
        self.content_team(team, &format!("board {id}"))?;
        Ok(team)
    }

    /// A 403 on a content listing: the sync goes on without that part; the log (once) and a
    /// counter (each time) say why.
    pub(super) fn content_denied(&self, what: Skipped, e: &MiroError) -> bool {
        if e.kind() != ErrorKind::Forbidden {
            return false;
        }
        metrics::counter!("connector_content_skipped_total", "part" => what.label()).increment(1);
        if self.warned.first(what.label()) {
            tracing::warn!(error = %e, "{}", what.why());
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_parse_and_refuse() {
        assert_eq!(phase(None).unwrap(), Phase::Start);
        assert_eq!(
            phase(Some("g:x".into())).unwrap(),
            Phase::Groups("x".into())
        );
        assert_eq!(phase(Some("m:".into())).unwrap(), Phase::Members(None));
        assert_eq!(
            phase(Some("m:50".into())).unwrap(),
            Phase::Members(Some("50".into()))
        );
        assert!(phase(Some("g:".into())).is_err());
        assert!(phase(Some("z:1".into())).is_err());
    }

    #[test]
    fn access_grants_expand_to_who_they_reach() {
        let e = pb::Entitlement {
            id: "board:b=:editor".into(),
            ..Default::default()
        };
        let t = team_access_grant(&e, "7");
        assert_eq!(t.id, "board:b=:editor:team:7");
        let x = crate::connector::annotations::find::<pb::GrantExpandable>(&t.annotations).unwrap();
        assert_eq!(x.entitlement_ids, ["team:7:member", "team:7:admin"]);
        let o = org_access_grants(&e);
        assert_eq!(o[1].id, "board:b=:editor:role:organization_internal_user");
    }
}
