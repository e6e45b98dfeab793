//! Who holds which role and license, as a full sync's own member listing served it.
//!
//! A user's role and license grants come from its member record, so asked per user they cost
//! no Miro request but one ListGrants call each. Through ConductorOne's runner a call costs about
//! 2 ms of its own (three processes, two gRPC hops, its store): 200 s at 100,000 members, one
//! call at a time, after Miro's last request. So in a sync (a request with an `active_sync_id`)
//! the listed users carry `SkipGrants`, and each role's and license's ListGrants answers its
//! holders a thousand a page from what this sync's listing served, kept here by the sync's id.
//! A listing not seen whole (the daemon restarted mid-sync, a sync resumed much later, a bound
//! reached) costs requests, never grants: the role then reads its holders from Miro
//! (`holders.rs`). A user fetched alone (a targeted sync) carries no `SkipGrants` and answers its
//! own grants.
use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

use super::{licenses, roles};
use crate::{miro::models::License, pb};

/// Syncs whose listings are kept, the least recently used going first: a service runs one sync
/// at a time, but a client may run many at once (the soak benchmark runs 50).
const KEPT: usize = 64;
/// Members all kept listings may hold (about 16 bytes each, 32 MiB in all); past it the least
/// recently used listing goes, and one listing larger than this is not kept.
const MAX_HELD: usize = 2_000_000;
/// A sync id longer than this is not kept (baton-sdk's are 27 characters).
const MAX_SYNC_ID: usize = 256;
/// A listing not used for this long is dropped (a sync resumed later reads Miro instead). A day:
/// with content access on, a large sync may walk boards for hours before the roles.
const IDLE: Duration = Duration::from_secs(24 * 3600);

/// The roles (org and prebuilt admin) and the license one member holds. Custom admin roles are
/// not among them: a member holding one answers its own grants, which name that role whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Held {
    /// Bit `i`: `roles::ROLES[i]`.
    roles: u16,
    license: Option<License>,
}

impl Held {
    /// From a member's org role, admin role names and license, as Miro spells them; with the
    /// custom admin roles among them.
    pub(super) fn read<'a>(
        org_role: &str,
        admin_roles: impl IntoIterator<Item = &'a str>,
        license: &str,
    ) -> (Self, Vec<&'a str>) {
        let bit =
            |d: &roles::RoleDef| 1u16 << roles::ROLES.iter().position(|r| r == d).unwrap_or(0);
        let mut held = Self {
            roles: roles::org_role_def(org_role).map_or(0, bit),
            license: licenses::parse(license).ok(),
        };
        let mut custom = Vec::new();
        for name in admin_roles.into_iter().filter(|n| !n.trim().is_empty()) {
            match roles::admin_role_def(name) {
                Some(d) => held.roles |= bit(d),
                None => custom.push(name),
            }
        }
        (held, custom)
    }

    /// A member's, and whether it holds a custom admin role too.
    pub(super) fn of(m: &crate::miro::models::OrgMember) -> (Self, bool) {
        let admin = m.admin_roles.iter().map(|r| r.name.as_str());
        let (held, custom) = Self::read(m.role.as_str(), admin, m.license.as_str());
        (held, !custom.is_empty())
    }

    pub(super) fn holds_role(&self, def: &roles::RoleDef) -> bool {
        let i = roles::ROLES.iter().position(|r| r == def);
        i.is_some_and(|i| self.roles & (1 << i) != 0)
    }

    pub(super) fn holds_license(&self, l: License) -> bool {
        self.license == Some(l)
    }

    /// The grants, each naming its resource whole when `whole`.
    pub(super) fn grants(&self, user_id: &str, whole: bool) -> Vec<pb::Grant> {
        let mut out = Vec::new();
        for def in roles::ROLES.iter().filter(|d| self.holds_role(d)) {
            let g = roles::grant(def, user_id);
            out.push(match whole {
                true => super::grants::with_resource(g, roles::resource(def)),
                false => g,
            });
        }
        if let Some(l) = self.license {
            let g = licenses::grant_of(l, user_id);
            out.push(match whole {
                true => super::grants::with_resource(g, licenses::resource(l)),
                false => g,
            });
        }
        out
    }
}

/// One sync's member listing, as served.
struct Listing {
    sync: Box<str>,
    /// Page numbers served (the listing's token counts them), and the last page's once served.
    pages: BTreeSet<u64>,
    last: Option<u64>,
    /// By member id: Miro's ids are decimal, and a u64 holds them in a quarter of the room.
    held: BTreeMap<u64, Held>,
    /// An id that is not a plain decimal, or too many members: this listing answers nothing.
    spoilt: bool,
    used: Instant,
}

impl Listing {
    fn new(sync: Box<str>, used: Instant) -> Self {
        Self {
            sync,
            pages: BTreeSet::new(),
            last: None,
            held: BTreeMap::new(),
            spoilt: false,
            used,
        }
    }

