//! Spaces, which the API calls projects: listed per team, with settings, members and user-group
//! shares, all paging by cursor (at most 100). Removing a member is Level 4 (2,000 credits).
use reqwest::Method;
use serde_json::json;

use super::{
    boards::group_share_body,
    content_models::{Access, GroupShare, Project, ProjectMember, ProjectRole, ShareRole},
    error::MiroError,
    http::Call,
    models::CursorPage,
    paging::{Page, PageAt, finish},
    rest::{RestClient, optional, paged},
};

const L1: u64 = 50;
const L4: u64 = 2000;

const PROJECTS: &str = "GET /v2/orgs/{org_id}/teams/{team_id}/projects";
const MEMBERS: &str = "GET /v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}/members";
const GROUPS: &str = "GET /v2/orgs/{org_id}/projects/{project_id}/groups";

/// The body of adding a Space member.
pub fn member_body(email: &str, role: ProjectRole) -> serde_json::Value {
    json!({"email": email, "role": role.as_str()})
}

/// The body of a Space member's role change.
pub fn role_body(role: ProjectRole) -> serde_json::Value {
    json!({"role": role.as_str()})
}

/// The body of a Space's team-access change.
pub fn settings_body(level: Access) -> serde_json::Value {
    json!({"sharingPolicySettings": {"teamAccess": level.as_str()}})
}

/// A Space as the API addresses it: through its organization and team.
#[derive(Debug, Clone, Copy)]
pub struct SpaceAt<'a> {
    pub org: &'a str,
    pub team: &'a str,
    pub project: &'a str,
}

impl SpaceAt<'_> {
    fn path<'s>(&'s self, tail: &[&'s str]) -> Vec<&'s str> {
        let mut p = vec![
            "v2",
            "orgs",
            self.org,
            "teams",
            self.team,
            "projects",
            self.project,
        ];
        p.extend_from_slice(tail);
        p
    }
}

impl RestClient {
    pub async fn projects_page(
        &self,
        org: &str,
        team: &str,
        at: PageAt<'_>,
    ) -> Result<Page<Project>, MiroError> {
        let call = paged(
            PROJECTS,
            L1,
            &["v2", "orgs", org, "teams", team, "projects"],
            at,
        );
        finish(
            PROJECTS,
            at.cursor,
            self.t.json::<CursorPage<_>>(&call).await?,
        )
    }

    pub async fn project(&self, s: SpaceAt<'_>) -> Result<Option<Project>, MiroError> {
        let call = Call::get(
            "GET /v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}",
            L1,
            &s.path(&[]),
        );
        optional(self.t.json(&call).await)
    }

    /// The Space's team access (`private` or `view`).
    pub async fn project_team_access(&self, s: SpaceAt<'_>) -> Result<Access, MiroError> {
        let call = Call::get(
            "GET /v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}/settings",
            L1,
            &s.path(&["settings"]),
        );
        let settings: super::content_models::ProjectSettings = self.t.json(&call).await?;
        Ok(settings.sharing_policy_settings.team_access)
    }

    pub async fn set_project_team_access(
        &self,
        s: SpaceAt<'_>,
        level: Access,
    ) -> Result<(), MiroError> {
        let body = settings_body(level);
        let call = Call::get(
            "PATCH /v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}/settings",
            L1,
            &s.path(&["settings"]),
        )
        .with(Method::PATCH, Some(body), true);
        self.t.send(&call).await
    }

    pub async fn project_members_page(
        &self,
        s: SpaceAt<'_>,
        at: PageAt<'_>,
    ) -> Result<Page<ProjectMember>, MiroError> {
        let call = paged(MEMBERS, L1, &s.path(&["members"]), at);
        finish(
            MEMBERS,
            at.cursor,
            self.t.json::<CursorPage<_>>(&call).await?,
        )
    }

    pub async fn project_member(
        &self,
        s: SpaceAt<'_>,
        user: &str,
    ) -> Result<Option<ProjectMember>, MiroError> {
        let call = Call::get(
            "GET /v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}/members/{member_id}",
            L1,
            &s.path(&["members", user]),
        );
        optional(self.t.json(&call).await)
    }

    /// Add a member by email. Not idempotent (409 on a repeat): after an ambiguous failure the
    /// membership is read back first.
    pub async fn add_project_member(
        &self,
        s: SpaceAt<'_>,
        user: &str,
        email: &str,
        role: ProjectRole,
    ) -> Result<ProjectMember, MiroError> {
        let call = Call::get(
            "POST /v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}/members",
            L1,
            &s.path(&["members"]),
        )
        .with(Method::POST, Some(member_body(email, role)), false);
        self.t
            .write_verified(&call, || self.project_member(s, user))
            .await
    }

    pub async fn set_project_role(
        &self,
        s: SpaceAt<'_>,
        user: &str,
        role: ProjectRole,
    ) -> Result<ProjectMember, MiroError> {
        let call = Call::get(
            "PATCH /v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}/members/{member_id}",
            L1,
            &s.path(&["members", user]),
        )
        .with(Method::PATCH, Some(role_body(role)), true);
        self.t.json(&call).await
    }

    /// Remove a member (Level 4); `false` if they were not one (404).
    pub async fn remove_project_member(
        &self,
        s: SpaceAt<'_>,
        user: &str,
    ) -> Result<bool, MiroError> {
        let call = Call::get(
            "DELETE /v2/orgs/{org_id}/teams/{team_id}/projects/{project_id}/members/{member_id}",
            L4,
            &s.path(&["members", user]),
        )
        .with(Method::DELETE, None, true);
        Ok(optional(self.t.send(&call).await)?.is_some())
    }

    pub async fn project_groups_page(
        &self,
        org: &str,
        project: &str,
        at: PageAt<'_>,
    ) -> Result<Page<GroupShare>, MiroError> {
        let call = paged(
            GROUPS,
            L1,
            &["v2", "orgs", org, "projects", project, "groups"],
            at,
        );
        finish(
            GROUPS,
            at.cursor,
            self.t.json::<CursorPage<_>>(&call).await?,
        )
    }

    /// Share a Space with a user group, or change its role: an upsert.
    pub async fn share_project_group(
        &self,
        org: &str,
        project: &str,
        group: &str,
        role: ShareRole,
    ) -> Result<(), MiroError> {
        let call = Call::get(
            "POST /v2/orgs/{org_id}/projects/{project_id}/groups",
            L1,
            &["v2", "orgs", org, "projects", project, "groups"],
        )
        .with(Method::POST, Some(group_share_body(group, role)), true);
        self.t.send(&call).await
    }

    pub async fn unshare_project_group(
        &self,
        org: &str,
        project: &str,
        group: &str,
    ) -> Result<bool, MiroError> {
        let call = Call::get(
            "DELETE /v2/orgs/{org_id}/projects/{project_id}/groups/{group_id}",
            L1,
            &["v2", "orgs", org, "projects", project, "groups", group],
        )
        .with(Method::DELETE, None, true);
        Ok(optional(self.t.send(&call).await)?.is_some())
    }
}
