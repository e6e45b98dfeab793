//! Event feeds (`c1.connector.v2.EventService`) from Miro's audit log, opt-in (`--events`): a usage
//! feed (sign-ins and board openings) and a change feed (every other event that names a resource
//! the sync lists). A ListEvents call reads the log from its cursor's position up to a short lag
//! behind now, a few pages at most, and stops early, keeping its place, when the page is full or
//! Miro's budget runs short.
mod cursor;
pub(super) mod directory;
mod mapping;
pub(super) mod probe;

use std::{collections::HashSet, sync::Mutex, time::Duration};

use cursor::Position;
use mapping::{BOARD_OPENED, SIGN_IN};

use super::{
    Connector, ConnectorError,
    ids::{BOARD, ORGANIZATION, TEAM, rid},
    kinds::Kind,
};
use crate::{
    miro::{
        ErrorKind, MiroError,
        audit::{AUDIT_PAGE_MAX, AuditEvent, AuditWindow, RETENTION, parse_created_at},
    },
    pb::{self, EventType},
};

/// The feeds, each with its own event types (two feeds never advertise the same type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Feed {
    Usage = 1,
    Changes = 2,
}

impl Feed {
    const ALL: [Feed; 2] = [Feed::Usage, Feed::Changes];

    pub(super) fn id(self) -> &'static str {
        match self {
            Feed::Usage => "miro_usage",
            Feed::Changes => "miro_changes",
        }
    }

    fn types(self) -> Vec<i32> {
        vec![match self {
            Feed::Usage => EventType::Usage as i32,
            Feed::Changes => EventType::ResourceChange as i32,
        }]
    }

    fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|f| *f as u8 == code)
    }

    /// NOT_FOUND for an unknown id, as baton-sdk answers; an empty id names its legacy feed.
    fn named(id: &str) -> Result<Self, ConnectorError> {
        let id = if id.is_empty() {
            "baton_feed_event"
        } else {
            id
        };
        Self::ALL.into_iter().find(|f| f.id() == id).ok_or_else(|| {
            ConnectorError::NotFound(format!(
                "event feed id {:?} not found; this connector's feeds are {} and {}",
                super::ids::truncated(id),
                Feed::Usage.id(),
                Feed::Changes.id()
            ))
        })
    }
}

/// The protocol's default and largest pages.
const PAGE_DEFAULT: u32 = 100;
const PAGE_MAX: u32 = 1000;
/// Miro pages one call reads at most, so a call over a quiet feed answers in bounded time.
const PAGES_PER_CALL: usize = 10;
/// A start_at no further ahead than this is taken as now (clocks differ).
const SKEW_MS: i64 = 5 * 60 * 1000;
/// A fresh cursor without start_at starts this far back (the runner's own default).
const DEFAULT_START_MS: i64 = 24 * 3600 * 1000;
/// Event names an unmapped-event counter may carry; past that, `other`.
const LABELS_MAX: usize = 64;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Event names already counted or logged: a bounded set of metric labels.
#[derive(Default)]
pub(crate) struct Unmapped(Mutex<HashSet<String>>);

/// The label of an event without an id or a readable `createdAt`: it cannot be placed in the log.
const MALFORMED: &str = "(malformed)";

impl Unmapped {
    /// Counts an event that names nothing synced.
    fn count(&self, name: &str) {
        let label = self.label(name);
        metrics::counter!("connector_events_unmapped_total", "event" => label).increment(1);
    }

    /// The label an event name is counted under: the name itself while it is plain and among the
    /// first 64 (the first of each is logged), `other` past that.
    fn label(&self, name: &str) -> String {
        if name == MALFORMED {
            return name.to_string();
        }
        let plain = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if plain && (seen.contains(name) || seen.len() < LABELS_MAX) {
            if seen.insert(name.to_string()) {
                tracing::info!(
                    event = name,
                    "an audit event of this name names nothing the sync lists; counted in connector_events_unmapped_total"
                );
            }
            name.to_string()
        } else {
            "other".to_string()
        }
    }
}

impl Connector {
    /// ListEventFeeds: both feeds with `--events`, none without.
    pub(crate) fn event_feeds(&self) -> Vec<pb::EventFeedMetadata> {
        if !self.settings().events.on {
            return Vec::new();
        }
        Feed::ALL
            .into_iter()
            .map(|f| pb::EventFeedMetadata {
                id: f.id().into(),
                supported_event_types: f.types(),
            })
            .collect()
    }

