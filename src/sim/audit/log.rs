//! The simulator's audit log: a seeded stream of sign-ins and board openings over the last 90 days,
//! and one event for each write the simulator serves. Miro documents the names of sign-in and
//! board-opening events only; the names of write events are this simulator's invention, so they
//! come from a list a test may shuffle (`SimConfig::audit_names`).
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};

use super::super::state::Org;

/// The simulator's own names for write events, one per kind of write (`WRITE_KINDS`).
pub const WRITE_EVENT_NAMES: &[&str] = &[
    "team_member_invited",
    "team_member_role_changed",
    "team_member_removed",
    "user_group_changed",
    "user_group_members_changed",
    "board_sharing_changed",
    "board_member_changed",
    "space_changed",
    "user_provisioned",
    "user_updated",
    "user_deprovisioned",
    "team_changed",
];

const DAY_MS: i64 = 24 * 3600 * 1000;
/// The log keeps at most this many events; the oldest go first.
const MAX_EVENTS: usize = 500_000;

#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub ms: i64,
    seq: u64,
    name: String,
    category: &'static str,
    actor: Value,
    object: Option<(String, String)>,
    team: Option<(String, String)>,
    details: Value,
}

impl Event {
    /// Time-ordered, unique, and the shape of the spec's example (`…840687Z#1234567890123456789-DDB`).
    pub(crate) fn id(&self) -> String {
        format!(
            "{}{:03}Z#{:019}-DDB",
            iso(self.ms),
            self.seq % 1000,
            self.seq
        )
    }

    pub(crate) fn render(&self, org: &Org) -> Value {
        let pair = |p: &Option<(String, String)>| {
            p.as_ref().map(|(id, name)| json!({"id": id, "name": name}))
        };
        let mut context = json!({
            "ip": "198.51.100.7",
            "organization": {"id": org.id, "name": org.name},
        });
        if let Some(t) = pair(&self.team) {
            context["team"] = t;
        }
        let mut v = json!({
            "id": self.id(),
            "event": self.name,
            "category": self.category,
            "createdAt": format!("{}+0000", iso(self.ms)),
            "createdBy": self.actor,
            "context": context,
            "details": self.details,
        });
        if let Some(o) = pair(&self.object) {
            v["object"] = o;
        }
        v
    }
}

/// `YYYY-MM-DDTHH:MM:SS.sss`, in UTC.
pub(crate) fn iso(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What one write changed, as the log records it.
pub(crate) struct Write {
    /// An index into `WRITE_EVENT_NAMES` (and the configured list that replaces it).
    pub kind: usize,
    pub object: Option<(String, String)>,
    pub team: Option<(String, String)>,
    pub scim: bool,
}

pub(crate) struct Log {
    pub events: Vec<Event>,
    next_seq: u64,
    names: Vec<String>,
}

fn user_actor(org: &Org, id: &str) -> Value {
    let (email, name) = org
        .members
        .get(id)
        .map_or((String::new(), String::new()), |m| {
            (
                m.email.clone(),
                format!("{} {}", m.given_name, m.family_name)
                    .trim()
                    .to_string(),
            )
        });
    json!({"type": "user", "id": id, "name": name, "email": email})
}

impl Log {
    /// The seeded stream: each active member signs in up to three times, and each board is opened
    /// up to three times by its members, at times spread over the 90 days before `now`. Some
    /// events share a millisecond with the one before, as a busy organization's do.
    pub(crate) fn seeded(org: &Org, seed: u64, now: i64, names: Vec<String>) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x0061_7564_6974);
        let mut events = Vec::new();
        let at = |rng: &mut StdRng| now - rng.random_range(60_000..90 * DAY_MS - 3_600_000);
        for m in org.members.values().filter(|m| m.active) {
            for _ in 0..rng.random_range(0..=3) {
                let ms = at(&mut rng);
                events.push(Event {
                    ms,
                    seq: 0,
                    name: "sign_in_succeeded".into(),
                    category: "authentication",
                    actor: user_actor(org, &m.id),
                    object: None,
                    team: None,
                    details: json!({"authType": "SSO", "mfaFactorType": "NONE"}),
                });
            }
        }
        for b in org.boards.values() {
            let people: Vec<&String> = b.members.keys().collect();
            for _ in 0..rng.random_range(0..=3) {
                let Some(who) = people.get(rng.random_range(0..people.len().max(1))) else {
                    break;
                };
                let team = org
                    .teams
                    .get(&b.team_id)
                    .map(|t| (t.id.clone(), t.name.clone()));
                events.push(Event {
                    ms: at(&mut rng),
                    seq: 0,
                    name: "board_opened".into(),
                    category: "boards",
                    actor: user_actor(org, who),
                    object: Some((b.id.clone(), b.name.clone())),
                    team,
                    details: json!({"role": b.members.get(*who).map(|r| r.to_uppercase())}),
                });
            }
        }
        events.sort_by_key(|e| e.ms);
        for i in 1..events.len() {
            if i % 7 == 0 {
                events[i].ms = events[i - 1].ms;
            }
        }
        for (i, e) in events.iter_mut().enumerate() {
            e.seq = 1_000_000 + i as u64;
        }
        let next_seq = 1_000_000 + events.len() as u64;
        Self {
            events,
            next_seq,
            names,
        }
    }

    /// One event for a write the simulator served, by the token's owner (or the SCIM provisioner).
    pub(crate) fn record(&mut self, org: &Org, w: Write) {
        let actor = if w.scim {
            json!({"type": "scim_provisioner", "id": org.admin_user_id, "name": "SCIM", "email": ""})
        } else {
            user_actor(org, &org.admin_user_id)
        };
        let name = self
            .names
            .get(w.kind)
            .cloned()
            .unwrap_or_else(|| format!("write_{}", w.kind));
        let ms = now_ms().max(self.events.last().map_or(0, |e| e.ms));
        self.events.push(Event {
            ms,
            seq: self.next_seq,
            name,
            category: "administration",
            actor,
            object: w.object,
            team: w.team,
            details: json!({}),
        });
        self.next_seq += 1;
        if self.events.len() > MAX_EVENTS {
            self.events.drain(..self.events.len() - MAX_EVENTS);
        }
    }

    /// The events in `(after, before)`, oldest first or newest first.
    pub(crate) fn window(&self, after: i64, before: i64, newest_first: bool) -> Vec<&Event> {
        let mut v: Vec<&Event> = self
            .events
            .iter()
            .filter(|e| e.ms > after && e.ms < before)
            .collect();
        if newest_first {
            v.reverse();
        }
        v
    }
}
