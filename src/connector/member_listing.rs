//! The member listing (ListResources of `user`) as one cursor chain or several at once.
//!
//! Each page of Miro's member listing waits for the one before it (its cursor is the last member
//! received), so one chain cannot go faster than a page per round trip. When a round trip takes
//! longer than the budget needs to earn a page's 500 credits back, the listing, not the budget,
//! sets the sync's pace. Then the listing runs one chain per license instead (`license` is a filter
//! the spec documents; its enum is closed, with `unknown`, so every member is on exactly one
//! chain). All chains are read ahead at once and the client is served whichever page is ready. A
//! chain costs at most one page more than its share (its last, partial page, or an empty one), so
//! the split is made only when those pages are at most 1% of the listing's own.
//!
//! The chains are not alike: one license usually holds most members, and its chain, a round
//! trip a page, outlasts the others. So that chain (the critical one, `critical`) keeps more
//! pages ahead of the client than the others, and its requests go before theirs on the budget:
//! it runs at a page a round trip, the others spend what it leaves, and the listing ends near the
//! budget's time rather than the longest chain's.
use std::sync::{
    Arc,
    atomic::{AtomicU64, AtomicUsize, Ordering},
};

use serde::{Deserialize, Serialize};

use super::{
    Connector, ConnectorError,
    annotations::pack,
    holdings::{Held, Holdings},
    page_token,
    readahead::{Key, reads},
    users,
};
use crate::{
    miro::{models::License, paging::PageAt},
    pb,
};

const SCOPE: &str = "resources:user";
/// This listing's tokens; `mc1.` tokens (one chain, from before) are still read.
const PREFIX: &str = "mcm1.";
const MAX_CURSOR: usize = 1024;
/// The longest token: every chain at the longest cursor, JSON-escaped, in base64.
const MAX_TOKEN: usize = PREFIX.len() + (CHAINS * (6 * MAX_CURSOR + 8) + 128) * 4 / 3 + 16;
/// One chain per license the spec lists, `unknown` included.
const CHAINS: usize = License::ALL.len() + 1;
/// A round trip this close to a page's budget time already leaves the budget idle at times.
const LATENCY_BOUND: f64 = 2.0 / 3.0;
/// Pages the critical chain keeps ahead of the client. The client takes the pages in the order
/// they arrive, a share of each chain; a chain that may run only `reads::LEAD` pages ahead of
/// what the client took goes at that share, not at a page a round trip. The other chains fill
/// what the budget leaves.
const CRITICAL_LEAD: usize = 8;
/// The most the extra pages of a split may add to the listing's own.
const MAX_EXTRA_SHARE: f64 = 0.01;

/// Whether the member listing runs one chain per license (`--member-chains`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MemberChains {
    /// Split when one chain would keep the sync from the budget's pace, and it costs at most 1%.
    #[default]
    Auto,
    /// Always split (read-ahead runs the chains at once).
    On,
    /// One chain.
    Off,
}

fn license_of(chain: usize) -> Option<License> {
    License::ALL.get(chain).copied().or(Some(License::Unknown))
}

/// How many members the organization has, as best known: the last whole listing's count, else
/// the full licenses it bought (read at Validate). And each chain's pages in the last whole split
/// listing, and which chain is critical now.
#[derive(Default)]
pub(crate) struct SizeHint {
    counted: AtomicU64,
    licenses: AtomicU64,
    chain_pages: [AtomicU64; CHAINS],
    /// The critical chain's index; another value (none is critical) otherwise.
    critical: Arc<AtomicUsize>,
}

impl SizeHint {
    pub(crate) fn licenses(&self, n: Option<i64>) {
        // Miro's answer bounds nothing: a negative or absurd figure is not a hint.
        let n = n.filter(|n| (0..=100_000_000).contains(n)).unwrap_or(0);
        self.licenses.store(n as u64, Ordering::Relaxed);
    }

    fn get(&self) -> Option<u64> {
        [&self.counted, &self.licenses]
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .find(|n| *n > 0)
    }
}

