//! Boards' classification labels (opt-in, `content_classification`): whether the organization
//! classifies its boards (read once every ten minutes), each board's label (one Level 2 request a
//! board, a page's boards at once), and whether a board is shared beyond what its label
//! recommends, as a flag a reviewer can filter on.
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use futures::{StreamExt, stream};

use super::{Connector, ConnectorError, content::Skipped};
use crate::miro::{
    classification::{Label, SharingRecommendation},
    content_models::{Access, SharingPolicy},
};

/// How long the organization's setting is trusted before it is read again.
const FRESH: Duration = Duration::from_secs(600);

/// Label reads of one page in flight at once; the budget paces them further.
const AT_ONCE: usize = 8;

#[derive(Default)]
pub(crate) struct Classification {
    enabled: tokio::sync::Mutex<Option<(Instant, bool)>>,
}

/// Whether a board's sharing reaches further than its label recommends: anyone with the link for
/// a label kept to the organization; the organization as well for one kept to the team; the whole
/// team as well for one kept to the team members authorized to it. Direct members and user
/// groups are not judged: each of them is a choice someone made about a person.
pub(super) fn beyond(label: &Label, s: &SharingPolicy) -> Option<bool> {
    let open = |a: Access| a != Access::Private;
    Some(match label.sharing_recommendation {
        SharingRecommendation::NoRestrictions => false,
        SharingRecommendation::Organization => open(s.access),
        SharingRecommendation::Team => open(s.access) || open(s.organization_access),
        SharingRecommendation::AuthorizedTeamMembers => {
            open(s.access) || open(s.organization_access) || open(s.team_access)
        }
        SharingRecommendation::Unknown => return None,
    })
}

impl Connector {
    /// Labels are read when the setting asks and the organization classifies its boards. A 403
    /// (scope or plan) leaves labels out, as other content parts are.
    async fn classifies(&self) -> Result<bool, ConnectorError> {
        if !self.settings().content.classification {
            return Ok(false);
        }
        let mut cached = self.classification.enabled.lock().await;
        if let Some((at, on)) = *cached
            && at.elapsed() < FRESH
        {
            return Ok(on);
        }
        let org = self.org_id().await?;
        let on = match self.miro().rest.classification_settings(org).await {
            Ok(s) => s.enabled,
            Err(e) if self.content_denied(Skipped::Classification, &e) => false,
            Err(e) => return Err(e.into()),
        };
        *cached = Some((Instant::now(), on));
        Ok(on)
    }

    /// The labels of a team's boards, by board id; empty when labels are not read.
    pub(super) async fn board_labels(
        &self,
        team: &str,
        boards: &[&str],
    ) -> Result<HashMap<String, Label>, ConnectorError> {
        if boards.is_empty() || !self.classifies().await? {
            return Ok(HashMap::new());
        }
        let org = self.org_id().await?;
        let rest = &self.miro().rest;
        // Made up front: a closure inside the stream would not be Send for every lifetime.
        let reads: Vec<_> = boards
            .iter()
            .map(|&b| async move { (b, rest.board_label(org, team, b).await) })
            .collect();
        let mut reads = stream::iter(reads).buffer_unordered(AT_ONCE);
        let mut labels = HashMap::with_capacity(boards.len());
        while let Some((board, read)) = reads.next().await {
            match read {
                Ok(Some(l)) => {
                    labels.insert(board.to_string(), l);
                }
                Ok(None) => {}
                Err(e) if self.content_denied(Skipped::Classification, &e) => {
                    // Not asked again, board after board, until the setting is read again.
                    *self.classification.enabled.lock().await = Some((Instant::now(), false));
                    return Ok(HashMap::new());
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(link: Access, team: Access, org: Access) -> SharingPolicy {
        SharingPolicy {
            access: link,
            access_password_required: false,
            team_access: team,
            organization_access: org,
        }
    }

    fn label(r: SharingRecommendation) -> Label {
        Label {
            id: "1".into(),
            name: "x".into(),
            sharing_recommendation: r,
        }
    }

    #[test]
    fn each_recommendation_judges_the_levels_beyond_it() {
        use Access::{Edit, Private, View};
        use SharingRecommendation::*;
        let team_only = policy(Private, Edit, Private);
        let org_wide = policy(Private, Private, View);
        let by_link = policy(View, Private, Private);
        let closed = policy(Private, Private, Private);
        assert_eq!(beyond(&label(NoRestrictions), &by_link), Some(false));
        assert_eq!(beyond(&label(Organization), &org_wide), Some(false));
        assert_eq!(beyond(&label(Organization), &by_link), Some(true));
        assert_eq!(beyond(&label(Team), &team_only), Some(false));
        assert_eq!(beyond(&label(Team), &org_wide), Some(true));
        assert_eq!(
            beyond(&label(AuthorizedTeamMembers), &team_only),
            Some(true)
        );
        assert_eq!(beyond(&label(AuthorizedTeamMembers), &closed), Some(false));
        assert_eq!(beyond(&label(Unknown), &by_link), None);
    }
}