    fn spoil(&mut self) {
        self.spoilt = true;
        self.held = BTreeMap::new();
        self.pages = BTreeSet::new();
    }

    fn whole(&self) -> bool {
        !self.spoilt
            && self
                .last
                .is_some_and(|n| self.pages.len() as u64 == n && self.pages.first() == Some(&1))
    }
}

pub(crate) struct Holdings {
    all: Mutex<VecDeque<Listing>>,
    /// Members all listings may hold (`MAX_HELD`).
    room: usize,
}

impl Default for Holdings {
    fn default() -> Self {
        Self::with_room(MAX_HELD)
    }
}

/// A member id as the listing keeps it: only the canonical decimal spelling.
fn key(id: &str) -> Option<u64> {
    id.parse::<u64>().ok().filter(|n| n.to_string() == id)
}

impl Holdings {
    fn with_room(room: usize) -> Self {
        Self {
            all: Mutex::default(),
            room,
        }
    }

    /// Whether a request of this sync id is one whose listing can be kept: users listed in it
    /// skip their grants.
    pub(super) fn keeps(sync: &str) -> bool {
        !sync.is_empty() && sync.len() <= MAX_SYNC_ID
    }

    fn with<T>(&self, sync: &str, add: bool, f: impl FnOnce(&mut Listing) -> T) -> Option<T> {
        if !Self::keeps(sync) {
            return None;
        }
        let mut all = self.all.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        all.retain(|l| now.duration_since(l.used) < IDLE);
        let at = match all.iter().position(|l| &*l.sync == sync) {
            Some(i) => i,
            None if add => {
                all.push_back(Listing::new(sync.into(), now));
                while all.len() > KEPT {
                    all.pop_front();
                }
                all.len() - 1
            }
            None => return None,
        };
        // The most recently used last: the first goes when room is needed.
        let mut l = all.remove(at)?;
        l.used = now;
        let out = f(&mut l);
        if l.held.len() + l.pages.len() > self.room {
            l.spoil();
        }
        all.push_back(l);
        let held = |all: &VecDeque<Listing>| {
            all.iter()
                .map(|l| l.held.len() + l.pages.len())
                .sum::<usize>()
        };
        while all.len() > 1 && held(&all) > self.room {
            all.pop_front();
        }
        Some(out)
    }

    /// Page `number` of `sync`'s member listing was served with these members, and was its last
    /// page when `last`. No number: a listing not counted from its first page (a token from
    /// before pages were counted), which can never be known whole.
    pub(super) fn served<'a>(
        &self,
        sync: &str,
        number: Option<u64>,
        last: bool,
        members: impl Iterator<Item = (&'a str, Held)>,
    ) {
        self.with(sync, true, |l| {
            let Some(number) = number else {
                return l.spoil();
            };
            if number == 1 && l.last.is_some() {
                // The sync lists its members again: what the listing before said goes.
                *l = Listing::new(l.sync.clone(), l.used);
            }
            if l.spoilt {
                return;
            }
            l.pages.insert(number);
            if last {
                l.last = Some(number);
            }
            for (id, held) in members {
                match key(id) {
                    Some(k) => {
                        l.held.insert(k, held);
                    }
                    None => return l.spoil(),
                }
            }
        });
    }

    /// Up to `limit` holders after `after` in `sync`'s listing, with the last one's id when more
    /// follow; `None` when that listing was not seen whole.
    pub(super) fn holders(
        &self,
        sync: &str,
        after: Option<u64>,
        limit: usize,
        holds: impl Fn(&Held) -> bool,
    ) -> Option<(Vec<u64>, Option<u64>)> {
        self.with(sync, false, |l| {
            if !l.whole() {
                return None;
            }
            let from = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
            let mut found = l
                .held
                .range((from, std::ops::Bound::Unbounded))
                .filter(|(_, h)| holds(h))
                .map(|(k, _)| *k);
            let page: Vec<u64> = found.by_ref().take(limit.max(1)).collect();
            let more = found.next().is_some();
            let next = more.then(|| page.last().copied()).flatten();
            Some((page, next))
        })
        .flatten()
    }

    /// The sync is over (Cleanup): its listing goes.
    pub(super) fn forget(&self, sync: &str) {
        let mut all = self.all.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|l| &*l.sync != sync);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(i: u64) -> (String, Held) {
        let role = if i.is_multiple_of(10) {
            "organization_internal_admin"
        } else {
            "organization_internal_user"
        };
        let admin: &[&str] = if i.is_multiple_of(7) {
            &["User Admin"]
        } else {
            &[]
        };
        (
            i.to_string(),
            Held::read(role, admin.iter().copied(), "full").0,
        )
    }

