//! Miro's shapes, written from its OpenAPI spec. Unknown fields are ignored and enum values the spec
//! does not list map to `Unknown`, so one odd record never fails a whole sync.
use serde::{Deserialize, Serialize};

macro_rules! miro_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant,)*
            #[serde(other, rename = "unknown")]
            Unknown,
        }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $wire,)* $name::Unknown => "unknown" }
            }
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

miro_enum!(
    /// `OrganizationMember.role`.
    OrgRole {
        InternalAdmin = "organization_internal_admin",
        InternalUser = "organization_internal_user",
        ExternalUser = "organization_external_user",
        TeamGuestUser = "organization_team_guest_user",
    }
);

miro_enum!(
    /// `OrganizationMember.license`.
    License {
        Advanced = "advanced",
        Standard = "standard",
        Basic = "basic",
        Full = "full",
        Occasional = "occasional",
        Free = "free",
        FreeRestricted = "free_restricted",
        FullTrial = "full_trial",
    }
);

miro_enum!(
    /// `TeamMember.role`; `team_guest` is deprecated but still reported.
    TeamRole {
        NonTeam = "non_team",
        Member = "member",
        Admin = "admin",
        TeamGuest = "team_guest",
    }
);

impl OrgRole {
    /// The primary role as Miro's SCIM spells it (`ORGANIZATION_INTERNAL_ADMIN`).
    fn scim_value(self) -> String {
        self.as_str().to_ascii_uppercase()
    }
}

/// SCIM `userType` for each license, as Miro spells it.
const USER_TYPES: &[(License, &str)] = &[
    (License::Full, "Full"),
    (License::Free, "Free"),
    (License::FreeRestricted, "Free Restricted"),
    (License::FullTrial, "Full (Trial)"),
    (License::Basic, "Basic"),
    (License::Standard, "Standard"),
    (License::Advanced, "Advanced"),
    (License::Occasional, "Occasional"),
];

