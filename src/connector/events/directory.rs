//! What each Miro id the daemon has served is: users, teams, user groups and Spaces share one
//! decimal id format, and an audit event's `object` names no type. The change feed reads an
//! object's type from here. Bounded by the organization's size (and emptied at a hard cap), not by
//! the number of RPCs.
use std::{collections::HashMap, sync::Mutex};

use super::super::kinds::Kind;

/// Far above any organization's users, teams, groups and Spaces together.
const CAP: usize = 2_000_000;

#[derive(Default)]
pub(crate) struct Directory(Mutex<HashMap<String, (Kind, Option<String>)>>);

impl Directory {
    /// Records ids served as `kind`, each with its parent's id (a Space's team).
    pub(crate) fn saw<'a>(
        &self,
        kind: Kind,
        ids: impl Iterator<Item = (&'a str, Option<&'a str>)>,
    ) {
        if !matches!(kind, Kind::User | Kind::Team | Kind::Group | Kind::Space) {
            return;
        }
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for (id, parent) in ids {
            if m.len() >= CAP && !m.contains_key(id) {
                m.clear();
            }
            m.insert(id.to_string(), (kind, parent.map(str::to_string)));
        }
    }

    /// The type (and parent) of an id served before.
    pub(super) fn kind_of(&self, id: &str) -> Option<(Kind, Option<String>)> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }
}
