//! `group`: Miro's user groups. A group's ListGrants gives its members (grants of
//! `group:{id}:member` to users) and then the teams it is assigned to (grants of
//! `team:{team}:member` to the group, expandable to the group's members).
//!
//! Assignments are listed per group, not per team: each group's grants are listed anyway, and an
//! organization has fewer groups than teams (500 against 2,000 in the benchmark), so it costs one
//! request per group instead of one per team.

use super::{
    Connector, ConnectorError,
    annotations::pack,
    grants::{entitlement, grant_to, reference},
    ids::{GROUP, MEMBER, TEAM, entitlement_id, miro_id, resource_miro_id, rid},
    page_token,
    profile::{profile, text},
    readahead::reads,
    teams,
};
use crate::{
    miro::{ErrorKind, MiroError, models::TeamRole, models::UserGroup, paging::PageAt},
    pb::{self, resource_type::Trait},
};

const SCOPE: &str = "resources:group";

pub(super) fn resource_type() -> pb::ResourceType {
    pb::ResourceType {
        id: GROUP.into(),
        display_name: "User group".into(),
        traits: vec![Trait::Group as i32],
        annotations: Vec::new(),
        description: "A Miro user group: an organization-wide set of members, assigned to teams"
            .into(),
        sourced_externally: false,
    }
}

pub(super) fn resource(g: &UserGroup) -> pb::Resource {
    let mut fields = vec![("id", text(&g.id)), ("name", text(&g.name))];
    if let Some(d) = &g.description {
        fields.push(("description", text(d)));
    }
    let p = profile(fields);
    pb::Resource {
        id: Some(rid(GROUP, &g.id)),
        display_name: g.name.clone(),
        description: g.description.clone().unwrap_or_default(),
        annotations: vec![pack(&pb::GroupTrait {
            profile: Some(p.clone()),
            ..Default::default()
        })],
        profile: Some(p),
        ..Default::default()
    }
}

pub(super) fn entitlement_of(group: &pb::Resource) -> pb::Entitlement {
    entitlement(
        group,
        MEMBER,
        format!("{} member", group.display_name),
        format!("Member of the Miro user group {}", group.display_name),
        Vec::new(),
    )
}

/// The grant of `team:{team_id}:member` to a group: every member of the group holds it.
pub(super) fn team_grant(team_id: &str, group_id: &str) -> pb::Grant {
    let team = pb::Resource {
        id: Some(rid(TEAM, team_id)),
        ..Default::default()
    };
    let group = rid(GROUP, group_id);
    let mut g = grant_to(
        &teams::entitlement_of(&team, TeamRole::Member),
        group.clone(),
    );
    g.annotations.push(pack(&pb::GrantExpandable {
        entitlement_ids: vec![entitlement_id(&group, MEMBER)],
        shallow: false,
        resource_type_ids: Vec::new(),
    }));
    g
}

/// Where a group's grant listing is: its member pages, then its team pages.
enum Phase {
    Members(Option<String>),
    Teams(Option<String>),
}

fn phase(token: Option<String>) -> Result<Phase, ConnectorError> {
    let Some(t) = token else {
        return Ok(Phase::Members(None));
    };
    let cursor = |c: &str| (!c.is_empty()).then(|| c.to_string());
    match t.split_once(':') {
        Some(("m", c)) if !c.is_empty() => Ok(Phase::Members(cursor(c))),
        Some(("t", c)) => Ok(Phase::Teams(cursor(c))),
        _ => Err(ConnectorError::BadPageToken("unknown phase".into())),
    }
}

impl Connector {
    /// A 403 on the group list means the token lacks `organizations:groups:read` (or the plan has
    /// no groups): everything else still syncs; the log (once) and a counter (each time) say why
    /// groups are absent.
    fn groups_denied(&self, e: &MiroError) -> bool {
        if e.kind() != ErrorKind::Forbidden {
            return false;
        }
        metrics::counter!("connector_user_groups_skipped_total", "reason" => "forbidden")
            .increment(1);
        if self.warned.first("user_groups") {
            tracing::warn!(error = %e, "Miro refused to list user groups: the sync goes on without them; give the app the organizations:groups:read scope to sync groups");
        }
        true
    }

