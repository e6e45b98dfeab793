//! Miro REST v2 user groups, their members and their team assignments. Every call is Level 1
//! (50 credits) except the two DELETEs of a group and of one member (Level 4); a members PATCH
//! costs Level 1 per item, which is why removals go through it rather than through DELETE.
use reqwest::Method;
use serde_json::json;

use super::{
    error::MiroError,
    http::Call,
    models::{Assignment, CursorPage, GroupMember, MembersResult, UserGroup},
    paging::{Page, PageAt, finish},
    rest::{RestClient, optional, paged},
};

const L1: u64 = 50;
const L4: u64 = 2000;

const GROUPS: &str = "GET /v2/orgs/{org_id}/groups";
const GROUP_MEMBERS: &str = "GET /v2/orgs/{org_id}/groups/{group_id}/members";
const GROUP_TEAMS: &str = "GET /v2/orgs/{org_id}/groups/{group_id}/teams";
/// The most items one members PATCH may carry.
pub const MAX_CHANGE: usize = 500;

/// The body of `POST /v2/orgs/{org_id}/groups` (`CreateGroupRequest`).
pub fn create_body(name: &str, description: Option<&str>) -> serde_json::Value {
    let mut body = json!({"name": name});
    if let Some(d) = description {
        body["description"] = json!(d);
    }
    body
}

/// The body of a members PATCH (`UpdateUserGroupMembersRequest`).
pub fn change_body(add: &[&str], remove: &[&str]) -> serde_json::Value {
    let mut body = json!({});
    if !add.is_empty() {
        body["membersToAdd"] = json!(add);
    }
    if !remove.is_empty() {
        body["membersToRemove"] = json!(remove);
    }
    body
}

/// The body of `POST /v2/orgs/{org_id}/teams/{team_id}/groups` (`CreateTeamGroupRequest`).
pub fn assign_body(group: &str) -> serde_json::Value {
    json!({"userGroupId": group, "role": "member"})
}

impl RestClient {
    pub async fn groups_page(
        &self,
        org: &str,
        at: PageAt<'_>,
    ) -> Result<Page<UserGroup>, MiroError> {
        let call = paged(GROUPS, L1, &["v2", "orgs", org, "groups"], at);
        finish(
            GROUPS,
            at.cursor,
            self.t.json::<CursorPage<_>>(&call).await?,
        )
    }

    pub async fn group(&self, org: &str, id: &str) -> Result<Option<UserGroup>, MiroError> {
        let call = Call::get(
            "GET /v2/orgs/{org_id}/groups/{group_id}",
            L1,
            &["v2", "orgs", org, "groups", id],
        );
        optional(self.t.json(&call).await)
    }