/// Whether a fresh listing of about `members` members, `limit` a page, should run one chain per
/// license: a page's round trip is at least `LATENCY_BOUND` of its budget time, and the extra
/// pages are at most `MAX_EXTRA_SHARE` of the listing's own.
pub(crate) fn worth_splitting(
    members: Option<u64>,
    limit: usize,
    latency_ratio: Option<f64>,
) -> bool {
    let (Some(n), Some(ratio)) = (members, latency_ratio) else {
        return false;
    };
    let pages = n as f64 / limit.max(1) as f64;
    ratio >= LATENCY_BOUND && pages * MAX_EXTRA_SHARE >= (CHAINS - 1) as f64
}

/// Where a listing is: per chain, `Some("")` not started, `Some(cursor)`, or `None` when done.
#[derive(Serialize, Deserialize)]
struct State {
    s: String,
    c: Vec<Option<String>>,
    /// Pages served per chain (split listings).
    #[serde(default)]
    q: Vec<u64>,
    /// Pages and members served so far; `w`: counted since the first page.
    p: u64,
    n: u64,
    w: bool,
}

impl State {
    fn fresh(chains: usize) -> Self {
        Self {
            s: SCOPE.into(),
            c: vec![Some(String::new()); chains],
            q: vec![0; chains],
            p: 0,
            n: 0,
            w: true,
        }
    }

    fn decode(token: &str) -> Result<Option<Self>, ConnectorError> {
        if token.is_empty() {
            return Ok(None);
        }
        if !token.starts_with(PREFIX) {
            let cursor = page_token::decode(SCOPE, token)?;
            return Ok(Some(Self {
                c: vec![cursor],
                w: false,
                ..Self::fresh(1)
            }));
        }
        let bad = |why: &str| ConnectorError::BadPageToken(why.to_string());
        let body = page_token::open(PREFIX, token, MAX_TOKEN).map_err(bad)?;
        let st: Self = serde_json::from_slice(&body).map_err(|_| bad("unreadable"))?;
        if st.s != SCOPE {
            return Err(bad(&format!(
                "it belongs to {}",
                super::ids::truncated(&st.s)
            )));
        }
        if ![1, CHAINS].contains(&st.c.len())
            || ![0, st.c.len()].contains(&st.q.len())
            || st.c.iter().all(Option::is_none)
            || st.c.iter().flatten().any(|c| c.len() > MAX_CURSOR)
        {
            return Err(bad("its member chains are not this listing's"));
        }
        Ok(Some(st))
    }

    fn cursor(&self, chain: usize) -> Option<&str> {
        self.c[chain].as_deref().filter(|c| !c.is_empty())
    }

    fn encode(&self) -> String {
        page_token::seal(PREFIX, serde_json::to_vec(self).unwrap_or_default())
    }
}

