//! The simulated organization. Written from Miro's spec, independent of `crate::miro`.
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Org roles Miro reports on members (`OrganizationMember.role`).
pub const ORG_ROLES: &[&str] = &[
    "organization_internal_admin",
    "organization_internal_user",
    "organization_external_user",
    "organization_team_guest_user",
    "unknown",
];
/// Licenses Miro reports on members (`OrganizationMember.license`).
pub const LICENSES: &[&str] = &[
    "advanced",
    "standard",
    "basic",
    "full",
    "occasional",
    "free",
    "free_restricted",
    "full_trial",
    "unknown",
];
/// Team roles Miro reports on team members.
pub const TEAM_ROLES: &[&str] = &["non_team", "member", "admin", "team_guest"];
pub const PREBUILT_ADMIN_ROLES: &[&str] = &["Content Admin", "User Admin", "Security Admin"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AdminRole {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub id: String,
    pub email: String,
    pub role: String,
    pub license: String,
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_assigned_at: Option<String>,
    #[serde(default)]
    pub admin_roles: Vec<AdminRole>,
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub family_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl Member {
    /// Guests are not SCIM users ("The list returns only organization members").
    pub fn is_scim_visible(&self) -> bool {
        !matches!(
            self.role.as_str(),
            "organization_external_user" | "organization_team_guest_user"
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TeamMembership {
    pub role: String,
    pub created_at: String,
    pub created_by: String,
    pub modified_at: String,
    pub modified_by: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Team {
    pub id: String,
    pub name: String,
    /// user id -> membership, ordered by id (the cursor is the last id returned).
    #[serde(default)]
    pub members: BTreeMap<String, TeamMembership>,
}

/// A user group (`/v2/orgs/{org_id}/groups`): an org-level set of members, assigned to teams.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Group {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Member user ids, in id order (the cursor is the last id returned).
    #[serde(default)]
    pub members: BTreeSet<String>,
    /// Ids of the teams the group is assigned to (role `member`, the only one Miro has).
    #[serde(default)]
    pub teams: BTreeSet<String>,
}

/// The whole organization; also the fixture file format and what `/_sim/state` returns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Org {
    pub id: String,
    pub name: String,
    #[serde(default = "default_plan")]
    pub plan: String,
    #[serde(default)]
    pub full_licenses_purchased: i32,
    /// The token owner (reported by `/v1/oauth-token`).
    pub admin_user_id: String,
    pub members: BTreeMap<String, Member>,
    pub teams: BTreeMap<String, Team>,
    #[serde(default)]
    pub groups: BTreeMap<String, Group>,
    /// Boards by id (Miro's shape: short URL-safe strings such as `uXjVOD6LSME=`).
    #[serde(default)]
    pub boards: BTreeMap<String, Board>,
    /// Spaces (the API says projects) by id: folders of a team's boards with members of their own.
    #[serde(default)]
    pub projects: BTreeMap<String, Project>,
    /// Board classification (Enterprise): off, or on with the labels boards may carry.
    #[serde(default)]
    pub classification: Classification,
}

/// An organization's board classification settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Classification {
    pub enabled: bool,
    #[serde(default)]
    pub labels: Vec<Label>,
}

/// A classification label; `sharing_recommendation` is one of `NO_SHARING_RESTRICTIONS`,
/// `ONLY_WITHIN_ORGANIZATION`, `ONLY_WITHIN_TEAM`, `ONLY_WITH_AUTHORIZED_TEAM_MEMBERS`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    pub id: String,
    pub name: String,
    pub color: String,
    #[serde(default)]
    pub description: String,
    pub sharing_recommendation: String,
    #[serde(default)]
    pub default: bool,
}

/// A Space: its team, whether the whole team may view it, its members and user groups.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub name: String,
    pub team_id: String,
    /// `private` or `view`.
    pub team_access: String,
    /// User id -> role (`owner`, `coowner`, `editor`, `commentator`, `viewer`: the API's words).
    #[serde(default)]
    pub members: BTreeMap<String, String>,
    /// User group id -> role (`VIEWER`, `COMMENTER`, `EDITOR`).
    #[serde(default)]
    pub groups: BTreeMap<String, String>,
}

/// The roles a Space member may hold.
pub const PROJECT_ROLES: &[&str] = &["owner", "coowner", "editor", "commentator", "viewer"];

/// Who a board reaches besides its members: anyone with the link (`access`), its team, the whole
/// organization; each `private`, `view`, `comment` or `edit`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sharing {
    pub access: String,
    #[serde(default)]
    pub access_password_required: bool,
    pub team_access: String,
    pub organization_access: String,
}

