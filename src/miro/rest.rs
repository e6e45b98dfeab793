//! Miro REST v2 (and v1 token info).
use futures::Stream;
use reqwest::Method;
use serde_json::json;

use super::{
    error::{ErrorKind, MiroError},
    http::{Call, Transport},
    models::{CursorPage, OrgMember, OrgRole, Organization, Team, TeamMember, TeamRole, TokenInfo},
    paging::{Page, PageAt, all_pages, finish},
};

/// Credits per request by rate-limit level (the level of each operation is in Miro's spec).
const L1: u64 = 50;
const L2: u64 = 100;
const L3: u64 = 500;
/// What a page of organization members costs (Level 3).
pub(crate) const MEMBER_PAGE_COST: u64 = L3;

const MEMBERS: &str = "GET /v2/orgs/{org_id}/members";
const TEAMS: &str = "GET /v2/orgs/{org_id}/teams";
const TEAM_MEMBERS: &str = "GET /v2/orgs/{org_id}/teams/{team_id}/members";
const INVITE: &str = "POST /v2/orgs/{org_id}/teams/{team_id}/members";

/// Filters of the organization-members list.
#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    pub role: Option<OrgRole>,
    pub active: Option<bool>,
    pub license: Option<String>,
}

pub struct RestClient {
    pub(crate) t: Transport,
}

/// A 404 is an answer ("not there"), not a failure.
pub(crate) fn optional<T>(r: Result<T, MiroError>) -> Result<Option<T>, MiroError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A page request on a cursor list.
pub(crate) fn paged(endpoint: &'static str, cost: u64, segments: &[&str], at: PageAt<'_>) -> Call {
    let mut call = Call::get(endpoint, cost, segments).query("limit", at.limit.to_string());
    if let Some(c) = at.cursor {
        call = call.query("cursor", c);
    }
    call
}

impl RestClient {
    pub async fn token_info(&self) -> Result<TokenInfo, MiroError> {
        self.t
            .json(&Call::get(
                "GET /v1/oauth-token",
                L1,
                &["v1", "oauth-token"],
            ))
            .await
    }

    pub async fn organization(&self, org: &str) -> Result<Organization, MiroError> {
        self.t
            .json(&Call::get(
                "GET /v2/orgs/{org_id}",
                L3,
                &["v2", "orgs", org],
            ))
            .await
    }

    pub async fn members_page(
        &self,
        org: &str,
        filter: &MemberFilter,
        at: PageAt<'_>,
    ) -> Result<Page<OrgMember>, MiroError> {
        let cursor = at.cursor;
        let mut call = Call::get(MEMBERS, L3, &["v2", "orgs", org, "members"])
            .query("limit", at.limit.to_string());
        if let Some(r) = filter.role {
            call = call.query("role", r.as_str());
        }
        if let Some(a) = filter.active {
            call = call.query("active", a.to_string());
        }
        if let Some(l) = &filter.license {
            call = call.query("license", l.clone());
        }
        if let Some(c) = cursor {
            call = call.query("cursor", c);
        }
        finish(
            MEMBERS,
            cursor,
            self.t.json::<CursorPage<OrgMember>>(&call).await?,
        )
    }

