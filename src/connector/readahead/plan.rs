//! Which resources a walk asks for next. The listing tells us every resource of a type (in Miro's
//! order); the client then asks for each one's grants in an order of its own: ours walks them in
//! listing order, baton-sdk's store in id order, a page at a time and sometimes backwards, and
//! parallel workers a few at a time. So the order is learned, not assumed: each ask is compared with
//! the one before in both orders, and only once two asks in a row agree on an order and a direction
//! are the next resources in it read ahead. A resource is read ahead or asked for once a walk, so
//! nothing is read twice; one that is not listed (a targeted sync) is never guessed at.
//!
//! A child's listing order is its parent's: a client that lists several teams' boards at once
//! still keeps (and then walks) each team's boards together, in the teams' order, so the boards
//! are ordered by their team's place in the team listing, then as listed. Ordered as they arrived
//! instead, the next boards after a team's first page would be other teams', asked for only once
//! the team's other pages are walked, maybe after the read-ahead is too old to serve.
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Plans of the listings under each team (content access): walked in the teams' order, each
/// apart from the team's grants.
pub(crate) const TEAM_BOARDS: &str = "team boards";
pub(crate) const TEAM_SPACES: &str = "team spaces";

/// Resources read ahead of the last one asked for.
pub(crate) const WINDOW: usize = 24;
/// Resources of one type a plan holds; past them, that type is not read ahead.
pub(crate) const MAX_PLANNED: usize = 50_000;
/// Two asks this close in an order are neighbours (parallel workers ask a few at a time).
const NEAR: i64 = 24;
/// Plans nobody listed into or asked from for this long belong to a walk that ended. The walk's
/// clock, not each plan's: one call at a time at 500 ms, the team grants alone outlast it, and the
/// groups' plan, listed before them and idle all along, is the walk's next step.
const IDLE: Duration = Duration::from_secs(600);

const ASKED: u8 = 1;
const STARTED: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Listing,
    Sorted,
}

#[derive(Default)]
struct Plan {
    ids: Vec<Box<str>>,
    /// Each one's parent's place in the parent's listing (0 for top-level resources).
    group: Vec<u32>,
    at: HashMap<Box<str>, u32>,
    flags: Vec<u8>,
    /// Positions in id order and in listing order (lazily built once the listing is done), and
    /// each position's rank in them.
    by_rank: Vec<u32>,
    rank: Vec<u32>,
    by_listing: Vec<u32>,
    listing_rank: Vec<u32>,
    last: Option<u32>,
    guess: Option<(Order, bool)>,
    streak: u8,
}

impl Plan {
    fn ranks(&mut self) {
        if self.rank.len() == self.ids.len() {
            return;
        }
        let n = self.ids.len();
        (self.by_rank, self.rank) = order_by(n, |p| &self.ids[p as usize]);
        // A stable sort: within a parent, as listed.
        (self.by_listing, self.listing_rank) = order_by(n, |p| self.group[p as usize]);
    }

    fn step(&self, order: Order, p: u32) -> i64 {
        match order {
            Order::Listing => i64::from(self.listing_rank[p as usize]),
            Order::Sorted => i64::from(self.rank[p as usize]),
        }
    }

    fn at_step(&self, order: Order, s: i64) -> Option<u32> {
        let s = usize::try_from(s).ok()?;
        match order {
            Order::Listing => self.by_listing.get(s).copied(),
            Order::Sorted => self.by_rank.get(s).copied(),
        }
    }

    fn append<'a>(&mut self, group: u32, ids: impl Iterator<Item = &'a str>) {
        for id in ids {
            if self.ids.len() >= MAX_PLANNED || self.at.contains_key(id) {
                continue;
            }
            self.at.insert(id.into(), self.ids.len() as u32);
            self.ids.push(id.into());
            self.group.push(group);
            self.flags.push(0);
        }
    }

    /// The client asked for `p`: learn from it, and say what to read ahead.
    fn ask(&mut self, p: u32) -> Vec<String> {
        self.ranks();
        self.flags[p as usize] |= ASKED;
        // The order in which this ask is nearest the last one (listing order on a tie).
        let hit = self.last.and_then(|q| {
            [Order::Listing, Order::Sorted]
                .into_iter()
                .map(|o| (o, self.step(o, p) - self.step(o, q)))
                .filter(|(_, d)| *d != 0 && d.abs() <= NEAR)
                .min_by_key(|(_, d)| d.abs())
                .map(|(o, d)| (o, d > 0))
        });
        self.last = Some(p);
        match hit {
            Some(h) if Some(h) == self.guess => self.streak = self.streak.saturating_add(1),
            Some(h) => (self.guess, self.streak) = (Some(h), 1),
            None => self.streak = 0,
        }
        let Some((order, up)) = self.guess.filter(|_| self.streak >= 2) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let from = self.step(order, p);
        for i in 1..=WINDOW as i64 {
            let Some(n) = self.at_step(order, if up { from + i } else { from - i }) else {
                break;
            };
            let n = n as usize;
            if self.flags[n] == 0 {
                self.flags[n] |= STARTED;
                out.push(self.ids[n].to_string());
            }
        }
        out
    }
}

