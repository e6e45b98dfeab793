//! What an id an audit event names is, when the daemon has not served it since it started (after a
//! restart, or a user created since the last sync): asked of Miro, cheapest first (a team, a user
//! group, and, in a team content access covers, a Space of that team: Level 1 each; then an
//! organization member, Level 3), and remembered either way. A probe waits on the shared budget
//! like any request, within the RPC's deadline.
use std::{collections::HashSet, sync::Mutex};

use super::super::{Connector, ConnectorError, kinds::Kind};
use crate::miro::{ErrorKind, spaces::SpaceAt};

/// Ids found to be none of the types: at most this many remembered (then forgotten at once).
const ABSENT_MAX: usize = 10_000;

#[derive(Default)]
pub(crate) struct Absent(Mutex<HashSet<String>>);

impl Connector {
    /// The type (and parent) of a decimal id named in `team`'s context: served before, or found
    /// now.
    pub(super) async fn kind_of(
        &self,
        id: &str,
        team: Option<&str>,
    ) -> Result<Option<(Kind, Option<String>)>, ConnectorError> {
        if let Some(k) = self.directory.kind_of(id) {
            return Ok(Some(k));
        }
        if self
            .absent
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(id)
        {
            return Ok(None);
        }
        let org = self.org_id().await?;
        let rest = &self.miro().rest;
        // A refusal (no scope for groups, say) is an answer too: not this type, as far as we know.
        let found = |r: Result<bool, crate::miro::MiroError>| match r {
            Ok(found) => Ok(found),
            Err(e) if matches!(e.kind(), ErrorKind::Forbidden | ErrorKind::NotFound) => Ok(false),
            Err(e) => Err(ConnectorError::from(e)),
        };
        let space_team = team.filter(|t| self.settings().content.covers(t));
        for kind in [Kind::Team, Kind::Group, Kind::Space, Kind::User] {
            let there = match (kind, space_team) {
                (Kind::Team, _) => found(rest.team(org, id).await.map(|t| t.is_some()))?,
                (Kind::Group, _) => found(rest.group(org, id).await.map(|g| g.is_some()))?,
                (Kind::Space, Some(team)) => {
                    let at = SpaceAt {
                        org,
                        team,
                        project: id,
                    };
                    found(rest.project(at).await.map(|p| p.is_some()))?
                }
                (Kind::Space, None) => false,
                _ => found(rest.member(org, id).await.map(|m| m.is_some()))?,
            };
            if there {
                let parent = space_team.filter(|_| kind == Kind::Space);
                self.directory.saw(kind, std::iter::once((id, parent)));
                return Ok(Some((kind, parent.map(str::to_string))));
            }
        }
        let mut absent = self.absent.0.lock().unwrap_or_else(|e| e.into_inner());
        if absent.len() >= ABSENT_MAX {
            absent.clear();
        }
        absent.insert(id.to_string());
        Ok(None)
    }
}