impl License {
    pub fn user_type(self) -> Option<&'static str> {
        USER_TYPES.iter().find(|(l, _)| *l == self).map(|(_, t)| *t)
    }

    /// A license from Miro's REST value (`full_trial`) or SCIM's `userType` (`Full (Trial)`).
    pub fn from_either(s: &str) -> Option<Self> {
        USER_TYPES
            .iter()
            .find(|(l, t)| l.as_str().eq_ignore_ascii_case(s) || t.eq_ignore_ascii_case(s))
            .map(|(l, _)| *l)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct NamedRef {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// `GET /v1/oauth-token`.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenInfo {
    pub organization: Option<NamedRef>,
    pub user: Option<NamedRef>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub plan: Option<String>,
    /// Full licenses bought: a hint of the organization's size before its members are counted.
    #[serde(default)]
    pub full_licenses_purchased: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminRole {
    #[serde(rename = "type", default)]
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgMember {
    pub id: String,
    pub email: String,
    pub role: OrgRole,
    pub license: License,
    pub active: bool,
    #[serde(default)]
    pub last_activity_at: Option<String>,
    #[serde(default)]
    pub license_assigned_at: Option<String>,
    #[serde(default)]
    pub admin_roles: Vec<AdminRole>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Team {
    pub id: String,
    pub name: String,
}

/// A user group (`Group` in the spec: type `user-group`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserGroup {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A member of a user group (`GroupMember`), or a user a members PATCH affected.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GroupMember {
    pub id: String,
    #[serde(default)]
    pub email: String,
}

/// A team a group is assigned to (`GroupTeam`), or a group of a team (`TeamGroup`): either way an
/// id; the role is always `member`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Assignment {
    pub id: String,
}

/// One operation's result in the 207 answer of a group-members PATCH.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembersResult {
    #[serde(default)]
    pub operation: String,
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub affected_users: Vec<GroupMember>,
    #[serde(default)]
    pub error: Option<BasicError>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BasicError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamMember {
    pub id: String,
    pub role: TeamRole,
    #[serde(default)]
    pub team_id: String,
}

/// Miro's cursor lists (`cursor-list`).
#[derive(Debug, Clone, Deserialize)]
pub struct CursorPage<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimName {
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub formatted: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ScimRole {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub primary: bool,
}

const SCIM_ORG_ROLE: &str = "organization_user_role";
pub(crate) const SCIM_ADMIN_ROLE: &str = "organization_admin_role";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimUser {
    pub id: String,
    #[serde(default)]
    pub user_name: String,
    #[serde(default)]
    pub name: Option<ScimName>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub user_type: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub roles: Vec<ScimRole>,
}

fn yes() -> bool {
    true
}

impl ScimUser {
    /// The primary (organization) role; `Unknown` for one Miro adds later.
    pub fn org_role(&self) -> Option<OrgRole> {
        self.roles
            .iter()
            .find(|r| r.primary || r.kind == SCIM_ORG_ROLE)
            .map(|r| OrgRole::parse(&r.value.to_ascii_lowercase()).unwrap_or(OrgRole::Unknown))
    }

    /// Holds the admin role `name` (compared as Miro does, without case).
    pub fn has_admin_role(&self, name: &str) -> bool {
        self.admin_roles().any(|r| r.eq_ignore_ascii_case(name))
    }
    pub fn admin_roles(&self) -> impl Iterator<Item = &str> {
        self.roles
            .iter()
            .filter(|r| r.kind == SCIM_ADMIN_ROLE)
            .map(|r| r.value.as_str())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimList {
    #[serde(default)]
    pub total_results: u64,
    #[serde(rename = "Resources", default)]
    pub resources: Vec<ScimUser>,
}

/// What CreateAccount sends to SCIM `POST /Users`.
#[derive(Debug, Clone, Default)]
pub struct NewScimUser {
    pub user_name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// Miro decides when absent.
    pub license: Option<License>,
}

impl NewScimUser {
    /// The body of SCIM `POST /Users`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let mut body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": self.user_name, "active": true,
            "emails": [{"value": self.user_name, "type": "work", "primary": true}]});
        if let (Some(g), Some(f)) = (&self.given_name, &self.family_name) {
            body["name"] = json!({"givenName": g, "familyName": f});
        }
        if let Some(d) = &self.display_name {
            body["displayName"] = json!(d);
        }
        if let Some(t) = self.license.and_then(|l| l.user_type()) {
            body["userType"] = json!(t);
        }
        body
    }
}

/// One SCIM PATCH operation this connector sends.
#[derive(Debug, Clone, PartialEq)]
pub enum ScimPatch {
    Active(bool),
    DisplayName(String),
    /// The license (SCIM `userType`); Miro only upgrades.
    License(License),
    PrimaryRole(OrgRole),
    AddAdminRole(String),
    RemoveAdminRole(String),
}

impl ScimPatch {
    /// The operation as Miro's PatchUserResource documents it. Values are strings where the spec
    /// types them so (`"value": "false"` for `active`); admin roles follow the spec's own text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Self::Active(a) => json!({"op": "Replace", "path": "active", "value": a.to_string()}),
            Self::DisplayName(d) => json!({"op": "Replace", "path": "displayName", "value": d}),
            Self::License(l) => json!({"op": "Replace", "path": "userType",
                "value": l.user_type().unwrap_or("Full")}),
            Self::PrimaryRole(r) => json!({"op": "Replace", "path": "roles[primary eq true].value",
                "value": r.scim_value()}),
            Self::AddAdminRole(n) => json!({"op": "Add", "path": "roles",
                "value": [{"value": n, "type": SCIM_ADMIN_ROLE, "primary": false}]}),
            Self::RemoveAdminRole(n) => {
                json!({"op": "Remove", "path": format!("roles[value eq {}]", scim_quoted(n))})
            }
        }
    }
}

/// A SCIM filter string literal.
pub(crate) fn scim_quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_do_not_fail() {
        let m: OrgMember = serde_json::from_str(
            r#"{"id":"1","email":"a@b.c","role":"organization_future_role","license":"galactic","active":true,"extra":1}"#,
        )
        .unwrap();
        assert_eq!(m.role, OrgRole::Unknown);
        assert_eq!(m.license, License::Unknown);
        let t: TeamMember =
            serde_json::from_str(r#"{"id":"1","role":"owner","teamId":"2"}"#).unwrap();
        assert_eq!(t.role, TeamRole::Unknown);
        assert_eq!(
            OrgRole::parse("organization_internal_user"),
            Some(OrgRole::InternalUser)
        );
        assert_eq!(
            License::from_either("Full (Trial)"),
            Some(License::FullTrial)
        );
        assert_eq!(License::from_either("basic"), Some(License::Basic));
        assert_eq!(License::from_either("platinum"), None);
        assert_eq!(
            OrgRole::InternalAdmin.scim_value(),
            "ORGANIZATION_INTERNAL_ADMIN"
        );
    }
}