impl Connector {
    /// In a sync (`sync` not empty), users whose role and license grants their roles' and
    /// licenses' listings give carry `SkipGrants` (`holdings`).
    pub(crate) async fn list_users(
        &self,
        token: &str,
        page_size: u32,
        sync: &str,
    ) -> Result<(Vec<pb::Resource>, String), ConnectorError> {
        // Miro's page size, as the request will ask for it: 0 (the client's "yours") is 100.
        let limit = PageAt::first().with_limit(page_size as usize).limit;
        let mut st = match State::decode(token)? {
            Some(st) => st,
            None => {
                let chains = if self.split(limit) { CHAINS } else { 1 };
                let label = chains.to_string();
                metrics::counter!("miro_member_listings_total", "chains" => label).increment(1);
                State::fresh(chains)
            }
        };
        let org = self.org_id().await?;
        let chains = st.c.len();
        let hint = &self.member_count;
        let first = critical(&st, &hint.chain_pages);
        hint.critical
            .store(first.unwrap_or(usize::MAX), Ordering::Relaxed);
        let pages: Vec<_> = (0..chains)
            .map(|i| {
                let license = (chains > 1).then(|| license_of(i)).flatten();
                let now = hint.critical.clone();
                let critical: Option<reads::Critical> = (chains > 1)
                    .then(|| Arc::new(move || now.load(Ordering::Relaxed) == i) as reads::Critical);
                reads::members(&self.miro, &self.names, org, limit, license, critical)
            })
            .collect();
        let open: Vec<usize> = (0..chains).filter(|i| st.c[*i].is_some()).collect();
        if open.len() > 1 {
            // Every chain has its next pages on their way, so they run at once.
            for &i in &open {
                let lead = match Some(i) == first {
                    true => CRITICAL_LEAD,
                    false => reads::LEAD,
                };
                self.ahead.lead(&pages[i], st.cursor(i), lead);
            }
        }
        let keys: Vec<Key> = open.iter().map(|&i| pages[i].key(st.cursor(i))).collect();
        let began = std::time::Instant::now();
        let i = open[self.ahead.first_ready(&keys).await.unwrap_or(0)];
        let picked = began.elapsed();
        // The next page is on its way while the client works on this one.
        let page = self.read(&pages[i], st.cursor(i), 1).await?;
        let read = began.elapsed();
        st.c[i] = page.next.clone();
        if let Some(q) = st.q.get_mut(i) {
            *q += 1;
        }
        st.p += 1;
        st.n += page.items.len() as u64;
        let names = match page.items.first() {
            Some(n) => n.names.clone().await,
            None => Default::default(),
        };
        tracing::debug!(
            chain = i,
            page = st.p,
            waited_ms = picked.as_millis() as u64,
            read_ms = (read - picked).as_millis() as u64,
            names_ms = (began.elapsed() - read).as_millis() as u64,
            "member page served"
        );
        let held: Vec<_> = page.items.iter().map(|n| Held::of(&n.member)).collect();
        let more = st.c.iter().any(Option::is_some);
        let keeps = Holdings::keeps(sync);
        if keeps {
            let members = page
                .items
                .iter()
                .zip(&held)
                .filter(|(_, (_, custom))| !custom);
            let members = members.map(|(n, (h, _))| (n.member.id.as_str(), *h));
            self.holdings
                .served(sync, st.w.then_some(st.p), !more, members);
        }
        let list = page.items.iter().zip(&held).map(|(n, (_, custom))| {
            let mut r = users::resource(&n.member, names.get(&n.member.id));
            if keeps && !custom {
                r.annotations.push(pack(&pb::SkipGrants {}));
            }
            r
        });
        let list = list.collect();
        if more {
            return Ok((list, st.encode()));
        }
        self.listed(&st, limit);
        Ok((list, String::new()))
    }

    fn split(&self, limit: usize) -> bool {
        match self.settings().member_chains {
            MemberChains::Off => false,
            MemberChains::On => true,
            MemberChains::Auto => {
                self.ahead.enabled()
                    && worth_splitting(
                        self.member_count.get(),
                        limit,
                        self.miro().member_page_latency_ratio(),
                    )
            }
        }
    }

    /// A listing ended: remember its size, and count the pages splitting it cost.
    fn listed(&self, st: &State, limit: usize) {
        if !st.w {
            return;
        }
        self.member_count.counted.store(st.n, Ordering::Relaxed);
        let one_chain = st.n.div_ceil(limit.max(1) as u64).max(1);
        let extra = st.p.saturating_sub(one_chain);
        if st.c.len() > 1 {
            metrics::counter!("miro_member_listing_extra_requests_total").increment(extra);
            if st.q.len() == CHAINS {
                for (remembered, served) in self.member_count.chain_pages.iter().zip(&st.q) {
                    remembered.store(*served, Ordering::Relaxed);
                }
            }
        }
        tracing::debug!(
            members = st.n,
            requests = st.p,
            chains = st.c.len(),
            extra,
            "member listing done"
        );
    }
}