/// A board: its team, owner, sharing policy, direct members and the user groups shared with it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Board {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub team_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    pub owner_id: String,
    pub created_at: String,
    pub modified_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_opened_at: Option<String>,
    pub sharing: Sharing,
    /// Direct members, user id -> role (`viewer`, `commenter`, `editor`, `coowner`, `owner`); the
    /// owner is among them.
    #[serde(default)]
    pub members: BTreeMap<String, String>,
    /// User groups shared with the board, group id -> role (`VIEWER`, `COMMENTER`, `EDITOR`).
    #[serde(default)]
    pub groups: BTreeMap<String, String>,
    /// The id of its classification label, if it carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
}

/// The roles a board member may hold, lowest first.
pub const BOARD_ROLES: &[&str] = &["viewer", "commenter", "editor", "coowner", "owner"];

/// The levels of link, team and organization access.
pub const ACCESS_LEVELS: &[&str] = &["private", "view", "comment", "edit"];

fn default_plan() -> String {
    "company".into()
}

/// Ids are fixed-width numeric strings, so string order is numeric order (as cursors need).
pub fn format_id(n: u64) -> String {
    format!("{:019}", 3_074_457_345_600_000_000u64 + n)
}

impl Org {
    pub fn next_id(&self) -> String {
        let max_member = self.members.keys().next_back();
        let max_team = self.teams.keys().next_back();
        let max_group = self.groups.keys().next_back();
        let max = max_member
            .into_iter()
            .chain(max_team)
            .chain(max_group)
            .max()
            .cloned()
            .unwrap_or_else(|| format_id(0));
        let n: u64 = max.parse().unwrap_or(3_074_457_345_600_000_000);
        format!("{:019}", n + 1)
    }

    pub fn member_by_email(&self, email: &str) -> Option<&Member> {
        self.members
            .values()
            .find(|m| m.email.eq_ignore_ascii_case(email))
    }

    pub fn memberships(&self) -> usize {
        self.teams.values().map(|t| t.members.len()).sum()
    }

    /// Group memberships (user, group) over all groups.
    pub fn group_memberships(&self) -> usize {
        self.groups.values().map(|g| g.members.len()).sum()
    }

    /// Remove a user everywhere (SCIM DELETE).
    pub fn remove_member(&mut self, id: &str) {
        self.members.remove(id);
        for team in self.teams.values_mut() {
            team.members.remove(id);
        }
        for group in self.groups.values_mut() {
            group.members.remove(id);
        }
    }
}

/// Miro's REST license value to SCIM's `userType` display string, and back.
pub fn license_to_user_type(license: &str) -> &'static str {
    match license {
        "full" => "Full",
        "free" => "Free",
        "free_restricted" => "Free Restricted",
        "full_trial" => "Full (Trial)",
        "basic" => "Basic",
        "standard" => "Standard",
        "advanced" => "Advanced",
        "occasional" => "Occasional",
        _ => "Unknown",
    }
}

pub fn user_type_to_license(user_type: &str) -> Option<&'static str> {
    let l = user_type.to_ascii_lowercase();
    Some(match l.as_str() {
        "full" => "full",
        "free" => "free",
        "free restricted" => "free_restricted",
        "full (trial)" => "full_trial",
        "basic" => "basic",
        "standard" => "standard",
        "advanced" => "advanced",
        "occasional" => "occasional",
        _ => return None,
    })
}

/// Miro reports the date-time of "now" in ISO-8601 UTC with a trailing Z.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

pub fn epoch_to_rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_numerically() {
        assert!(format_id(9) < format_id(10));
        assert_eq!(format_id(1).len(), 19);
    }

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(epoch_to_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(epoch_to_rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn license_round_trip() {
        for l in LICENSES.iter().filter(|l| **l != "unknown") {
            assert_eq!(user_type_to_license(license_to_user_type(l)), Some(*l));
        }
    }
}
