//! Grant and Revoke on boards and Spaces. Users are shared by email or have their role changed;
//! user groups are shared (an upsert) or unshared; a team's or the organization's access is set
//! through the sharing policy, so revoking it is remediation in one step (the level goes to
//! `private`). Each write reads current state first.
use prost_types::Any;

use super::{Principal, already_exists, already_revoked, precondition};
use crate::{
    connector::{
        Connector, ConnectorError,
        annotations::pack,
        boards,
        content::{ORG_ROLES, group_share_grant, org_access_grants, team_access_grant},
        grants::grant,
        ids::{BOARD, GROUP, PROJECT, USER, entitlement_id, grant_id, rid},
        spaces,
    },
    miro::{
        ErrorKind,
        boards::Reach,
        content_models::{Access, BoardRole, ProjectRole, ShareRole},
        paging::PageAt,
        spaces::SpaceAt,
    },
    pb,
};

/// What a board or Space entitlement stands for.
pub(super) enum Content {
    Board {
        id: String,
        role: BoardRole,
        /// The team the entitlement names (its resource's parent), checked before any request.
        team: Option<String>,
    },
    Space {
        id: String,
        team: String,
        role: ProjectRole,
    },
}

fn replaced(kind: &str, id: &str, old: &str, principal: pb::ResourceId) -> Vec<Any> {
    vec![pack(&pb::GrantReplaced {
        replaced_grant_id: grant_id(&entitlement_id(&rid(kind, id), old), &principal),
    })]
}

/// The level a board role stands for when it is a team's or the organization's access.
fn level_of(role: BoardRole) -> Result<Access, ConnectorError> {
    match role {
        BoardRole::Viewer => Ok(Access::View),
        BoardRole::Commenter => Ok(Access::Comment),
        BoardRole::Editor => Ok(Access::Edit),
        _ => Err(ConnectorError::InvalidArgument(format!(
            "a team or the organization reaches a board as viewer, commenter or editor, not {}",
            role.as_str()
        ))),
    }
}

fn board_share_role(role: BoardRole) -> Result<ShareRole, ConnectorError> {
    match role {
        BoardRole::Viewer => Ok(ShareRole::Viewer),
        BoardRole::Commenter => Ok(ShareRole::Commenter),
        BoardRole::Editor => Ok(ShareRole::Editor),
        _ => Err(ConnectorError::InvalidArgument(format!(
            "user groups are shared boards as viewer, commenter or editor, not {}",
            role.as_str()
        ))),
    }
}

