//! Miro's board and Space (project) shapes, written from its OpenAPI spec. As in `models`, unknown
//! fields are ignored and enum values the spec does not list map to `Unknown`.
use serde::{Deserialize, Deserializer};

use super::models::NamedRef;

miro_enum!(
    /// `sharingPolicy.access`, `teamAccess` and `organizationAccess`: who reaches a board besides
    /// its members, and how far.
    Access {
        Private = "private",
        View = "view",
        Comment = "comment",
        Edit = "edit",
    }
);

miro_enum!(
    /// `BoardMember.role`.
    BoardRole {
        Viewer = "viewer",
        Commenter = "commenter",
        Editor = "editor",
        Coowner = "coowner",
        Owner = "owner",
    }
);

miro_enum!(
    /// `ProjectMember.role`: the API's words, `commentator` where boards say `commenter`.
    ProjectRole {
        Owner = "owner",
        Coowner = "coowner",
        Editor = "editor",
        Commentator = "commentator",
        Viewer = "viewer",
    }
);

miro_enum!(
    /// The role a user group is shared with on a board or a Space.
    ShareRole {
        Viewer = "VIEWER",
        Commenter = "COMMENTER",
        Editor = "EDITOR",
    }
);

/// An id Miro types as a string but a proxy might send as a number; read exactly either way (a
/// float would round ids beyond 2^53).
pub(super) fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(match Id::deserialize(d)? {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    })
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharingPolicy {
    pub access: Access,
    #[serde(default)]
    pub access_password_required: bool,
    pub team_access: Access,
    pub organization_access: Access,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardPolicy {
    pub sharing_policy: Option<SharingPolicy>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IdRef {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Board {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub team: Option<IdRef>,
    pub project: Option<IdRef>,
    pub owner: Option<NamedRef>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub modified_at: Option<String>,
    #[serde(default)]
    pub last_opened_at: Option<String>,
    pub policy: Option<BoardPolicy>,
}

impl Board {
    pub fn sharing(&self) -> Option<&SharingPolicy> {
        self.policy.as_ref()?.sharing_policy.as_ref()
    }
    pub fn team_id(&self) -> Option<&str> {
        self.team.as_ref().map(|t| t.id.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BoardMember {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub role: BoardRole,
}

/// A user group shared with a board or a Space.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GroupShare {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    pub role: ShareRole,
}

/// The answer of share-board: the ids invited (integers, often beyond 2^53) and the addresses
/// that could not be.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Invitation {
    #[serde(default)]
    pub successful: Vec<u64>,
    #[serde(default)]
    pub failed: Vec<FailedInvite>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FailedInvite {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Project {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectSharing {
    pub team_access: Access,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectSettings {
    pub sharing_policy_settings: ProjectSharing,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProjectMember {
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    pub role: ProjectRole,
}

/// Miro's offset lists (boards and board members).
#[derive(Debug, Clone, Deserialize)]
pub struct OffsetPage<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub offset: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_exactly_and_odd_values_do_not_fail() {
        let m: BoardMember =
            serde_json::from_str(r#"{"id":3458764517517852417,"role":"owner"}"#).unwrap();
        assert_eq!(m.id, "3458764517517852417");
        let i: Invitation =
            serde_json::from_str(r#"{"successful":[3458764517517852417],"failed":[]}"#).unwrap();
        assert_eq!(i.successful, [3_458_764_517_517_852_417]);
        let g: GroupShare = serde_json::from_str(r#"{"id":"1","role":"OWNER"}"#).unwrap();
        assert_eq!(g.role, ShareRole::Unknown);
        assert!(serde_json::from_str::<Invitation>(r#"{"successful":[1.5e20]}"#).is_err());
    }
}