    pub(crate) async fn list_groups(
        &self,
        token: &str,
        page_size: u32,
    ) -> Result<(Vec<pb::Resource>, String), ConnectorError> {
        let cursor = page_token::decode(SCOPE, token)?;
        let org = self.org_id().await?;
        let at = PageAt::after(cursor.as_deref()).with_limit(page_size as usize);
        let page = match self.miro().rest.groups_page(org, at).await {
            Err(e) if cursor.is_none() && self.groups_denied(&e) => {
                return Ok((Vec::new(), String::new()));
            }
            r => r?,
        };
        self.ahead.plans.listed(
            GROUP,
            cursor.is_none(),
            &[],
            page.items.iter().map(|g| g.id.as_str()),
        );
        Ok((
            page.items.iter().map(resource).collect(),
            page_token::encode(SCOPE, page.next.as_deref()),
        ))
    }

    pub(crate) async fn get_group(&self, id: &str) -> Result<pb::Resource, ConnectorError> {
        let id = miro_id("group id", id)?;
        let org = self.org_id().await?;
        let g =
            self.miro().rest.group(org, id).await?.ok_or_else(|| {
                ConnectorError::NotFound(format!("no Miro user group with id {id}"))
            })?;
        Ok(resource(&g))
    }

    /// One page of a group's grants: a page of members, or (after the last one) a page of the
    /// teams it is assigned to. One Miro request either way.
    pub(crate) async fn group_grants(
        &self,
        group: &pb::Resource,
        token: &str,
        page_size: u32,
    ) -> Result<(Vec<pb::Grant>, String), ConnectorError> {
        let group_id = resource_miro_id("group id", group)?;
        let scope = format!("grants:group:{group_id}");
        let org = self.org_id().await?;
        let limit = page_size as usize;
        match phase(page_token::decode(&scope, token)?)? {
            Phase::Members(cursor) => {
                if cursor.is_none() {
                    // A group's team assignments are asked for after its members: both are on
                    // their way at once, and so are the next groups' when a walk is under way.
                    let teams = reads::group_teams(&self.miro, org, group_id, limit);
                    self.ahead.lead(&teams, None, reads::AHEAD);
                    for g in self.ahead.plans.asked(GROUP, group_id) {
                        let members = reads::group_members(&self.miro, org, &g, limit);
                        self.ahead
                            .lead_planned(&members, reads::AHEAD, (GROUP, &g), true);
                        let teams = reads::group_teams(&self.miro, org, &g, limit);
                        self.ahead
                            .lead_planned(&teams, reads::AHEAD, (GROUP, &g), true);
                    }
                }
                let pages = reads::group_members(&self.miro, org, group_id, limit);
                let page = self.read(&pages, cursor.as_deref(), reads::LEAD).await?;
                let member = entitlement_of(&reference(group));
                let grants = page
                    .items
                    .iter()
                    .map(|m| grant_to(&member, rid(super::ids::USER, &m.id)))
                    .collect();
                let next = match page.next {
                    Some(c) => format!("m:{c}"),
                    None => "t:".into(),
                };
                Ok((grants, page_token::encode(&scope, Some(&next))))
            }
            Phase::Teams(cursor) => {
                let pages = reads::group_teams(&self.miro, org, group_id, limit);
                let page = self.read(&pages, cursor.as_deref(), reads::LEAD).await?;
                let grants = page
                    .items
                    .iter()
                    .map(|t| team_grant(&t.id, group_id))
                    .collect();
                let next = page.next.map(|c| format!("t:{c}"));
                Ok((grants, page_token::encode(&scope, next.as_deref())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_grants_to_groups_follow_the_id_pattern_and_expand() {
        let g = team_grant("12", "34");
        assert_eq!(g.id, "team:12:member:group:34");
        let e = crate::connector::annotations::find::<pb::GrantExpandable>(&g.annotations).unwrap();
        assert_eq!(e.entitlement_ids, ["group:34:member"]);
    }

    #[test]
    fn phases_parse_and_refuse() {
        assert!(matches!(phase(None), Ok(Phase::Members(None))));
        assert!(matches!(phase(Some("m:5".into())), Ok(Phase::Members(Some(c))) if c == "5"));
        assert!(matches!(phase(Some("t:".into())), Ok(Phase::Teams(None))));
        assert!(matches!(phase(Some("t:9".into())), Ok(Phase::Teams(Some(c))) if c == "9"));
        assert!(phase(Some("m:".into())).is_err());
        assert!(phase(Some("x:1".into())).is_err());
    }
}
