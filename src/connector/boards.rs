//! `board`: a child of its team. Entitlements are its roles; grants come from its owner, its
//! team and organization access, the user groups it is shared with and (in `members` mode) its
//! direct members. Link access is not a principal: it is in the profile, as text (`link_access`)
//! and as a flag to filter on (`link_shared`), and it changes through a resource action.
use super::{
    Connector, ConnectorError, ContentMode,
    annotations::pack,
    classification,
    content::{
        Phase, Skipped, claimed_team, member_grants, org_access_grants, phase, team_access_grant,
    },
    grants::{entitlement, grant, reference, type_ref},
    ids::{BOARD, GROUP, TEAM, board_id, miro_id, rid, truncated},
    page_token,
    profile::{flag, profile, profile_text, text},
    readahead::{plan::TEAM_BOARDS, reads},
};
use crate::{
    miro::{
        classification::Label,
        content_models::{Access, Board, BoardRole, ShareRole},
        paging::offset_limit,
    },
    pb,
};

/// The roles a board's entitlements name, lowest first. `owner` is read-only: Miro transfers
/// ownership only in its interface.
pub(super) const ROLES: &[BoardRole] = &[
    BoardRole::Viewer,
    BoardRole::Commenter,
    BoardRole::Editor,
    BoardRole::Coowner,
    BoardRole::Owner,
];

pub(super) fn resource_type() -> pb::ResourceType {
    pb::ResourceType {
        id: BOARD.into(),
        display_name: "Board".into(),
        traits: Vec::new(),
        annotations: Vec::new(),
        description: "A Miro board, under its team: who reaches it, through members, user groups, its team, the organization or its link".into(),
        sourced_externally: false,
    }
}

fn level(a: Access) -> &'static str {
    a.as_str()
}

/// The role a sharing level gives: `view` makes viewers, and so on; none for `private`.
pub(super) fn access_role(a: Access) -> Option<BoardRole> {
    match a {
        Access::View => Some(BoardRole::Viewer),
        Access::Comment => Some(BoardRole::Commenter),
        Access::Edit => Some(BoardRole::Editor),
        Access::Private | Access::Unknown => None,
    }
}

pub(super) fn share_role(r: ShareRole) -> Option<BoardRole> {
    match r {
        ShareRole::Viewer => Some(BoardRole::Viewer),
        ShareRole::Commenter => Some(BoardRole::Commenter),
        ShareRole::Editor => Some(BoardRole::Editor),
        ShareRole::Unknown => None,
    }
}

pub(super) fn resource(b: &Board, team: &str, label: Option<&Label>) -> pb::Resource {
    let mut fields = vec![
        ("id", text(&b.id)),
        ("name", text(&b.name)),
        ("team_id", text(team)),
    ];
    if let Some(p) = &b.project {
        fields.push(("project_id", text(&p.id)));
    }
    if let Some(o) = &b.owner {
        fields.push(("owner_id", text(&o.id)));
        fields.push(("owner_name", text(&o.name)));
    }
    for (k, v) in [
        ("created_at", &b.created_at),
        ("modified_at", &b.modified_at),
        ("last_opened_at", &b.last_opened_at),
    ] {
        if let Some(v) = v {
            fields.push((k, text(v)));
        }
    }
    let mut description = b.description.clone();
    if let Some(s) = b.sharing() {
        fields.push(("link_access", text(level(s.access))));
        fields.push(("link_password_required", flag(s.access_password_required)));
        fields.push(("link_shared", flag(access_role(s.access).is_some())));
        fields.push(("team_access", text(level(s.team_access))));
        fields.push(("organization_access", text(level(s.organization_access))));
        if access_role(s.access).is_some() {
            let password = if s.access_password_required {
                "with a password"
            } else {
                "no password"
            };
            description = format!(
                "Anyone with the link can {} ({password}). {description}",
                s.access.as_str()
            )
            .trim()
            .to_string();
        }
        if let Some(l) = label {
            fields.push(("classification", text(&l.name)));
            fields.push(("classification_id", text(&l.id)));
            fields.push((
                "classification_sharing",
                text(l.sharing_recommendation.as_str()),
            ));
            if let Some(beyond) = classification::beyond(l, s) {
                fields.push(("shared_beyond_classification", flag(beyond)));
                if beyond {
                    description = format!(
                        "Shared beyond its label {} ({}). {description}",
                        l.name,
                        l.sharing_recommendation.as_str()
                    )
                    .trim()
                    .to_string();
                }
            }
        }
    }
    pb::Resource {
        id: Some(rid(BOARD, &b.id)),
        display_name: if b.name.is_empty() {
            b.id.clone()
        } else {
            b.name.clone()
        },
        description,
        parent_resource_id: Some(rid(TEAM, team)),
        profile: Some(profile(fields)),
        ..Default::default()
    }
}