    pub fn members<'a>(
        &'a self,
        org: &'a str,
        filter: &'a MemberFilter,
    ) -> impl Stream<Item = Result<Vec<OrgMember>, MiroError>> + 'a {
        all_pages(MEMBERS, move |c| async move {
            self.members_page(org, filter, PageAt::after(c.as_deref()))
                .await
        })
    }

    /// Members by email (at most 10 per request; Miro answers a bare array).
    pub async fn members_by_emails(
        &self,
        org: &str,
        emails: &[&str],
    ) -> Result<Vec<OrgMember>, MiroError> {
        if emails.is_empty() || emails.len() > 10 {
            return Err(MiroError::BadInput(format!(
                "look up 1 to 10 emails at a time, not {}",
                emails.len()
            )));
        }
        let call = Call::get(MEMBERS, L3, &["v2", "orgs", org, "members"])
            .query("emails", emails.join(","));
        self.t.json(&call).await
    }

    pub async fn member(&self, org: &str, id: &str) -> Result<Option<OrgMember>, MiroError> {
        optional(
            self.t
                .json(&Call::get(
                    "GET /v2/orgs/{org_id}/members/{member_id}",
                    L3,
                    &["v2", "orgs", org, "members", id],
                ))
                .await,
        )
    }

    pub async fn teams_page(&self, org: &str, at: PageAt<'_>) -> Result<Page<Team>, MiroError> {
        let call = paged(TEAMS, L1, &["v2", "orgs", org, "teams"], at);
        finish(
            TEAMS,
            at.cursor,
            self.t.json::<CursorPage<Team>>(&call).await?,
        )
    }

    pub async fn team(&self, org: &str, id: &str) -> Result<Option<Team>, MiroError> {
        optional(
            self.t
                .json(&Call::get(
                    "GET /v2/orgs/{org_id}/teams/{team_id}",
                    L1,
                    &["v2", "orgs", org, "teams", id],
                ))
                .await,
        )
    }

    pub async fn team_members_page(
        &self,
        org: &str,
        team: &str,
        role: Option<TeamRole>,
        at: PageAt<'_>,
    ) -> Result<Page<TeamMember>, MiroError> {
        let cursor = at.cursor;
        let mut call = Call::get(
            TEAM_MEMBERS,
            L2,
            &["v2", "orgs", org, "teams", team, "members"],
        )
        .query("limit", at.limit.to_string());
        if let Some(r) = role {
            call = call.query("role", r.as_str());
        }
        if let Some(c) = cursor {
            call = call.query("cursor", c);
        }
        finish(
            TEAM_MEMBERS,
            cursor,
            self.t.json::<CursorPage<TeamMember>>(&call).await?,
        )
    }

    pub fn team_members<'a>(
        &'a self,
        org: &'a str,
        team: &'a str,
    ) -> impl Stream<Item = Result<Vec<TeamMember>, MiroError>> + 'a {
        all_pages(TEAM_MEMBERS, move |c| async move {
            self.team_members_page(org, team, None, PageAt::after(c.as_deref()))
                .await
        })
    }

    pub async fn team_member(
        &self,
        org: &str,
        team: &str,
        user: &str,
    ) -> Result<Option<TeamMember>, MiroError> {
        let call = Call::get(
            "GET /v2/orgs/{org_id}/teams/{team_id}/members/{member_id}",
            L1,
            &["v2", "orgs", org, "teams", team, "members", user],
        );
        optional(self.t.json(&call).await)
    }

    /// Invite an organization member to a team. Not idempotent: after an ambiguous failure the
    /// membership is read back, and the invite is sent again only if it did not land.
    pub async fn invite(
        &self,
        org: &str,
        team: &str,
        user_id: &str,
        email: &str,
        role: TeamRole,
    ) -> Result<TeamMember, MiroError> {
        let call = Call::get(INVITE, L2, &["v2", "orgs", org, "teams", team, "members"]).with(
            Method::POST,
            Some(json!({"email": email, "role": role.as_str()})),
            false,
        );
        self.t
            .write_verified(&call, || self.team_member(org, team, user_id))
            .await
    }

    pub async fn set_team_role(
        &self,
        org: &str,
        team: &str,
        user: &str,
        role: TeamRole,
    ) -> Result<TeamMember, MiroError> {
        let call = Call::get(
            "PATCH /v2/orgs/{org_id}/teams/{team_id}/members/{member_id}",
            L2,
            &["v2", "orgs", org, "teams", team, "members", user],
        )
        .with(Method::PATCH, Some(json!({"role": role.as_str()})), true);
        self.t.json(&call).await
    }

    /// Remove a member from a team; `false` if they were not a member (404).
    pub async fn remove_from_team(
        &self,
        org: &str,
        team: &str,
        user: &str,
    ) -> Result<bool, MiroError> {
        let call = Call::get(
            "DELETE /v2/orgs/{org_id}/teams/{team_id}/members/{member_id}",
            L1,
            &["v2", "orgs", org, "teams", team, "members", user],
        )
        .with(Method::DELETE, None, true);
        Ok(optional(self.t.send(&call).await)?.is_some())
    }
}