    /// Validate with `--events`: one read of the audit log's last minute, so a token without
    /// `auditlogs:read`, or an organization without Enterprise, is found at start and not at the
    /// first poll.
    pub(crate) async fn check_audit_log(&self) -> Result<(), ConnectorError> {
        let now = now_ms();
        let window = AuditWindow {
            after_ms: now - 60_000,
            before_ms: now,
            cursor: None,
            limit: 1,
        };
        self.miro().rest.audit_page(window).await.map_err(refused)?;
        Ok(())
    }

    /// Where a call starts: the cursor's position, or a fresh one at `start_at`.
    fn position(
        &self,
        feed: Feed,
        r: &pb::ListEventsRequest,
        now: i64,
    ) -> Result<Position, ConnectorError> {
        if !r.cursor.is_empty() {
            return Position::decode(feed, &r.cursor);
        }
        let start = match &r.start_at {
            None => now - DEFAULT_START_MS,
            Some(t) => t
                .seconds
                .checked_mul(1000)
                .and_then(|s| s.checked_add(i64::from(t.nanos) / 1_000_000))
                .filter(|_| (0..1_000_000_000).contains(&t.nanos))
                .ok_or_else(|| {
                    ConnectorError::InvalidArgument("start_at is not a valid time".into())
                })?,
        };
        if start > now + SKEW_MS {
            return Err(ConnectorError::InvalidArgument(format!(
                "start_at is {} s in the future; start at now or earlier",
                (start - now) / 1000
            )));
        }
        Ok(Position::start(feed, start.min(now)))
    }

    /// ListEvents.
    pub(crate) async fn list_events(
        &self,
        r: &pb::ListEventsRequest,
    ) -> Result<pb::ListEventsResponse, ConnectorError> {
        let feed = Feed::named(&r.event_feed_id)?;
        if !self.settings().events.on {
            return Err(ConnectorError::FailedPrecondition(
                "event feeds are off: start the daemon with --events (MIRO_CONNECTOR_EVENTS=true) to read Miro's audit log".into(),
            ));
        }
        if r.cursor.len() > 4096 {
            return Err(ConnectorError::InvalidArgument(
                "cursor is longer than the protocol's 4,096 bytes".into(),
            ));
        }
        let size = match r.page_size {
            0 => PAGE_DEFAULT,
            n if n <= PAGE_MAX => n,
            n => {
                return Err(ConnectorError::InvalidArgument(format!(
                    "page_size {n} is more than the protocol's {PAGE_MAX}"
                )));
            }
        } as usize;
        let now = now_ms();
        let mut pos = self.position(feed, r, now)?;
        let oldest = now - RETENTION.as_millis() as i64 + 60_000;
        let asked = pos.after_ms;
        if pos.clamp(oldest) {
            tracing::info!(
                feed = feed.id(),
                from_ms = asked,
                to_ms = oldest,
                "the feed's position is older than Miro keeps audit events (90 days): reading from the oldest kept"
            );
        }
        let before = now - self.settings().events.lag.as_millis() as i64;
        let mut events = Vec::new();
        let mut has_more = false;
        let mut miro_cursor: Option<String> = None;
        let mut pages = 0;
        let started = pos.clone();
        // A failure for now ends the call with what it read; one before any progress is the
        // caller's to retry (UNAVAILABLE), so a lasting failure is never a silent empty loop.
        let partial =
            |e: &MiroError, pos: &Position| e.kind() == ErrorKind::Transient && *pos != started;
        'pages: while pos.after_ms < before {
            if pages == PAGES_PER_CALL {
                has_more = true;
                break;
            }
            let window = AuditWindow {
                after_ms: pos.after_ms - 1,
                before_ms: before,
                cursor: miro_cursor.as_deref(),
                limit: AUDIT_PAGE_MAX,
            };
            let page = match self.miro().rest.audit_page(window).await {
                Ok(p) => p,
                // What was read stands: the cursor keeps its place, and the next call goes on.
                Err(e) if partial(&e, &pos) => {
                    tracing::info!(feed = feed.id(), error = %e, events = events.len(), "answering with the events read so far");
                    has_more = true;
                    break;
                }
                Err(e) => return Err(refused(e)),
            };
            pages += 1;
            for ev in &page.items {
                let Some(ms) = parse_created_at(&ev.created_at).filter(|_| !ev.id.is_empty())
                else {
                    self.unmapped.count(MALFORMED);
                    continue;
                };
                // Read before, or (from a Miro that answers outside the window) not yet due.
                if pos.passed(ms, &ev.id) || ms >= before {
                    continue;
                }
                let mapped = match self.map_event(feed, ev, ms).await {
                    Ok(m) => m,
                    // Finding what an id is waited too long, or failed for now: this event is
                    // read again by the next call.
                    Err(ConnectorError::Miro(e)) if partial(&e, &pos) => {
                        tracing::info!(feed = feed.id(), error = %e, events = events.len(), "answering with the events read so far");
                        has_more = true;
                        break 'pages;
                    }
                    Err(e) => return Err(e),
                };
                if !mapped.is_empty() && events.len() + mapped.len() > size && pos.fits() {
                    has_more = true;
                    break 'pages;
                }
                pos.admit(ms, &ev.id);
                events.extend(mapped);
            }
            match page.next {
                // A page at least half full answers now rather than spend a Miro page on a few
                // more events: the next call starts its page where this one ended.
                Some(_) if events.len() * 2 >= size => {
                    has_more = true;
                    break;
                }
                Some(c) => miro_cursor = Some(c),
                None => break,
            }
        }
        metrics::counter!("connector_events_total", "feed" => feed.id())
            .increment(events.len() as u64);
        Ok(pb::ListEventsResponse {
            events,
            cursor: pos.encode(),
            has_more,
            annotations: Vec::new(),
        })
    }

    async fn map_event(
        &self,
        feed: Feed,
        ev: &AuditEvent,
        ms: i64,
    ) -> Result<Vec<pb::Event>, ConnectorError> {
        let n = mapping::named(ev);
        let content = &self.settings().content;
        if feed == Feed::Usage {
            let org = self.organization().await?;
            return Ok(mapping::usage(ev, ms, &n, &org, content)
                .into_iter()
                .collect());
        }
        if ev.event == SIGN_IN || ev.event == BOARD_OPENED {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        if let Some((board, _)) = &n.board {
            if let Some(team) = n.team.as_ref().filter(|t| content.covers(t)) {
                out.push(mapping::change(
                    ev,
                    ms,
                    rid(BOARD, board),
                    Some(rid(TEAM, team)),
                ));
            }
        } else {
            if let Some(team) = &n.team {
                out.push(mapping::change(ev, ms, rid(TEAM, team), None));
            }
            if let Some(id) = n.object.as_ref().filter(|id| Some(*id) != n.team.as_ref()) {
                if id == self.org_id().await? {
                    out.push(mapping::change(ev, ms, rid(ORGANIZATION, id), None));
                } else if let Some((kind, parent)) = self.kind_of(id, n.team.as_deref()).await? {
                    let parent = parent.map(|p| rid(TEAM, &p));
                    let covered = kind != Kind::Space
                        || parent.as_ref().is_some_and(|p| content.covers(&p.resource));
                    if covered {
                        out.push(mapping::change(ev, ms, rid(kind.id(), id), parent));
                    }
                }
            }
        }
        if out.is_empty() {
            self.unmapped.count(&ev.event);
        }
        Ok(out)
    }
}

