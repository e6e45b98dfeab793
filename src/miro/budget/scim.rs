//! The SCIM ledger: requests per endpoint per 30 s, as Miro's SCIM table counts them.
use std::{
    collections::{HashMap, VecDeque},
    time::Duration,
};

use tokio::time::Instant;

/// Miro's SCIM window.
pub(super) const SCIM_WINDOW: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub(super) struct Scim {
    /// Start times of recent and reserved requests, per endpoint.
    log: HashMap<&'static str, VecDeque<Instant>>,
}

/// Miro's SCIM limits per 30 s, by endpoint; a margin of 5% is kept.
fn scim_limit(endpoint: &str) -> usize {
    let limit: usize = if endpoint.starts_with("PUT ") || endpoint.starts_with("PATCH ") {
        100
    } else if endpoint.starts_with("DELETE ") {
        20
    } else {
        200
    };
    limit - (limit / 20).max(1)
}

impl Scim {
    pub(super) fn reserve(&mut self, endpoint: &'static str, now: Instant) -> Instant {
        let limit = scim_limit(endpoint);
        let log = self.log.entry(endpoint).or_default();
        while log
            .front()
            .is_some_and(|t| *t + SCIM_WINDOW <= now && log.len() > 1)
        {
            log.pop_front();
        }
        let mut start = now;
        // Never more than `limit` starts in any 30 s.
        if log.len() >= limit {
            start = start.max(log[log.len() - limit] + SCIM_WINDOW);
        }
        // Past half the limit, space requests evenly instead of sprinting into the wall.
        let recent = log.iter().filter(|t| **t + SCIM_WINDOW > start).count();
        if recent >= limit / 2
            && let Some(last) = log.back()
        {
            start = start.max(*last + SCIM_WINDOW / limit as u32);
        }
        log.push_back(start);
        start
    }
}

#[cfg(test)]
impl Scim {
    /// Starts kept, all endpoints together.
    pub(super) fn logged(&self) -> usize {
        self.log.values().map(std::collections::VecDeque::len).sum()
    }
}