fn label(r: BoardRole) -> &'static str {
    match r {
        BoardRole::Viewer => "Viewer",
        BoardRole::Commenter => "Commenter",
        BoardRole::Editor => "Editor",
        BoardRole::Coowner => "Co-owner",
        _ => "Owner",
    }
}

pub(super) fn entitlement_of(board: &pb::Resource, role: BoardRole) -> pb::Entitlement {
    let board_id = board.id.as_ref().map_or("", |i| i.resource.as_str());
    let mut annotations = Vec::new();
    if role == BoardRole::Owner {
        annotations.push(pack(&pb::EntitlementImmutable {
            source_id: String::new(),
            metadata: None,
        }));
    } else {
        // A member holds one role on a board: granting one replaces the other.
        annotations.push(pack(&pb::EntitlementExclusionGroup {
            exclusion_group_id: format!("board:{board_id}:role"),
            order: ROLES.iter().position(|r| *r == role).unwrap_or(0) as u32,
            is_default: role == BoardRole::Viewer,
            scope_to_resource: true,
        }));
    }
    let mut e = entitlement(
        board,
        role.as_str(),
        format!("{} {}", board.display_name, label(role)),
        format!(
            "Can reach the Miro board {} as {}",
            board.display_name,
            role.as_str()
        ),
        annotations,
    );
    if matches!(
        role,
        BoardRole::Viewer | BoardRole::Commenter | BoardRole::Editor
    ) {
        e.grantable_to.push(type_ref(GROUP, "User group"));
    }
    e
}

/// A board role from an entitlement slug.
pub(super) fn role_from_slug(slug: &str) -> Option<BoardRole> {
    ROLES.iter().copied().find(|r| r.as_str() == slug)
}

/// What the first page of a board's grants needs: from the profile the client sent back, or from
/// Miro when it did not send one.
struct Sharing {
    owner: Option<String>,
    team: Option<String>,
    team_access: Access,
    org_access: Access,
}

fn from_profile(r: &pb::Resource) -> Option<Sharing> {
    let p = r.profile.as_ref();
    // A level Miro adds later reads as Unknown (no grant), not as a missing policy.
    let access = |k| profile_text(p, k).map(|v| Access::parse(v).unwrap_or(Access::Unknown));
    Some(Sharing {
        owner: profile_text(p, "owner_id").map(str::to_string),
        team: profile_text(p, "team_id").map(str::to_string),
        team_access: access("team_access")?,
        org_access: access("organization_access")?,
    })
}