    fn serve(h: &Holdings, sync: &str, pages: &[(u64, std::ops::Range<u64>)], last: u64) {
        for (n, ids) in pages {
            let m: Vec<_> = ids.clone().map(member).collect();
            h.served(
                sync,
                Some(*n),
                *n == last,
                m.iter().map(|(id, held)| (id.as_str(), *held)),
            );
        }
    }

    fn admins(h: &Holdings, sync: &str) -> Option<Vec<u64>> {
        let def = roles::def("organization_internal_admin").unwrap();
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let (page, next) = h.holders(sync, after, 3, |held| held.holds_role(def))?;
            assert!(page.len() <= 3);
            out.extend(page);
            match next {
                Some(n) => after = Some(n),
                None => return Some(out),
            }
        }
    }

    #[test]
    fn a_whole_listing_answers_its_holders_in_pages_and_a_partial_one_nothing() {
        let h = Holdings::default();
        serve(&h, "s1", &[(1, 1..21), (2, 21..41), (3, 41..51)], 3);
        assert_eq!(admins(&h, "s1"), Some(vec![10, 20, 30, 40, 50]));
        // The last page's holder count is exact: no empty page after it.
        let def = roles::def("organization_internal_admin").unwrap();
        let (p, next) = h.holders("s1", Some(20), 3, |x| x.holds_role(def)).unwrap();
        assert_eq!((p, next), (vec![30, 40, 50], None));
        // Page 2 never served (a restart in between): not whole, so nothing.
        serve(&h, "s2", &[(1, 1..21), (3, 41..51)], 3);
        assert_eq!(admins(&h, "s2"), None);
        // Not yet ended.
        serve(&h, "s3", &[(1, 1..21)], 9);
        assert_eq!(admins(&h, "s3"), None);
        // A page served twice (a retry) is one page.
        serve(&h, "s3", &[(1, 1..21), (2, 21..31)], 2);
        assert_eq!(admins(&h, "s3"), Some(vec![10, 20, 30]));
        // Listed again in the same sync: only the new listing's members.
        serve(&h, "s3", &[(1, 1..11), (2, 25..41)], 2);
        assert_eq!(admins(&h, "s3"), Some(vec![10, 30, 40]));
        // A listing resumed from a token that did not count its pages is never whole.
        serve(&h, "s4", &[(1, 1..11)], 9);
        h.served("s4", None, false, std::iter::empty());
        serve(&h, "s4", &[(2, 11..21)], 2);
        assert_eq!(admins(&h, "s4"), None);
        assert_eq!(admins(&h, "unknown"), None);
    }

    #[test]
    fn an_odd_id_spoils_the_listing_and_the_least_recently_used_go_when_room_is_needed() {
        let h = Holdings::default();
        let held = member(1).1;
        h.served(
            "odd",
            Some(1),
            true,
            [("0042", held), ("7", held)].into_iter(),
        );
        assert_eq!(admins(&h, "odd"), None, "0042 is not how Miro spells 42");
        let long = "s".repeat(MAX_SYNC_ID + 1);
        serve(&h, &long, &[(1, 1..11)], 1);
        assert_eq!(admins(&h, &long), None, "an absurd sync id is not kept");
        // Room for 36 members and pages: three listings of 10 members on one page each.
        let h = Holdings::with_room(36);
        for s in ["a", "b", "c"] {
            serve(&h, s, &[(1, 1..11)], 1);
        }
        assert!(admins(&h, "a").is_some());
        serve(&h, "d", &[(1, 1..11)], 1);
        // "a" was used after "b", so "b" went.
        assert!(["a", "c", "d"].iter().all(|s| admins(&h, s).is_some()));
        assert_eq!(admins(&h, "b"), None);
        // One listing larger than the room is not kept, and the others stay.
        serve(&h, "e", &[(1, 1..41)], 1);
        assert_eq!(admins(&h, "e"), None);
        assert!(admins(&h, "d").is_some());
        h.forget("d");
        assert_eq!(admins(&h, "d"), None);
        let many = Holdings::default();
        for n in 0..KEPT + 5 {
            serve(&many, &n.to_string(), &[(1, 1..2)], 1);
        }
        assert_eq!(many.all.lock().unwrap().len(), KEPT);
    }

    #[test]
    fn a_custom_admin_role_keeps_the_member_out() {
        let (held, custom) = Held::read(
            "organization_internal_user",
            ["Billing Admin", "Content Admin", " "],
            "free",
        );
        assert_eq!(custom, vec!["Billing Admin"]);
        assert!(held.holds_role(roles::def("admin_role_content_admin").unwrap()));
        assert!(held.holds_license(License::Free) && !held.holds_license(License::Full));
        let ids: Vec<String> = held.grants("7", false).into_iter().map(|g| g.id).collect();
        assert_eq!(
            ids,
            [
                "role:organization_internal_user:assigned:user:7",
                "role:admin_role_content_admin:assigned:user:7",
                "license:free:assigned:user:7"
            ]
        );
    }
}