/// Of a split listing's open chains, the one expected to have the most pages left: by the last
/// whole listing's pages, then `full` (most members hold it), then by pages served so far. (Not
/// served first: whichever chain answers first would then be critical, and stay so.)
fn critical(st: &State, before: &[AtomicU64; CHAINS]) -> Option<usize> {
    if st.c.len() != CHAINS {
        return None;
    }
    (0..CHAINS).filter(|i| st.c[*i].is_some()).max_by_key(|&i| {
        let served = st.q.get(i).copied().unwrap_or(0);
        let left = before[i].load(Ordering::Relaxed).saturating_sub(served);
        (left, license_of(i) == Some(License::Full), served)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_only_when_latency_binds_and_the_extra_pages_stay_under_one_percent() {
        // 100,000 members: 1,000 pages, 8 extra at most (0.8%).
        assert!(worth_splitting(Some(100_000), 100, Some(1.6)));
        assert!(worth_splitting(Some(100_000), 100, Some(0.7)));
        assert!(!worth_splitting(Some(100_000), 100, Some(0.3)), "fast Miro");
        assert!(
            !worth_splitting(Some(10_000), 100, Some(1.6)),
            "8 of 100 pages"
        );
        assert!(!worth_splitting(None, 100, Some(1.6)), "size unknown");
        assert!(
            !worth_splitting(Some(100_000), 100, None),
            "latency unknown"
        );
        assert!(worth_splitting(Some(1_000), 1, Some(1.0)), "small pages");
    }

    #[test]
    fn tokens_round_trip_and_refuse_what_is_not_theirs() {
        let mut st = State::fresh(CHAINS);
        st.c[3] = Some("3074457345600000100".into());
        st.c[4] = None;
        let back = State::decode(&st.encode()).unwrap().unwrap();
        assert_eq!(back.c, st.c);
        assert_eq!(back.cursor(0), None);
        assert_eq!(back.cursor(3), Some("3074457345600000100"));
        let old = page_token::encode(SCOPE, Some("42"));
        let one = State::decode(&old).unwrap().unwrap();
        assert_eq!((one.c, one.w), (vec![Some("42".to_string())], false));
        let mut done = State::fresh(2);
        done.c = vec![None, None];
        for bad in [
            done.encode(),
            State {
                s: "resources:team".into(),
                ..State::fresh(1)
            }
            .encode(),
            format!("{PREFIX}AAAA"),
            page_token::encode("resources:team", Some("1")),
        ] {
            assert!(
                matches!(State::decode(&bad), Err(ConnectorError::BadPageToken(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_critical_chain_is_the_one_expected_to_have_most_pages_left() {
        let full = License::ALL
            .iter()
            .position(|l| *l == License::Full)
            .unwrap();
        let before: [AtomicU64; CHAINS] = Default::default();
        let mut st = State::fresh(CHAINS);
        st.q[0] = 3;
        assert_eq!(critical(&st, &before), Some(full), "nothing known: full");
        st.c[full] = None;
        assert_eq!(
            critical(&st, &before),
            Some(0),
            "then the most pages served"
        );
        st.c[full] = Some("3074457345600000100".into());
        before[5].store(40, Ordering::Relaxed);
        before[full].store(30, Ordering::Relaxed);
        assert_eq!(
            critical(&st, &before),
            Some(5),
            "most left by the last listing"
        );
        st.q[5] = 35;
        assert_eq!(critical(&st, &before), Some(full));
        st.c[full] = None;
        assert_eq!(
            critical(&st, &before),
            Some(5),
            "a chain done is never critical"
        );
        assert_eq!(critical(&State::fresh(1), &before), None, "one chain");
    }

    #[test]
    fn the_chains_cover_every_license_once() {
        let mut seen: Vec<License> = (0..CHAINS).filter_map(license_of).collect();
        seen.sort_by_key(|l| l.as_str());
        seen.dedup();
        assert_eq!(seen.len(), CHAINS);
        assert!(seen.contains(&License::Unknown));
    }
}