/// A 403 on the audit log is a setting to change, said as one.
fn refused(e: MiroError) -> ConnectorError {
    if e.kind() == ErrorKind::Forbidden {
        ConnectorError::FailedPrecondition(format!(
            "Miro refused its audit log ({e}): event feeds need the auditlogs:read scope on the access token and an Enterprise plan"
        ))
    } else {
        e.into()
    }
}

/// The feed settings.
#[derive(Debug, Clone)]
pub struct EventSettings {
    pub on: bool,
    /// How far behind now a feed reads, so events Miro writes late are not passed by.
    pub lag: Duration,
}

#[tonic::async_trait]
impl pb::event_service_server::EventService for Connector {
    async fn list_events(
        &self,
        req: tonic::Request<pb::ListEventsRequest>,
    ) -> Result<tonic::Response<pb::ListEventsResponse>, tonic::Status> {
        let (meta, r) = (req.metadata().clone(), req.into_inner());
        let (out, _) = self.within(&meta, Connector::list_events(self, &r)).await;
        out.map(tonic::Response::new).map_err(tonic::Status::from)
    }

    async fn list_event_feeds(
        &self,
        _req: tonic::Request<pb::ListEventFeedsRequest>,
    ) -> Result<tonic::Response<pb::ListEventFeedsResponse>, tonic::Status> {
        Ok(tonic::Response::new(pb::ListEventFeedsResponse {
            list: self.event_feeds(),
            annotations: Vec::new(),
        }))
    }
}

#[cfg(test)]
mod tests;
