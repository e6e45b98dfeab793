//! `team`: one per Miro team, with an entitlement per team role.
use super::{
    Connector, ConnectorError, ContentMode,
    annotations::pack,
    grants::{entitlement, grant, type_ref},
    ids::{BOARD, GROUP, PROJECT, TEAM, miro_id, resource_miro_id, rid},
    page_token,
    profile::{profile, text},
    readahead::{
        plan::{TEAM_BOARDS, TEAM_SPACES},
        reads,
    },
};
use crate::{
    miro::{
        models::{Team, TeamRole},
        paging::PageAt,
    },
    pb::{self, resource_type::Trait},
};

const SCOPE: &str = "resources:team";

pub(super) fn resource_type() -> pb::ResourceType {
    pb::ResourceType {
        id: TEAM.into(),
        display_name: "Team".into(),
        traits: vec![Trait::Group as i32],
        annotations: Vec::new(),
        description: "A Miro team".into(),
        sourced_externally: false,
    }
}

pub(super) fn resource(t: &Team) -> pb::Resource {
    // `id` as baton-miro sets it, for automations written against its profiles.
    let p = profile(vec![("id", text(&t.id)), ("name", text(&t.name))]);
    pb::Resource {
        id: Some(rid(TEAM, &t.id)),
        display_name: t.name.clone(),
        annotations: vec![pack(&pb::GroupTrait {
            profile: Some(p.clone()),
            ..Default::default()
        })],
        profile: Some(p),
        ..Default::default()
    }
}

/// The team roles we model, in entitlement order. `non_team` and `team_guest` can be read but
/// Miro does not let them be written.
pub(super) const ROLES: &[TeamRole] = &[
    TeamRole::Member,
    TeamRole::Admin,
    TeamRole::NonTeam,
    TeamRole::TeamGuest,
];

pub(super) fn writable(role: TeamRole) -> bool {
    matches!(role, TeamRole::Member | TeamRole::Admin)
}

pub(super) fn role_from_slug(slug: &str) -> Option<TeamRole> {
    ROLES.iter().copied().find(|r| r.as_str() == slug)
}

/// A team's entitlements: one per role.
pub(super) fn entitlements(team: &pb::Resource) -> Vec<pb::Entitlement> {
    ROLES
        .iter()
        .map(|role| entitlement_of(team, *role))
        .collect()
}

pub(super) fn entitlement_of(team: &pb::Resource, role: TeamRole) -> pb::Entitlement {
    let team_id = team
        .id
        .as_ref()
        .map(|i| i.resource.as_str())
        .unwrap_or_default();
    let mut annotations = Vec::new();
    if writable(role) {
        // member and admin are one role slot: holding one replaces the other.
        annotations.push(pack(&pb::EntitlementExclusionGroup {
            exclusion_group_id: format!("{TEAM}:{team_id}:role"),
            order: u32::from(role == TeamRole::Admin),
            is_default: role == TeamRole::Member,
            scope_to_resource: true,
        }));
    } else {
        annotations.push(pack(&pb::EntitlementImmutable {
            source_id: String::new(),
            metadata: None,
        }));
    }
    let label = match role {
        TeamRole::Member => "Member",
        TeamRole::Admin => "Admin",
        TeamRole::NonTeam => "Non-team member",
        TeamRole::TeamGuest => "Team guest",
        TeamRole::Unknown => "Unknown role",
    };
    let mut e = entitlement(
        team,
        role.as_str(),
        format!("{} {label}", team.display_name),
        format!(
            "Has the {} role in the Miro team {}",
            role.as_str(),
            team.display_name
        ),
        annotations,
    );
    if role == TeamRole::Member {
        // User groups are assigned to teams as members.
        e.grantable_to.push(type_ref(GROUP, "User group"));
    }
    e
}

impl Connector {
    pub(crate) async fn list_teams(
        &self,
        token: &str,
        page_size: u32,
    ) -> Result<(Vec<pb::Resource>, String), ConnectorError> {
        let cursor = page_token::decode(SCOPE, token)?;
        let org = self.org_id().await?;
        let page = self
            .miro()
            .rest
            .teams_page(
                org,
                PageAt::after(cursor.as_deref()).with_limit(page_size as usize),
            )
            .await?;
        // A new listing of teams starts a new walk: of teams, and of what is listed under them
        // (the boards and Spaces of each team, in the teams' order).
        let fresh = cursor.is_none();
        let ids = || page.items.iter().map(|t| t.id.as_str());
        self.ahead
            .plans
            .listed(TEAM, fresh, &[BOARD, PROJECT], ids());
        if self.settings().content.mode != ContentMode::Off {
            for kind in [TEAM_BOARDS, TEAM_SPACES] {
                self.ahead.plans.listed(kind, fresh, &[], ids());
            }
        }
        Ok((
            page.items
                .iter()
                .map(|t| self.with_children(resource(t), &t.id))
                .collect(),
            page_token::encode(SCOPE, page.next.as_deref()),
        ))
    }

    pub(crate) async fn get_team(&self, id: &str) -> Result<pb::Resource, ConnectorError> {
        let id = miro_id("team id", id)?;
        let org = self.org_id().await?;
        let t = self
            .miro()
            .rest
            .team(org, id)
            .await?
            .ok_or_else(|| ConnectorError::NotFound(format!("no Miro team with id {id}")))?;
        Ok(self.with_children(resource(&t), &t.id))
    }

    /// One page of a team's members as grants: one Miro request.
    pub(crate) async fn team_grants(
        &self,
        team: &pb::Resource,
        token: &str,
        page_size: u32,
    ) -> Result<(Vec<pb::Grant>, String), ConnectorError> {
        let team_id = resource_miro_id("team id", team)?;
        let scope = format!("grants:team:{team_id}");
        let cursor = page_token::decode(&scope, token)?;
        let org = self.org_id().await?;
        let limit = page_size as usize;
        if cursor.is_none() {
            for next in self.ahead.plans.asked(TEAM, team_id) {
                let pages = reads::team_members(&self.miro, org, &next, limit);
                self.ahead
                    .lead_planned(&pages, reads::AHEAD, (TEAM, &next), true);
            }
        }
        let pages = reads::team_members(&self.miro, org, team_id, limit);
        let page = self.read(&pages, cursor.as_deref(), reads::LEAD).await?;
        let entitlements: Vec<pb::Entitlement> =
            ROLES.iter().map(|r| entitlement_of(team, *r)).collect();
        let mut grants = Vec::with_capacity(page.items.len());
        for m in &page.items {
            match ROLES.iter().position(|r| *r == m.role) {
                Some(i) => grants.push(grant(&entitlements[i], &m.id)),
                None => {
                    tracing::warn!(team = %team_id, user = %m.id, "skipping a team member whose role this connector does not know")
                }
            }
        }
        Ok((grants, page_token::encode(&scope, page.next.as_deref())))
    }
}
