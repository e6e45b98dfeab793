//! Board classification (Enterprise): the organization's settings and a board's label. Miro reads
//! labels one board at a time (Level 2), so the connector reads them only when asked to.
use serde::Deserialize;

use super::{
    content_models::id_text,
    error::MiroError,
    http::Call,
    rest::{RestClient, optional},
};

const L2: u64 = 100;

miro_enum!(
    /// How far a label says its boards may be shared.
    SharingRecommendation {
        NoRestrictions = "NO_SHARING_RESTRICTIONS",
        Organization = "ONLY_WITHIN_ORGANIZATION",
        Team = "ONLY_WITHIN_TEAM",
        AuthorizedTeamMembers = "ONLY_WITH_AUTHORIZED_TEAM_MEMBERS",
    }
);

impl Default for SharingRecommendation {
    fn default() -> Self {
        Self::Unknown
    }
}

/// `DataClassificationOrganizationSettings`; only whether classification is on matters here.
#[derive(Debug, Clone, Deserialize)]
pub struct ClassificationSettings {
    #[serde(default)]
    pub enabled: bool,
}

/// `BoardDataClassificationLabel`. An unlabelled board answers the object without an id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    #[serde(default, deserialize_with = "id_text")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub sharing_recommendation: SharingRecommendation,
}

impl RestClient {
    /// Whether the organization classifies its boards (Level 2, `organizations:read`).
    pub async fn classification_settings(
        &self,
        org: &str,
    ) -> Result<ClassificationSettings, MiroError> {
        let call = Call::get(
            "GET /v2/orgs/{org_id}/data-classification-settings",
            L2,
            &["v2", "orgs", org, "data-classification-settings"],
        );
        self.t.json(&call).await
    }

    /// A board's label: `None` for an unlabelled board or one that is gone (Level 2).
    pub async fn board_label(
        &self,
        org: &str,
        team: &str,
        board: &str,
    ) -> Result<Option<Label>, MiroError> {
        let call = Call::get(
            "GET /v2/orgs/{org_id}/teams/{team_id}/boards/{board_id}/data-classification",
            L2,
            &[
                "v2",
                "orgs",
                org,
                "teams",
                team,
                "boards",
                board,
                "data-classification",
            ],
        );
        let label: Option<Label> = optional(self.t.json(&call).await)?;
        Ok(label.filter(|l| !l.id.is_empty() || !l.name.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_as_miro_or_a_proxy_sends_them() {
        let l: Label = serde_json::from_str(
            r#"{"id": 3000457366756290996, "name": "Internal", "sharingRecommendation": "ONLY_WITHIN_TEAM"}"#,
        )
        .unwrap();
        assert_eq!(l.id, "3000457366756290996", "an id beyond 2^53 stays exact");
        assert_eq!(l.sharing_recommendation, SharingRecommendation::Team);
        let later: Label =
            serde_json::from_str(r#"{"id": "1", "sharingRecommendation": "ONLY_ON_TUESDAYS"}"#)
                .unwrap();
        assert_eq!(later.sharing_recommendation, SharingRecommendation::Unknown);
        let none: Label =
            serde_json::from_str(r#"{"type": "board-data-classification-label"}"#).unwrap();
        assert!(none.id.is_empty() && none.name.is_empty());
    }
}