/// Positions `0..n` sorted by `key` (stably), and each position's rank in that order.
fn order_by<K: Ord>(n: usize, key: impl Fn(u32) -> K) -> (Vec<u32>, Vec<u32>) {
    let mut by: Vec<u32> = (0..n as u32).collect();
    by.sort_by_key(|p| key(*p));
    let mut rank = vec![0; n];
    for (r, p) in by.iter().enumerate() {
        rank[*p as usize] = r as u32;
    }
    (by, rank)
}

#[derive(Default)]
struct Walk {
    plans: HashMap<&'static str, Plan>,
    /// The last listing or ask of any type.
    touched: Option<Instant>,
}

impl Walk {
    /// The walk goes on at `now`; after `IDLE` without a step, it is another walk.
    fn going_on(&mut self, now: Instant) -> &mut HashMap<&'static str, Plan> {
        if self
            .touched
            .is_some_and(|t| now.saturating_duration_since(t) >= IDLE)
        {
            self.plans.clear();
        }
        self.touched = Some(now);
        &mut self.plans
    }
}

/// The walk's plans, one per resource type.
#[derive(Default)]
pub(crate) struct Plans {
    walk: Mutex<Walk>,
}

impl Plans {
    fn lock(&self) -> std::sync::MutexGuard<'_, Walk> {
        self.walk.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn clear(&self) {
        self.lock().plans.clear();
    }

    /// A listing page the client received. The first page of a listing (`fresh`) starts the
    /// type's plan again, and of the types `also` names (children listed under it).
    pub(crate) fn listed<'a>(
        &self,
        kind: &'static str,
        fresh: bool,
        also: &[&'static str],
        ids: impl Iterator<Item = &'a str>,
    ) {
        self.listed_at(kind, fresh, also, ids, Instant::now());
    }

    fn listed_at<'a>(
        &self,
        kind: &'static str,
        fresh: bool,
        also: &[&'static str],
        ids: impl Iterator<Item = &'a str>,
        now: Instant,
    ) {
        let mut walk = self.lock();
        let plans = walk.going_on(now);
        if fresh {
            for k in std::iter::once(kind).chain(also.iter().copied()) {
                plans.remove(k);
            }
        }
        plans.entry(kind).or_default().append(0, ids);
    }

    /// A listing page of children under `parent` (a kind and an id of its plan): they are walked
    /// in the parent's order, then as listed.
    pub(crate) fn listed_under<'a>(
        &self,
        kind: &'static str,
        parent: (&'static str, &str),
        ids: impl Iterator<Item = &'a str>,
    ) {
        let mut walk = self.lock();
        let plans = walk.going_on(Instant::now());
        let group = plans
            .get(parent.0)
            .and_then(|p| p.at.get(parent.1).copied())
            .unwrap_or(u32::MAX);
        plans.entry(kind).or_default().append(group, ids);
    }

    /// Whether the client has asked for `id` itself in this walk. Another worker may ask for a
    /// resource between the ask that chose to read it ahead and the read-ahead's start; started
    /// after that, the read-ahead would be a second request for what the client already fetched.
    pub(crate) fn was_asked(&self, kind: &'static str, id: &str) -> bool {
        let walk = self.lock();
        let Some(plan) = walk.plans.get(kind) else {
            return false;
        };
        plan.at
            .get(id)
            .is_some_and(|p| plan.flags[*p as usize] & ASKED != 0)
    }

    /// The client asked for the first page of `id`'s grants: the resources to read ahead now
    /// (their ids), none unless the walk's order is clear.
    pub(crate) fn asked(&self, kind: &'static str, id: &str) -> Vec<String> {
        self.asked_at(kind, id, Instant::now())
    }

