//! Fault injection: latency, 5xx, bursts of 429, slow answers, broken bodies, dropped connections.
//! Deterministic: one seeded generator drives every random choice.
use std::time::Duration;

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    pub seed: u64,
    pub rules: Vec<FaultRule>,
}

/// One rule; `endpoint` (e.g. `GET /v2/orgs/{org_id}/members`) limits it to matching endpoints by
/// substring, absent means every endpoint. Rates are fractions from 0 to 1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultRule {
    pub endpoint: Option<String>,
    pub latency_ms: u64,
    pub jitter_ms: u64,
    /// Answer 500, 502 or 503 with this probability.
    pub error_rate: f64,
    /// The next N matching requests get `burst_status` (429 when unset).
    pub burst: u32,
    pub burst_status: Option<u16>,
    /// Answer only after `slow_ms` with this probability (a slow or hanging Miro).
    pub slow_rate: f64,
    pub slow_ms: u64,
    pub malformed_rate: f64,
    pub truncate_rate: f64,
    pub drop_rate: f64,
}

/// What to do to one request.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Plan {
    pub delay: Duration,
    pub status: Option<u16>,
    pub body: Option<BodyFault>,
}

#[derive(Debug, PartialEq, Clone, Copy)]
pub(crate) enum BodyFault {
    Malformed,
    Truncated,
    Dropped,
}

pub(crate) struct FaultState {
    pub config: FaultConfig,
    rng: StdRng,
    bursts: Vec<u32>,
}

impl FaultState {
    pub(crate) fn new(config: FaultConfig) -> Self {
        let bursts = config.rules.iter().map(|r| r.burst).collect();
        Self {
            rng: StdRng::seed_from_u64(config.seed),
            config,
            bursts,
        }
    }

    pub(crate) fn plan(&mut self, endpoint: &str) -> Plan {
        let mut plan = Plan::default();
        for (i, rule) in self.config.rules.iter().enumerate() {
            if rule
                .endpoint
                .as_deref()
                .is_some_and(|e| !endpoint.contains(e))
            {
                continue;
            }
            let jitter = if rule.jitter_ms > 0 {
                self.rng.random_range(0..=rule.jitter_ms)
            } else {
                0
            };
            plan.delay += Duration::from_millis(rule.latency_ms + jitter);
            if self.rng.random_bool(rule.slow_rate.clamp(0.0, 1.0)) {
                plan.delay += Duration::from_millis(rule.slow_ms);
            }
            if self.bursts[i] > 0 {
                self.bursts[i] -= 1;
                plan.status.get_or_insert(rule.burst_status.unwrap_or(429));
            }
            if self.rng.random_bool(rule.error_rate.clamp(0.0, 1.0)) {
                plan.status
                    .get_or_insert([500, 502, 503][self.rng.random_range(0..3)]);
            }
            for (rate, fault) in [
                (rule.malformed_rate, BodyFault::Malformed),
                (rule.truncate_rate, BodyFault::Truncated),
                (rule.drop_rate, BodyFault::Dropped),
            ] {
                if self.rng.random_bool(rate.clamp(0.0, 1.0)) {
                    plan.body.get_or_insert(fault);
                }
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_clean_and_endpoint_scoping() {
        let mut s = FaultState::new(FaultConfig {
            seed: 1,
            rules: vec![FaultRule {
                endpoint: Some("/members".into()),
                burst: 2,
                ..Default::default()
            }],
        });
        assert_eq!(s.plan("GET /v2/orgs/{org_id}/teams").status, None);
        assert_eq!(s.plan("GET /v2/orgs/{org_id}/members").status, Some(429));
        assert_eq!(s.plan("GET /v2/orgs/{org_id}/members").status, Some(429));
        assert_eq!(s.plan("GET /v2/orgs/{org_id}/members").status, None);
    }

    #[test]
    fn deterministic_from_seed() {
        let cfg = FaultConfig {
            seed: 9,
            rules: vec![FaultRule {
                error_rate: 0.5,
                ..Default::default()
            }],
        };
        let run = |c: &FaultConfig| {
            let mut s = FaultState::new(c.clone());
            (0..50).map(|_| s.plan("x").status).collect::<Vec<_>>()
        };
        let a = run(&cfg);
        assert_eq!(a, run(&cfg));
        let errors = a.iter().filter(|s| s.is_some()).count();
        assert!(
            (10..40).contains(&errors),
            "{errors} errors of 50 at rate 0.5"
        );
    }
}