impl Connector {
    /// One page of a team's boards: one Miro request; none for a team the scope leaves out.
    pub(crate) async fn list_boards(
        &self,
        team: &str,
        token: &str,
        page_size: u32,
    ) -> Result<(Vec<pb::Resource>, String), ConnectorError> {
        let team = miro_id("team id", team)?;
        let scope = format!("resources:board:{team}");
        let offset = match page_token::decode(&scope, token)? {
            None => 0,
            Some(o) => o
                .parse::<usize>()
                .map_err(|_| ConnectorError::BadPageToken("no offset".into()))?,
        };
        if !self.settings().content.covers(team) {
            return Ok((Vec::new(), String::new()));
        }
        let limit = offset_limit(page_size as usize);
        if offset == 0 {
            // A walk lists each team's boards in the teams' order: the next teams' first pages
            // are on their way.
            for next in self.ahead.plans.asked(TEAM_BOARDS, team) {
                if self.settings().content.covers(&next) {
                    let pages = reads::team_boards(&self.miro, &next, limit);
                    self.ahead
                        .lead_planned(&pages, 1, (TEAM_BOARDS, &next), false);
                }
            }
        }
        let pages = reads::team_boards(&self.miro, team, limit);
        let at = (offset > 0).then(|| offset.to_string());
        let page = match self.read_answer(&pages, at.as_deref(), reads::LEAD).await {
            Err(e) if offset == 0 && self.content_denied(Skipped::Boards, &e) => {
                return Ok((Vec::new(), String::new()));
            }
            r => r?,
        };
        let boards: Vec<&Board> = page
            .items
            .iter()
            .filter(|b| {
                let ok = board_id("board id", &b.id).is_ok();
                if !ok {
                    tracing::warn!(team = %team, board = %truncated(&b.id), "skipping a board whose id is not Miro's shape");
                }
                ok
            })
            .collect();
        // The boards' grants are asked for after every listing: a walk's plan.
        self.ahead.plans.listed_under(
            BOARD,
            (TEAM_BOARDS, team),
            boards.iter().map(|b| b.id.as_str()),
        );
        let ids: Vec<&str> = boards.iter().map(|b| b.id.as_str()).collect();
        let labels = self.board_labels(team, &ids).await?;
        let list = boards
            .iter()
            .map(|b| resource(b, team, labels.get(&b.id)))
            .collect();
        Ok((list, page_token::encode(&scope, page.next.as_deref())))
    }

    pub(crate) async fn get_board(&self, id: &str) -> Result<pb::Resource, ConnectorError> {
        self.read_board(id, true).await
    }

    /// A board as listed; its label only when `label` asks (grants do not need it).
    async fn read_board(&self, id: &str, label: bool) -> Result<pb::Resource, ConnectorError> {
        let id = board_id("board id", id)?;
        let b = self
            .miro()
            .rest
            .board(id)
            .await?
            .ok_or_else(|| ConnectorError::NotFound(format!("no Miro board with id {id}")))?;
        let team = self.board_team(&b, id)?.to_string();
        let label = if label {
            self.board_labels(&team, &[id]).await?.remove(id)
        } else {
            None
        };
        Ok(resource(&b, &team, label.as_ref()))
    }

    /// A board's entitlements, once its team is known to be in scope.
    pub(super) async fn board_entitlements(
        &self,
        board: &pb::Resource,
        id: &str,
    ) -> Result<Vec<pb::Entitlement>, ConnectorError> {
        self.board_in_scope(board, id).await?;
        Ok(ROLES
            .iter()
            .map(|role| entitlement_of(board, *role))
            .collect())
    }

    /// The scope check for a board the client sent, before any request about its access: the
    /// team it names (its parent or its profile, as the daemon listed it) when it names one, else
    /// the team Miro says, read with the board (which is then returned, so it is read once).
    pub(super) async fn board_in_scope(
        &self,
        board: &pb::Resource,
        id: &str,
    ) -> Result<Option<pb::Resource>, ConnectorError> {
        match claimed_team(board)? {
            Some(team) => self
                .content_team(team, &format!("board {id}"))
                .map(|_| None),
            None => self.read_board(id, false).await.map(Some),
        }
    }

    fn board_sharing(board: &pb::Resource, id: &str) -> Result<Sharing, ConnectorError> {
        from_profile(board).ok_or_else(|| {
            ConnectorError::FailedPrecondition(format!(
                "Miro answered board {id} without its sharing policy"
            ))
        })
    }

