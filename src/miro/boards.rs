//! Boards, their members and the user groups shared with them. Boards and board members page by
//! offset (at most 50); group shares live under `/v2/orgs/{org_id}/boards/{board_id}/groups` (not
//! `/v2/boards/{id}/groups`, which is about groups of items) and page by cursor.
use reqwest::Method;
use serde_json::json;

use super::{
    content_models::{
        Access, Board, BoardMember, BoardRole, GroupShare, Invitation, OffsetPage, ShareRole,
    },
    error::MiroError,
    http::Call,
    models::CursorPage,
    paging::{Page, PageAt, finish, finish_offset},
    rest::{RestClient, optional, paged},
};

const L1: u64 = 50;
const L2: u64 = 100;
const L3: u64 = 500;

const BOARDS: &str = "GET /v2/boards";
const BOARD_MEMBERS: &str = "GET /v2/boards/{board_id}/members";
const BOARD_GROUPS: &str = "GET /v2/orgs/{org_id}/boards/{board_id}/groups";

/// The most addresses one share-board request may carry.
pub const MAX_SHARE: usize = 20;

/// Which of a board's three sharing levels a policy change sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Link,
    Team,
    Organization,
}

impl Reach {
    fn key(self) -> &'static str {
        match self {
            Self::Link => "access",
            Self::Team => "teamAccess",
            Self::Organization => "organizationAccess",
        }
    }
}

/// The body of a sharing-policy PATCH of `PATCH /v2/boards/{board_id}`.
pub fn policy_body(reach: Reach, level: Access) -> serde_json::Value {
    json!({"policy": {"sharingPolicy": {reach.key(): level.as_str()}}})
}

/// The body of share-board.
pub fn share_body(emails: &[&str], role: BoardRole) -> serde_json::Value {
    json!({"emails": emails, "role": role.as_str()})
}

/// The body of a board member's role change.
pub fn role_body(role: BoardRole) -> serde_json::Value {
    json!({"role": role.as_str()})
}

/// The body of a group share (boards and Spaces alike).
pub fn group_share_body(group: &str, role: ShareRole) -> serde_json::Value {
    json!({"role": role.as_str(), "userGroupIds": [group]})
}

impl RestClient {
    /// One page of a team's boards (Level 1).
    pub async fn boards_page(
        &self,
        team: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Page<Board, usize>, MiroError> {
        let call = Call::get(BOARDS, L1, &["v2", "boards"])
            .query("team_id", team)
            .query("limit", limit.to_string())
            .query("offset", offset.to_string());
        finish_offset(
            BOARDS,
            offset,
            limit,
            self.t.json::<OffsetPage<_>>(&call).await?,
        )
    }

    pub async fn board(&self, id: &str) -> Result<Option<Board>, MiroError> {
        let call = Call::get("GET /v2/boards/{board_id}", L1, &["v2", "boards", id]);
        optional(self.t.json(&call).await)
    }

    pub async fn board_members_page(
        &self,
        board: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Page<BoardMember, usize>, MiroError> {
        let call = Call::get(BOARD_MEMBERS, L1, &["v2", "boards", board, "members"])
            .query("limit", limit.to_string())
            .query("offset", offset.to_string());
        finish_offset(
            BOARD_MEMBERS,
            offset,
            limit,
            self.t.json::<OffsetPage<_>>(&call).await?,
        )
    }

    pub async fn board_member(
        &self,
        board: &str,
        user: &str,
    ) -> Result<Option<BoardMember>, MiroError> {
        let call = Call::get(
            "GET /v2/boards/{board_id}/members/{board_member_id}",
            L1,
            &["v2", "boards", board, "members", user],
        );
        optional(self.t.json(&call).await)
    }

    /// Share a board with users by email (Level 3, at most 20). Not idempotent (Miro invites again):
    /// after an ambiguous failure the membership of `user` is read back first.
    pub async fn share_board(
        &self,
        board: &str,
        user: &str,
        email: &str,
        role: BoardRole,
    ) -> Result<Invitation, MiroError> {
        let call = Call::get(
            "POST /v2/boards/{board_id}/members",
            L3,
            &["v2", "boards", board, "members"],
        )
        .with(Method::POST, Some(share_body(&[email], role)), false);
        self.t
            .write_verified(&call, || async {
                Ok(self.board_member(board, user).await?.map(|m| Invitation {
                    successful: m.id.parse().into_iter().collect(),
                    failed: Vec::new(),
                }))
            })
            .await
    }

    pub async fn set_board_role(
        &self,
        board: &str,
        user: &str,
        role: BoardRole,
    ) -> Result<BoardMember, MiroError> {
        let call = Call::get(
            "PATCH /v2/boards/{board_id}/members/{board_member_id}",
            L2,
            &["v2", "boards", board, "members", user],
        )
        .with(Method::PATCH, Some(role_body(role)), true);
        self.t.json(&call).await
    }

    /// Remove a board member; `false` if they were not one (404).
    pub async fn remove_board_member(&self, board: &str, user: &str) -> Result<bool, MiroError> {
        let call = Call::get(
            "DELETE /v2/boards/{board_id}/members/{board_member_id}",
            L2,
            &["v2", "boards", board, "members", user],
        )
        .with(Method::DELETE, None, true);
        Ok(optional(self.t.send(&call).await)?.is_some())
    }

    /// Set one of a board's sharing levels. Miro applies it asynchronously (202, no body).
    pub async fn set_board_access(
        &self,
        board: &str,
        reach: Reach,
        level: Access,
    ) -> Result<(), MiroError> {
        let call = Call::get("PATCH /v2/boards/{board_id}", L2, &["v2", "boards", board]).with(
            Method::PATCH,
            Some(policy_body(reach, level)),
            true,
        );
        self.t.send(&call).await
    }

    pub async fn board_groups_page(
        &self,
        org: &str,
        board: &str,
        at: PageAt<'_>,
    ) -> Result<Page<GroupShare>, MiroError> {
        let call = paged(
            BOARD_GROUPS,
            L1,
            &["v2", "orgs", org, "boards", board, "groups"],
            at,
        );
        finish(
            BOARD_GROUPS,
            at.cursor,
            self.t.json::<CursorPage<_>>(&call).await?,
        )
    }

    /// Share a board with a user group, or change the group's role: an upsert, so a repeat is safe.
    pub async fn share_board_group(
        &self,
        org: &str,
        board: &str,
        group: &str,
        role: ShareRole,
    ) -> Result<(), MiroError> {
        let call = Call::get(
            "POST /v2/orgs/{org_id}/boards/{board_id}/groups",
            L1,
            &["v2", "orgs", org, "boards", board, "groups"],
        )
        .with(Method::POST, Some(group_share_body(group, role)), true);
        self.t.send(&call).await
    }

    /// Stop sharing a board with a user group; `false` if it was not shared (404).
    pub async fn unshare_board_group(
        &self,
        org: &str,
        board: &str,
        group: &str,
    ) -> Result<bool, MiroError> {
        let call = Call::get(
            "DELETE /v2/orgs/{org_id}/boards/{board_id}/groups/{group_id}",
            L1,
            &["v2", "orgs", org, "boards", board, "groups", group],
        )
        .with(Method::DELETE, None, true);
        Ok(optional(self.t.send(&call).await)?.is_some())
    }
}