/// What a user group is shared with.
#[derive(Clone, Copy)]
enum Shared<'a> {
    Board(&'a str),
    Space(&'a str),
}

impl Connector {
    /// The role a user group is shared with, reading the share pages until it is found.
    async fn share_of(
        &self,
        on: Shared<'_>,
        group: &str,
    ) -> Result<Option<ShareRole>, ConnectorError> {
        let org = self.org_id().await?;
        let rest = &self.miro().rest;
        let mut cursor: Option<String> = None;
        loop {
            let at = PageAt::after(cursor.as_deref());
            let page = match on {
                Shared::Board(b) => rest.board_groups_page(org, b, at).await?,
                Shared::Space(p) => rest.project_groups_page(org, p, at).await?,
            };
            if let Some(s) = page.items.iter().find(|s| s.id == group) {
                return Ok(Some(s.role));
            }
            match page.next {
                Some(c) => cursor = Some(c),
                None => return Ok(None),
            }
        }
    }

    /// The content scope, before anything is written: the team the entitlement names, before
    /// any request; then a board's own team as Miro reads it (`board_level`, which the team and
    /// organization access writes call themselves). A Space's team is the one Miro's paths go
    /// through.
    async fn content_scope(&self, c: &Content, who: &Principal) -> Result<(), ConnectorError> {
        match c {
            Content::Board { id, team, .. } => {
                if let Some(t) = team {
                    self.content_team(t, &format!("board {id}"))?;
                }
                if let Principal::User(_) | Principal::Group(_) = who {
                    self.board_level(id, Reach::Team).await?;
                }
                Ok(())
            }
            Content::Space { id, team, .. } => self.content_team(team, &format!("Space {id}")),
        }
    }

    /// A Space's user groups are written without its team in the path, so that the team named is
    /// its own is read first (Miro answers 404 for a Space under another team).
    async fn space_under(&self, at: SpaceAt<'_>) -> Result<(), ConnectorError> {
        match self.miro().rest.project(at).await? {
            Some(_) => Ok(()),
            None => Err(ConnectorError::NotFound(format!(
                "no Miro Space with id {} in team {}",
                at.project, at.team
            ))),
        }
    }

    pub(super) async fn grant_content(
        &self,
        c: Content,
        who: Principal,
        e: &pb::Entitlement,
    ) -> Result<(Vec<Any>, Vec<pb::Grant>), ConnectorError> {
        self.content_scope(&c, &who).await?;
        match c {
            Content::Board { id, role, .. } => self.grant_board(&id, role, who, e).await,
            Content::Space { id, team, role } => self.grant_space(&id, &team, role, who, e).await,
        }
    }

    async fn grant_board(
        &self,
        board: &str,
        role: BoardRole,
        who: Principal,
        e: &pb::Entitlement,
    ) -> Result<(Vec<Any>, Vec<pb::Grant>), ConnectorError> {
        let rest = &self.miro().rest;
        let org = self.org_id().await?;
        match who {
            Principal::User(user) => {
                if role == BoardRole::Owner {
                    return Err(precondition(
                        "Miro transfers board ownership only in its interface; grant coowner instead",
                    ));
                }
                let a = match rest.board_member(board, &user).await? {
                    Some(m) if m.role == role => already_exists(),
                    Some(m) if m.role == BoardRole::Owner => {
                        return Err(precondition(format!(
                            "user {user} owns board {board}; Miro changes the owner's role only in its interface"
                        )));
                    }
                    Some(m) => {
                        rest.set_board_role(board, &user, role).await?;
                        replaced(BOARD, board, m.role.as_str(), rid(USER, &user))
                    }
                    None => {
                        let email = self
                            .active_email(&user, "given access to boards and Spaces")
                            .await?;
                        let inv = rest.share_board(board, &user, &email, role).await?;
                        if let Some(f) = inv.failed.first() {
                            return Err(precondition(format!(
                                "Miro could not share board {board} with user {user}: {}",
                                f.reason
                            )));
                        }
                        Vec::new()
                    }
                };
                Ok((a, vec![grant(e, &user)]))
            }
            Principal::Group(group) => {
                let want = board_share_role(role)?;
                let now = self.share_of(Shared::Board(board), &group).await?;
                let a = match now {
                    Some(r) if r == want => already_exists(),
                    other => {
                        rest.share_board_group(org, board, &group, want).await?;
                        match other.and_then(boards::share_role) {
                            Some(old) => replaced(BOARD, board, old.as_str(), rid(GROUP, &group)),
                            None => Vec::new(),
                        }
                    }
                };
                Ok((a, vec![group_share_grant(e, &group)]))
            }
            Principal::Team(team) => {
                let want = level_of(role)?;
                let (owner_team, now) = self.board_level(board, Reach::Team).await?;
                if owner_team != team {
                    return Err(precondition(format!(
                        "board {board} belongs to team {owner_team}; only its own team's access can be set"
                    )));
                }
                let a = self.set_level(board, Reach::Team, now, want).await?;
                Ok((a, vec![team_access_grant(e, &team)]))
            }
            Principal::OrgRole(_) => {
                let want = level_of(role)?;
                let (_, now) = self.board_level(board, Reach::Organization).await?;
                let a = self
                    .set_level(board, Reach::Organization, now, want)
                    .await?;
                Ok((a, org_access_grants(e)))
            }
        }
    }

    async fn set_level(
        &self,
        board: &str,
        reach: Reach,
        now: Access,
        want: Access,
    ) -> Result<Vec<Any>, ConnectorError> {
        if now == want {
            return Ok(already_exists());
        }
        self.miro()
            .rest
            .set_board_access(board, reach, want)
            .await?;
        Ok(Vec::new())
    }

    async fn grant_space(
        &self,
        space: &str,
        team: &str,
        role: ProjectRole,
        who: Principal,
        e: &pb::Entitlement,
    ) -> Result<(Vec<Any>, Vec<pb::Grant>), ConnectorError> {
        let rest = &self.miro().rest;
        let org = self.org_id().await?;
        let at = SpaceAt {
            org,
            team,
            project: space,
        };
        match who {
            Principal::User(user) => {
                let a = match rest.project_member(at, &user).await? {
                    Some(m) if m.role == role => already_exists(),
                    Some(m) => {
                        rest.set_project_role(at, &user, role).await?;
                        replaced(PROJECT, space, m.role.as_str(), rid(USER, &user))
                    }
                    None => {
                        let email = self
                            .active_email(&user, "given access to boards and Spaces")
                            .await?;
                        match rest.add_project_member(at, &user, &email, role).await {
                            Err(err) if err.kind() == ErrorKind::Conflict => {
                                match rest.project_member(at, &user).await? {
                                    Some(m) if m.role == role => already_exists(),
                                    _ => return Err(err.into()),
                                }
                            }
                            r => r.map(|_| Vec::new())?,
                        }
                    }
                };
                Ok((a, vec![grant(e, &user)]))
            }
            Principal::Group(group) => {
                let want = spaces::share_role_of(role).ok_or_else(|| {
                    ConnectorError::InvalidArgument(format!(
                        "user groups are shared Spaces as viewer, commentator or editor, not {}",
                        role.as_str()
                    ))
                })?;
                self.space_under(at).await?;
                let now = self.share_of(Shared::Space(space), &group).await?;
                let a = match now {
                    Some(r) if r == want => already_exists(),
                    other => {
                        rest.share_project_group(org, space, &group, want).await?;
                        match other.and_then(spaces::share_role) {
                            Some(old) => replaced(PROJECT, space, old.as_str(), rid(GROUP, &group)),
                            None => Vec::new(),
                        }
                    }
                };
                Ok((a, vec![group_share_grant(e, &group)]))
            }
            Principal::Team(t) if t == team && role == ProjectRole::Viewer => {
                let a = match rest.project_team_access(at).await? {
                    Access::View => already_exists(),
                    _ => {
                        rest.set_project_team_access(at, Access::View).await?;
                        Vec::new()
                    }
                };
                Ok((a, vec![team_access_grant(e, team)]))
            }
            Principal::Team(_) | Principal::OrgRole(_) => {
                Err(ConnectorError::InvalidArgument(format!(
                    "a Space's team access is its own team's, as viewer; Space {space} belongs to team {team}"
                )))
            }
        }
    }

    pub(super) async fn revoke_content(
        &self,
        c: Content,
        who: Principal,
    ) -> Result<Vec<Any>, ConnectorError> {
        self.content_scope(&c, &who).await?;
        let rest = &self.miro().rest;
        let org = self.org_id().await?;
        match (c, who) {
            (Content::Board { id, role, .. }, Principal::User(user)) => {
                match rest.board_member(&id, &user).await? {
                    Some(m) if m.role == BoardRole::Owner && role == BoardRole::Owner => {
                        Err(precondition(format!(
                            "user {user} owns board {id}; Miro does not remove a board's owner, and transfers ownership only in its interface"
                        )))
                    }
                    Some(m) if m.role == role => {
                        rest.remove_board_member(&id, &user).await?;
                        Ok(Vec::new())
                    }
                    _ => Ok(already_revoked()),
                }
            }
            (Content::Board { id, role, .. }, Principal::Group(group)) => {
                let now = self.share_of(Shared::Board(&id), &group).await?;
                if now.and_then(boards::share_role) == Some(role)
                    && rest.unshare_board_group(org, &id, &group).await?
                {
                    return Ok(Vec::new());
                }
                Ok(already_revoked())
            }
            (Content::Board { id, role, .. }, Principal::Team(team)) => {
                let (owner_team, now) = self.board_level(&id, Reach::Team).await?;
                self.remediate(
                    &id,
                    Reach::Team,
                    owner_team == team && boards::access_role(now) == Some(role),
                )
                .await
            }
            (Content::Board { id, role, .. }, Principal::OrgRole(_)) => {
                let (_, now) = self.board_level(&id, Reach::Organization).await?;
                self.remediate(
                    &id,
                    Reach::Organization,
                    boards::access_role(now) == Some(role),
                )
                .await
            }
            (Content::Space { id, team, role }, who) => {
                let at = SpaceAt {
                    org,
                    team: &team,
                    project: &id,
                };
                match who {
                    Principal::User(user) => match rest.project_member(at, &user).await? {
                        Some(m)
                            if m.role == role && rest.remove_project_member(at, &user).await? =>
                        {
                            Ok(Vec::new())
                        }
                        _ => Ok(already_revoked()),
                    },
                    Principal::Group(group) => {
                        self.space_under(at).await?;
                        let now = self.share_of(Shared::Space(&id), &group).await?;
                        if now.and_then(spaces::share_role) == Some(role)
                            && rest.unshare_project_group(org, &id, &group).await?
                        {
                            return Ok(Vec::new());
                        }
                        Ok(already_revoked())
                    }
                    Principal::Team(t)
                        if t == team
                            && role == ProjectRole::Viewer
                            && rest.project_team_access(at).await? == Access::View =>
                    {
                        rest.set_project_team_access(at, Access::Private).await?;
                        Ok(Vec::new())
                    }
                    _ => Ok(already_revoked()),
                }
            }
        }
    }

    /// Revoking a team's or the organization's access sets it to `private` when the grant holds.
    async fn remediate(
        &self,
        board: &str,
        reach: Reach,
        holds: bool,
    ) -> Result<Vec<Any>, ConnectorError> {
        if !holds {
            return Ok(already_revoked());
        }
        self.miro()
            .rest
            .set_board_access(board, reach, Access::Private)
            .await?;
        Ok(Vec::new())
    }
}

/// Org access names these roles as principals; the rest are not reached by it.
pub(super) fn org_role(id: &str) -> Option<&'static str> {
    ORG_ROLES.iter().copied().find(|r| *r == id)
}