    /// One page of a board's grants; one Miro request (two on the first page when the client
    /// sent the board without its profile).
    pub(crate) async fn board_grants(
        &self,
        board: &pb::Resource,
        token: &str,
        page_size: u32,
    ) -> Result<(Vec<pb::Grant>, String), ConnectorError> {
        let id = board_id(
            "board id",
            board.id.as_ref().map_or("", |i| i.resource.as_str()),
        )?;
        let read = self.board_in_scope(board, id).await?;
        let scope = format!("grants:board:{id}");
        let org = self.org_id().await?;
        let rest = &self.miro().rest;
        let board_ref = reference(board);
        let ent = |r: BoardRole| entitlement_of(&board_ref, r);
        let mut grants = Vec::new();
        let cursor = match phase(page_token::decode(&scope, token)?)? {
            Phase::Members(at) => {
                let offset = at
                    .map_or(Ok(0), |o| o.parse::<usize>())
                    .map_err(|_| ConnectorError::BadPageToken("no offset".into()))?;
                let page = rest
                    .board_members_page(id, offset, offset_limit(page_size as usize))
                    .await?;
                grants = member_grants(
                    id,
                    page.items.iter().map(|m| (m.id.as_str(), m.role)),
                    ROLES,
                    |r| r.as_str(),
                    ent,
                );
                let next = page.next.map(|o| format!("m:{o}"));
                return Ok((grants, page_token::encode(&scope, next.as_deref())));
            }
            Phase::Groups(c) => Some(c),
            Phase::Start => {
                for next in self.ahead.plans.asked(BOARD, id) {
                    let shares = reads::board_groups(&self.miro, org, &next, page_size as usize);
                    self.ahead.lead_planned(&shares, 1, (BOARD, &next), false);
                }
                // The board as just read, the profile the client sent back, or the board read now.
                let s = match (&read, from_profile(board)) {
                    (Some(r), _) => Self::board_sharing(r, id)?,
                    (None, Some(s)) => s,
                    (None, None) => Self::board_sharing(&self.read_board(id, false).await?, id)?,
                };
                // In members mode the owner comes with the members.
                if let Some(o) = s.owner.as_deref().filter(|o| miro_id("user id", o).is_ok())
                    && self.content_mode() == ContentMode::Sharing
                {
                    grants.push(grant(&ent(BoardRole::Owner), o));
                }
                if let (Some(t), Some(role)) = (
                    s.team.as_deref().filter(|t| miro_id("team id", t).is_ok()),
                    access_role(s.team_access),
                ) {
                    grants.push(team_access_grant(&ent(role), t));
                }
                if let Some(role) = access_role(s.org_access) {
                    grants.extend(org_access_grants(&ent(role)));
                }
                None
            }
        };
        let shares = reads::board_groups(&self.miro, org, id, page_size as usize);
        let page = self
            .read_answer(&shares, cursor.as_deref(), reads::LEAD)
            .await;
        let next = self.group_shares(
            Skipped::BoardGroups,
            cursor.is_none(),
            page,
            |r| share_role(r).map(&ent),
            &mut grants,
        )?;
        Ok((grants, page_token::encode(&scope, next.as_deref())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_miro_adds_later_gives_no_grant_and_no_error() {
        let r = pb::Resource {
            profile: Some(profile(vec![
                ("team_access", text("restricted")),
                ("organization_access", text("edit")),
            ])),
            ..Default::default()
        };
        let s = from_profile(&r).unwrap();
        assert_eq!(s.team_access, Access::Unknown);
        assert_eq!(access_role(s.team_access), None);
        assert_eq!(access_role(s.org_access), Some(BoardRole::Editor));
        assert!(
            from_profile(&pb::Resource::default()).is_none(),
            "no policy at all is asked for"
        );
    }
}
