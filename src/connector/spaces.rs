//! `project` (display name "Space"): a child of its team. Entitlements use the API's words for
//! roles (`commentator`, where boards say `commenter`). Grants come from its settings' team access,
//! the user groups it is shared with and (in `members` mode) its members. Miro addresses a Space
//! through its team, so the team comes from the parent the client sends (or the profile).
use super::{
    Connector, ConnectorError,
    annotations::pack,
    content::{Phase, Skipped, claimed_team, member_grants, phase, team_access_grant},
    grants::{entitlement, reference, type_ref},
    ids::{GROUP, PROJECT, TEAM, miro_id, rid, truncated},
    page_token,
    profile::{profile, text},
    readahead::{plan::TEAM_SPACES, reads},
};
use crate::{
    miro::{
        content_models::{Access, Project, ProjectRole, ShareRole},
        paging::PageAt,
        spaces::SpaceAt,
    },
    pb,
};

pub(super) const ROLES: &[ProjectRole] = &[
    ProjectRole::Viewer,
    ProjectRole::Commentator,
    ProjectRole::Editor,
    ProjectRole::Coowner,
    ProjectRole::Owner,
];

pub(super) fn resource_type() -> pb::ResourceType {
    pb::ResourceType {
        id: PROJECT.into(),
        display_name: "Space".into(),
        traits: Vec::new(),
        annotations: Vec::new(),
        description: "A Miro Space (a project in Miro's API), under its team: its members, the user groups it is shared with and its team access".into(),
        sourced_externally: false,
    }
}

pub(super) fn resource(p: &Project, team: &str) -> pb::Resource {
    pb::Resource {
        id: Some(rid(PROJECT, &p.id)),
        display_name: if p.name.is_empty() {
            p.id.clone()
        } else {
            p.name.clone()
        },
        parent_resource_id: Some(rid(TEAM, team)),
        profile: Some(profile(vec![
            ("id", text(&p.id)),
            ("name", text(&p.name)),
            ("team_id", text(team)),
        ])),
        ..Default::default()
    }
}

pub(super) fn entitlement_of(space: &pb::Resource, role: ProjectRole) -> pb::Entitlement {
    let id = space.id.as_ref().map_or("", |i| i.resource.as_str());
    let annotations = vec![pack(&pb::EntitlementExclusionGroup {
        exclusion_group_id: format!("project:{id}:role"),
        order: ROLES.iter().position(|r| *r == role).unwrap_or(0) as u32,
        is_default: role == ProjectRole::Viewer,
        scope_to_resource: true,
    })];
    let mut e = entitlement(
        space,
        role.as_str(),
        format!("{} {}", space.display_name, role.as_str()),
        format!(
            "Holds the role {} in the Miro Space {}",
            role.as_str(),
            space.display_name
        ),
        annotations,
    );
    if share_role_of(role).is_some() {
        e.grantable_to.push(type_ref(GROUP, "User group"));
    }
    e
}

pub(super) fn role_from_slug(slug: &str) -> Option<ProjectRole> {
    ROLES.iter().copied().find(|r| r.as_str() == slug)
}

pub(super) fn share_role(r: ShareRole) -> Option<ProjectRole> {
    match r {
        ShareRole::Viewer => Some(ProjectRole::Viewer),
        ShareRole::Commenter => Some(ProjectRole::Commentator),
        ShareRole::Editor => Some(ProjectRole::Editor),
        ShareRole::Unknown => None,
    }
}

/// The share role that gives a Space role to a user group, where there is one.
pub(super) fn share_role_of(r: ProjectRole) -> Option<ShareRole> {
    match r {
        ProjectRole::Viewer => Some(ShareRole::Viewer),
        ProjectRole::Commentator => Some(ShareRole::Commenter),
        ProjectRole::Editor => Some(ShareRole::Editor),
        _ => None,
    }
}

/// The team a request names as a Space's parent, checked.
fn given_team(parent: Option<&pb::ResourceId>) -> Result<Option<&str>, ConnectorError> {
    parent
        .filter(|p| p.resource_type == TEAM && !p.resource.is_empty())
        .map(|p| miro_id("team id", &p.resource))
        .transpose()
}

/// The team of a Space the client sent: its parent, or the team in its profile; checked.
pub(super) fn team_of<'a>(
    space: &'a pb::Resource,
    parent: Option<&'a pb::ResourceId>,
) -> Result<&'a str, ConnectorError> {
    given_team(parent)?.or(claimed_team(space)?).ok_or_else(|| {
        ConnectorError::InvalidArgument(
            "a Space is read through its team: send its parent_resource_id (team), e.g. target it as bid:r:team/<team id>/project/<id>".into(),
        )
    })
}

/// The part of a Space its entitlements name: its id, name and team.
pub(super) fn with_team(space: &pb::Resource) -> Result<pb::Resource, ConnectorError> {
    let mut r = reference(space);
    r.parent_resource_id = Some(rid(TEAM, team_of(space, None)?));
    Ok(r)
}

impl Connector {
    /// A Space's entitlements, once the team it names is known to be in scope.
    pub(super) fn space_entitlements(
        &self,
        space: &pb::Resource,
        id: &str,
    ) -> Result<Vec<pb::Entitlement>, ConnectorError> {
        let space = with_team(space)?;
        self.content_team(team_of(&space, None)?, &format!("Space {id}"))?;
        Ok(ROLES
            .iter()
            .map(|role| entitlement_of(&space, *role))
            .collect())
    }