    fn asked_at(&self, kind: &'static str, id: &str, now: Instant) -> Vec<String> {
        let mut walk = self.lock();
        let Some(plan) = walk.going_on(now).get_mut(kind) else {
            return Vec::new();
        };
        match plan.at.get(id).copied() {
            Some(p) => plan.ask(p),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plans(ids: &[&str]) -> Plans {
        let p = Plans::default();
        p.listed("team", true, &[], ids.iter().copied());
        p
    }

    #[test]
    fn a_walk_in_listing_order_reads_the_next_ones_once() {
        let list: Vec<String> = (0..100).map(|i| format!("{}", 1000 - i)).collect();
        let refs: Vec<&str> = list.iter().map(String::as_str).collect();
        let p = plans(&refs);
        assert!(p.asked("team", "1000").is_empty(), "one ask says nothing");
        assert!(
            p.asked("team", "999").is_empty(),
            "one step is not yet an order"
        );
        let ahead = p.asked("team", "998");
        assert_eq!(ahead.len(), WINDOW);
        assert_eq!(ahead[0], "997");
        // The next ask reads one more, never one already read.
        assert_eq!(p.asked("team", "997"), [format!("{}", 997 - WINDOW)]);
    }

    #[test]
    fn id_order_backwards_a_page_at_a_time_is_learned() {
        // Listed in one order; asked in id order, backwards (a store's page walked last-in first).
        let p = plans(&["5", "3", "9", "1", "7", "2", "8", "4", "6"]);
        assert!(p.asked("team", "9").is_empty());
        assert!(p.asked("team", "8").is_empty());
        assert_eq!(p.asked("team", "7"), ["6", "5", "4", "3", "2", "1"]);
    }

    #[test]
    fn unlisted_or_scattered_asks_read_nothing() {
        let list: Vec<String> = (0..500).map(|i| format!("{i:04}")).collect();
        let refs: Vec<&str> = list.iter().map(String::as_str).collect();
        let p = plans(&refs);
        assert!(p.asked("team", "9999").is_empty(), "not listed");
        assert!(p.asked("group", "0001").is_empty(), "no plan for the type");
        for id in ["0100", "0300", "0050", "0450", "0200"] {
            assert!(p.asked("team", id).is_empty(), "a targeted sync's asks");
        }
    }

    #[test]
    fn children_listed_at_once_are_walked_in_their_parents_order() {
        let p = plans(&["ta", "tb"]);
        let page = |team: &str, n: std::ops::Range<u32>| -> Vec<String> {
            n.map(|i| format!("{team}-{i:02}")).collect()
        };
        // Two teams' board pages arrive interleaved: a's first, b's first, a's second.
        for (team, n) in [("ta", 0..10), ("tb", 0..10), ("ta", 10..20)] {
            let ids = page(team, n);
            p.listed_under("board", ("team", team), ids.iter().map(String::as_str));
        }
        // The client walks a's boards, all of them, then b's.
        p.asked("board", "ta-00");
        p.asked("board", "ta-01");
        let ahead = p.asked("board", "ta-02");
        let want: Vec<String> = page("ta", 3..20)
            .into_iter()
            .chain(page("tb", 0..7))
            .collect();
        assert_eq!(ahead, want);
    }

    #[test]
    fn a_fresh_listing_starts_the_plan_again() {
        let p = plans(&["1", "2", "3", "4"]);
        p.asked("team", "1");
        p.asked("team", "2");
        assert_eq!(p.asked("team", "3"), ["4"]);
        p.listed("team", true, &[], ["1", "2", "3", "4"].into_iter());
        p.asked("team", "1");
        p.asked("team", "2");
        assert_eq!(p.asked("team", "3"), ["4"], "a new walk reads it again");
    }

    #[test]
    fn a_plan_listed_long_before_its_turn_lives_while_the_walk_goes_on() {
        // One call at a time at 500 ms: the groups are listed with the teams, and the teams'
        // grants then take longer than `IDLE` before the groups' turn comes.
        let p = Plans::default();
        let t0 = Instant::now();
        let at = |halves: u32| t0 + IDLE / 2 * halves;
        let groups = ["g1", "g2", "g3", "g4", "g5"];
        p.listed_at("team", true, &[], ["t1", "t2", "t3", "t4"].into_iter(), t0);
        p.listed_at("group", true, &[], groups.into_iter(), t0);
        for (i, t) in ["t1", "t2", "t3", "t4"].into_iter().enumerate() {
            p.asked_at("team", t, at(i as u32 + 1));
        }
        assert!(p.asked_at("group", "g1", at(5)).is_empty());
        assert!(p.asked_at("group", "g2", at(5)).is_empty());
        assert_eq!(p.asked_at("group", "g3", at(5)), ["g4", "g5"]);
        // A walk with no step for `IDLE` has ended: its plans are gone.
        assert!(p.asked_at("group", "g4", at(7)).is_empty());
        assert!(!p.was_asked("group", "g3"));
    }
}
