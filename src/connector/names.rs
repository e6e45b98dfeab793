//! Display names from SCIM: an enrichment, so it never fails a listing. One request per page of
//! members (an `id eq … or …` filter); if Miro rejects a filter that long, every SCIM user is paged
//! once instead (`count` 1000) and kept for a while; on any other SCIM failure the page lists with
//! email display names, the daemon says why once, and `miro_name_enrichment_failures_total` counts.
use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use super::Connector;
use crate::miro::{
    ErrorKind, MiroError, ScimClient,
    models::{OrgMember, OrgRole, ScimUser},
    scim::MAX_COUNT,
};

/// How long paged names are reused before they are paged again.
const FRESH: Duration = Duration::from_secs(600);

type Directory = Arc<HashMap<String, ScimUser>>;

#[derive(Default)]
pub(crate) struct Names {
    /// Miro refused the long filter: page `GET /Users` from now on.
    paging: AtomicBool,
    warned: AtomicBool,
    directory: tokio::sync::Mutex<Option<(Instant, Directory)>>,
}

impl Names {
    fn failed(&self, e: &MiroError) {
        metrics::counter!("miro_name_enrichment_failures_total").increment(1);
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %e, "SCIM names are unavailable; users are listed with their email as display name (logged once)");
        }
    }
}

async fn page_everyone(scim: &ScimClient) -> Result<Directory, MiroError> {
    let mut all = HashMap::new();
    let mut start = 1;
    loop {
        let page = scim.list(None, start, MAX_COUNT).await?;
        let n = page.resources.len();
        all.extend(page.resources.into_iter().map(|u| (u.id.clone(), u)));
        start += n;
        if n == 0 || start as u64 > page.total_results {
            return Ok(Arc::new(all));
        }
    }
}

impl Connector {
    /// SCIM records for a page of members, by id; empty without SCIM or when SCIM fails.
    pub(crate) async fn scim_names(&self, members: &[OrgMember]) -> HashMap<String, ScimUser> {
        lookup(&self.names, self.miro().scim.as_ref(), members).await
    }
}

/// `Connector::scim_names`, for a request that runs on its own (a member page read ahead).
pub(crate) async fn lookup(
    names: &Names,
    scim: Option<&ScimClient>,
    members: &[OrgMember],
) -> HashMap<String, ScimUser> {
    let Some(scim) = scim else {
        return HashMap::new();
    };
    // Guests are not SCIM users: asking for them is pointless.
    let ids: Vec<&str> = members
        .iter()
        .filter(|m| !matches!(m.role, OrgRole::ExternalUser | OrgRole::TeamGuestUser))
        .map(|m| m.id.as_str())
        .collect();
    if !names.paging.load(Ordering::Relaxed) {
        match scim.users_by_ids(&ids).await {
            Ok(users) => return users.into_iter().map(|u| (u.id.clone(), u)).collect(),
            Err(e) if e.kind() == ErrorKind::Rejected => {
                tracing::warn!(error = %e, "Miro refused a SCIM filter of {} ids; paging GET /Users for names instead", ids.len());
                names.paging.store(true, Ordering::Relaxed);
            }
            Err(e) => {
                names.failed(&e);
                return HashMap::new();
            }
        }
    }
    let directory = {
        let mut cached = names.directory.lock().await;
        match cached.as_ref() {
            Some((at, d)) if at.elapsed() < FRESH => d.clone(),
            _ => match page_everyone(scim).await {
                Ok(d) => {
                    *cached = Some((Instant::now(), d.clone()));
                    d
                }
                Err(e) => {
                    names.failed(&e);
                    return HashMap::new();
                }
            },
        }
    };
    ids.iter()
        .filter_map(|id| directory.get(*id).map(|u| (id.to_string(), u.clone())))
        .collect()
}