    /// A group by its name (Miro keeps names unique), reading the group pages.
    pub async fn group_named(&self, org: &str, name: &str) -> Result<Option<UserGroup>, MiroError> {
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .groups_page(org, PageAt::after(cursor.as_deref()))
                .await?;
            if let Some(g) = page.items.into_iter().find(|g| g.name == name) {
                return Ok(Some(g));
            }
            match page.next {
                Some(c) => cursor = Some(c),
                None => return Ok(None),
            }
        }
    }

    /// Create a user group. Not idempotent: after an ambiguous failure the name is looked up, and
    /// the group is created again only if it did not land.
    pub async fn create_group(
        &self,
        org: &str,
        name: &str,
        description: Option<&str>,
    ) -> Result<UserGroup, MiroError> {
        let call = Call::get(
            "POST /v2/orgs/{org_id}/groups",
            L1,
            &["v2", "orgs", org, "groups"],
        )
        .with(Method::POST, Some(create_body(name, description)), false);
        self.t
            .write_verified(&call, || self.group_named(org, name))
            .await
    }

    /// Delete a user group (its members stay users); `false` if it was already gone.
    pub async fn delete_group(&self, org: &str, id: &str) -> Result<bool, MiroError> {
        let call = Call::get(
            "DELETE /v2/orgs/{org_id}/groups/{group_id}",
            L4,
            &["v2", "orgs", org, "groups", id],
        )
        .with(Method::DELETE, None, true);
        Ok(optional(self.t.send(&call).await)?.is_some())
    }

    pub async fn group_members_page(
        &self,
        org: &str,
        group: &str,
        at: PageAt<'_>,
    ) -> Result<Page<GroupMember>, MiroError> {
        let call = paged(
            GROUP_MEMBERS,
            L1,
            &["v2", "orgs", org, "groups", group, "members"],
            at,
        );
        finish(
            GROUP_MEMBERS,
            at.cursor,
            self.t.json::<CursorPage<_>>(&call).await?,
        )
    }

    pub async fn group_member(
        &self,
        org: &str,
        group: &str,
        user: &str,
    ) -> Result<Option<GroupMember>, MiroError> {
        let call = Call::get(
            "GET /v2/orgs/{org_id}/groups/{group_id}/members/{member_id}",
            L1,
            &["v2", "orgs", org, "groups", group, "members", user],
        );
        optional(self.t.json(&call).await)
    }

    /// Add and remove members (ids or emails) in one request: 50 credits an item, at most 500
    /// items. The answer has one result per operation; a repeat changes nothing, so it is safe to
    /// retry.
    pub async fn change_group_members(
        &self,
        org: &str,
        group: &str,
        add: &[&str],
        remove: &[&str],
    ) -> Result<Vec<MembersResult>, MiroError> {
        let items = add.len() + remove.len();
        if items == 0 || items > MAX_CHANGE {
            return Err(MiroError::BadInput(format!(
                "change 1 to {MAX_CHANGE} group members at a time, not {items}"
            )));
        }
        let call = Call::get(
            "PATCH /v2/orgs/{org_id}/groups/{group_id}/members",
            L1 * items as u64,
            &["v2", "orgs", org, "groups", group, "members"],
        )
        .with(Method::PATCH, Some(change_body(add, remove)), true);
        self.t.json(&call).await
    }

    pub async fn group_teams_page(
        &self,
        org: &str,
        group: &str,
        at: PageAt<'_>,
    ) -> Result<Page<Assignment>, MiroError> {
        let call = paged(
            GROUP_TEAMS,
            L1,
            &["v2", "orgs", org, "groups", group, "teams"],
            at,
        );
        finish(
            GROUP_TEAMS,
            at.cursor,
            self.t.json::<CursorPage<_>>(&call).await?,
        )
    }

    /// Whether `group` is assigned to `team`.
    pub async fn team_group(
        &self,
        org: &str,
        team: &str,
        group: &str,
    ) -> Result<Option<Assignment>, MiroError> {
        let call = Call::get(
            "GET /v2/orgs/{org_id}/teams/{team_id}/groups/{group_id}",
            L1,
            &["v2", "orgs", org, "teams", team, "groups", group],
        );
        optional(self.t.json(&call).await)
    }

    /// Assign a group to a team (role `member`, the only one). Not idempotent (409 on a repeat):
    /// after an ambiguous failure the assignment is read back first.
    pub async fn assign_group(
        &self,
        org: &str,
        team: &str,
        group: &str,
    ) -> Result<Assignment, MiroError> {
        let call = Call::get(
            "POST /v2/orgs/{org_id}/teams/{team_id}/groups",
            L1,
            &["v2", "orgs", org, "teams", team, "groups"],
        )
        .with(Method::POST, Some(assign_body(group)), false);
        self.t
            .write_verified(&call, || self.team_group(org, team, group))
            .await
    }

    /// Take a group off a team; `false` if it was not assigned (404).
    pub async fn unassign_group(
        &self,
        org: &str,
        team: &str,
        group: &str,
    ) -> Result<bool, MiroError> {
        let call = Call::get(
            "DELETE /v2/orgs/{org_id}/teams/{team_id}/groups/{group_id}",
            L1,
            &["v2", "orgs", org, "teams", team, "groups", group],
        )
        .with(Method::DELETE, None, true);
        Ok(optional(self.t.send(&call).await)?.is_some())
    }
}