    /// One page of a team's Spaces: one Miro request; none for a team the scope leaves out.
    pub(crate) async fn list_spaces(
        &self,
        team: &str,
        token: &str,
        page_size: u32,
    ) -> Result<(Vec<pb::Resource>, String), ConnectorError> {
        let team = miro_id("team id", team)?;
        let scope = format!("resources:project:{team}");
        let cursor = page_token::decode(&scope, token)?;
        if !self.settings().content.covers(team) {
            return Ok((Vec::new(), String::new()));
        }
        let org = self.org_id().await?;
        let limit = page_size as usize;
        if cursor.is_none() {
            for next in self.ahead.plans.asked(TEAM_SPACES, team) {
                if self.settings().content.covers(&next) {
                    let pages = reads::team_spaces(&self.miro, org, &next, limit);
                    self.ahead
                        .lead_planned(&pages, 1, (TEAM_SPACES, &next), false);
                }
            }
        }
        let pages = reads::team_spaces(&self.miro, org, team, limit);
        let page = match self
            .read_answer(&pages, cursor.as_deref(), reads::LEAD)
            .await
        {
            Err(e) if cursor.is_none() && self.content_denied(Skipped::Spaces, &e) => {
                return Ok((Vec::new(), String::new()));
            }
            r => r?,
        };
        let mut list = Vec::with_capacity(page.items.len());
        for p in &page.items {
            match miro_id("Space id", &p.id) {
                Ok(_) => list.push(resource(p, team)),
                Err(_) => {
                    tracing::warn!(team = %team, space = %truncated(&p.id), "skipping a Space whose id is not Miro's shape")
                }
            }
        }
        Ok((list, page_token::encode(&scope, page.next.as_deref())))
    }

    pub(crate) async fn get_space(
        &self,
        id: &str,
        parent: Option<&pb::ResourceId>,
    ) -> Result<pb::Resource, ConnectorError> {
        let id = miro_id("Space id", id)?;
        // Without its team no Space can be found: NOT_FOUND, which baton-sdk's targeted sync skips
        // (with a warning naming it) while it syncs the other targets; INVALID_ARGUMENT would fail
        // the whole task.
        let team = given_team(parent)?.ok_or_else(|| {
            ConnectorError::NotFound(format!(
                "no Space {id} can be found without its team: a Space is read through its team; send its parent_resource_id (team), e.g. target it as bid:r:team/<team id>/project/{id}"
            ))
        })?;
        self.content_team(team, &format!("Space {id}"))?;
        let org = self.org_id().await?;
        let at = SpaceAt {
            org,
            team,
            project: id,
        };
        let p = self.miro().rest.project(at).await?.ok_or_else(|| {
            ConnectorError::NotFound(format!("no Miro Space with id {id} in team {team}"))
        })?;
        Ok(resource(&p, team))
    }

    /// One page of a Space's grants: the first reads its settings and its first user groups.
    pub(crate) async fn space_grants(
        &self,
        space: &pb::Resource,
        token: &str,
        page_size: u32,
    ) -> Result<(Vec<pb::Grant>, String), ConnectorError> {
        let id = miro_id(
            "Space id",
            space.id.as_ref().map_or("", |i| i.resource.as_str()),
        )?;
        let team = team_of(space, None)?;
        self.content_team(team, &format!("Space {id}"))?;
        let scope = format!("grants:project:{id}");
        let org = self.org_id().await?;
        let at = SpaceAt {
            org,
            team,
            project: id,
        };
        let limit = page_size as usize;
        // The team travels with the entitlements, so a Grant sent back with them finds the Space.
        let space_ref = with_team(space)?;
        let ent = |r: ProjectRole| entitlement_of(&space_ref, r);
        let mut grants = Vec::new();
        let cursor = match phase(page_token::decode(&scope, token)?)? {
            Phase::Members(c) => {
                let page = self
                    .miro()
                    .rest
                    .project_members_page(at, PageAt::after(c.as_deref()).with_limit(limit))
                    .await?;
                grants = member_grants(
                    id,
                    page.items.iter().map(|m| (m.id.as_str(), m.role)),
                    ROLES,
                    |r| r.as_str(),
                    ent,
                );
                let next = page.next.map(|c| format!("m:{c}"));
                return Ok((grants, page_token::encode(&scope, next.as_deref())));
            }
            Phase::Groups(c) => Some(c),
            Phase::Start => None,
        };
        let groups = reads::space_groups(&self.miro, org, id, limit);
        let page = match cursor {
            Some(_) => self.read_answer(&groups, cursor.as_deref(), 1).await,
            None => {
                // The settings and the first shares are asked for at once: the page waits for
                // one round trip, not two. (Reading the next Spaces' ahead was measured and
                // dropped: with 16 workers it read 4% of them twice.)
                let access = reads::space_access(&self.miro, org, team, id);
                let (access, page) = tokio::join!(
                    self.read(&access, None, 0),
                    self.read_answer(&groups, None, 1)
                );
                // Spaces' team access is `private` or `view`.
                if access?.items.first() == Some(&Access::View) {
                    grants.push(team_access_grant(&ent(ProjectRole::Viewer), team));
                }
                page
            }
        };
        let next = self.group_shares(
            Skipped::SpaceGroups,
            cursor.is_none(),
            page,
            |r| share_role(r).map(&ent),
            &mut grants,
        )?;
        Ok((grants, page_token::encode(&scope, next.as_deref())))
    }
}
