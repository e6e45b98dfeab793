//! Event-feed cursors: opaque, versioned and checksummed like page tokens (`page_token::seal`). A
//! cursor is a position in Miro's audit log: the time of the last event read, and which events at
//! that very millisecond were read already, so events that share a timestamp are neither lost nor
//! repeated. It holds no Miro cursor, so it never goes stale: each call asks Miro again from the
//! position, and it survives restarts and Miro's own cursor expiry.
use super::Feed;
use crate::connector::{
    ConnectorError,
    page_token::{checksum, open, seal},
};

const PREFIX: &str = "mce1.";
/// The protocol's longest cursor.
const MAX_CURSOR: usize = 4096;
/// How many events at one millisecond a cursor remembers (8 bytes each, well within 4,096).
pub(super) const SEEN_MAX: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Position {
    pub feed: Feed,
    /// Milliseconds since the Unix epoch of the last event read.
    pub after_ms: i64,
    /// Hashes of the ids of the events read at `after_ms`.
    seen: Vec<u64>,
}

impl Position {
    /// A position from which events at `at_ms` and later are read, and none before.
    pub(super) fn start(feed: Feed, at_ms: i64) -> Self {
        Self {
            feed,
            // Nothing read at `at_ms` yet: its events are still to come.
            after_ms: at_ms,
            seen: Vec::new(),
        }
    }

    /// Moves the position to no earlier than `ms` (Miro keeps 90 days): whether it moved.
    pub(super) fn clamp(&mut self, ms: i64) -> bool {
        if self.after_ms >= ms {
            return false;
        }
        *self = Self::start(self.feed, ms);
        true
    }

    /// Whether the event at `ms` with `id` was read before this position.
    pub(super) fn passed(&self, ms: i64, id: &str) -> bool {
        ms < self.after_ms || (ms == self.after_ms && self.seen.contains(&checksum(id.as_bytes())))
    }

    /// Reads the event at `ms` with `id` (not `passed`).
    pub(super) fn admit(&mut self, ms: i64, id: &str) {
        if ms > self.after_ms {
            self.after_ms = ms;
            self.seen.clear();
        }
        self.seen.push(checksum(id.as_bytes()));
    }

    /// Whether a cursor can say where this position is: a millisecond with more events than a
    /// cursor remembers is read to its end first.
    pub(super) fn fits(&self) -> bool {
        self.seen.len() <= SEEN_MAX
    }

    pub(super) fn encode(&self) -> String {
        let mut b = Vec::with_capacity(11 + 8 * self.seen.len());
        b.push(self.feed as u8);
        b.extend_from_slice(&self.after_ms.to_be_bytes());
        b.extend_from_slice(&(self.seen.len() as u16).to_be_bytes());
        for h in &self.seen {
            b.extend_from_slice(&h.to_be_bytes());
        }
        seal(PREFIX, b)
    }

    /// A cursor this feed handed out; INVALID_ARGUMENT for anything else.
    pub(super) fn decode(feed: Feed, cursor: &str) -> Result<Self, ConnectorError> {
        let bad = |why: &str| {
            ConnectorError::InvalidArgument(format!(
                "cursor is not valid for this feed ({why}); pass the cursor of the feed's previous response, or none and a start_at to start afresh"
            ))
        };
        let b = open(PREFIX, cursor, MAX_CURSOR).map_err(bad)?;
        let (head, rest) = b.split_at_checked(11).ok_or_else(|| bad("too short"))?;
        let from = Feed::from_code(head[0]).ok_or_else(|| bad("unknown feed"))?;
        if from != feed {
            return Err(bad(&format!("it belongs to the feed {}", from.id())));
        }
        let after_ms = i64::from_be_bytes(head[1..9].try_into().map_err(|_| bad("too short"))?);
        let n = usize::from(u16::from_be_bytes([head[9], head[10]]));
        if n > SEEN_MAX + 1 || rest.len() != 8 * n {
            return Err(bad("its events do not add up"));
        }
        let seen = rest
            .chunks_exact(8)
            .map(|c| u64::from_be_bytes(c.try_into().unwrap_or_default()))
            .collect();
        Ok(Self {
            feed,
            after_ms,
            seen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_refuses_what_it_did_not_write() {
        let mut p = Position::start(Feed::Usage, 1_000);
        assert!(!p.passed(1_000, "a"), "an event at the start is read");
        assert!(p.passed(999, "z"), "and none a millisecond before it");
        p.admit(1_000, "a");
        p.admit(1_000, "b");
        let c = p.encode();
        let back = Position::decode(Feed::Usage, &c).unwrap();
        assert_eq!(back, p);
        assert!(back.passed(1_000, "a") && back.passed(999, "z"));
        assert!(!back.passed(1_000, "c") && !back.passed(1_001, "a"));
        assert!(
            Position::decode(Feed::Changes, &c)
                .unwrap_err()
                .to_string()
                .contains("belongs to the feed miro_usage")
        );
        for garbage in ["", "x", "mce1.!!", "mc1.AAAA", &"a".repeat(5000)] {
            assert!(Position::decode(Feed::Usage, garbage).is_err(), "{garbage}");
        }
        // One flipped character: the checksum catches it.
        let mut chars: Vec<char> = c.chars().collect();
        let i = PREFIX.len() + 3;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        assert!(Position::decode(Feed::Usage, &chars.into_iter().collect::<String>()).is_err());
        // The fullest cursor fits the protocol.
        for i in 0..=SEEN_MAX {
            p.admit(1_000, &i.to_string());
        }
        assert!(!p.fits());
        let mut q = Position::start(Feed::Usage, 5);
        for i in 0..SEEN_MAX {
            q.admit(5, &i.to_string());
        }
        assert!(q.fits() && q.encode().len() <= MAX_CURSOR);
    }

    #[test]
    fn clamping_moves_only_forward() {
        let mut p = Position::start(Feed::Changes, 10);
        p.admit(10, "a");
        assert!(!p.clamp(5));
        assert!(p.passed(10, "a"));
        assert!(p.clamp(50));
        assert!(!p.passed(50, "a"));
    }
}
