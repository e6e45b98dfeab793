//! The one place that sends HTTP to Miro: the bearer token is attached here and nowhere else, the
//! budget is read and paced here, and retries happen here.
use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use tokio::time::Instant;

use super::{
    budget::{Budget, Claim, Ticket},
    error::{ErrorKind, MiroError},
    gate::Gate,
    ratelimit::{self, BudgetSnapshot, wait_after_429},
    retry::{self, Failed, Outcome, RetryPolicy, Stop},
    scrub::Scrubber,
};

/// Longer URLs are refused before sending: no Miro URL is near this, only a forged cursor is.
const MAX_URL: usize = 8 * 1024;

pub(crate) struct Call {
    pub method: Method,
    pub segments: Vec<String>,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    /// A stable name for errors and metrics, e.g. `GET /v2/orgs/{org_id}/members`.
    pub endpoint: &'static str,
    pub idempotent: bool,
    /// What Miro charges for it (REST credits; 1 for a SCIM request).
    pub cost: u64,
}

impl Call {
    pub(crate) fn get(endpoint: &'static str, cost: u64, segments: &[&str]) -> Self {
        Self {
            method: Method::GET,
            segments: segments.iter().map(|s| s.to_string()).collect(),
            query: Vec::new(),
            body: None,
            endpoint,
            idempotent: true,
            cost,
        }
    }
    pub(crate) fn with(mut self, method: Method, body: Option<Value>, idempotent: bool) -> Self {
        self.method = method;
        self.body = body;
        self.idempotent = idempotent;
        self
    }
    pub(crate) fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }
}

pub(crate) struct Transport {
    client: reqwest::Client,
    base: Url,
    token: SecretString,
    scim: bool,
    budget: Arc<Budget>,
    gate: Arc<Gate>,
    pub retry: RetryPolicy,
    scrub: Arc<Scrubber>,
}

/// What the two clients share: one budget, one bound on requests in flight, one scrubber.
#[derive(Clone)]
pub(crate) struct Shared {
    pub budget: Arc<Budget>,
    pub gate: Arc<Gate>,
    pub scrub: Arc<Scrubber>,
}

impl Transport {
    pub(crate) fn new(
        client: reqwest::Client,
        base: Url,
        token: SecretString,
        scim: bool,
        retry: RetryPolicy,
        shared: Shared,
    ) -> Self {
        Self {
            client,
            base,
            token,
            scim,
            budget: shared.budget,
            gate: shared.gate,
            retry,
            scrub: shared.scrub,
        }
    }

    pub(crate) fn budget(&self) -> Option<BudgetSnapshot> {
        self.budget.snapshot(Instant::now())
    }

    /// How long a request of `cost` credits takes to come back against how long the budget takes
    /// to earn its credits back, once both are known: above 1, one request after another cannot
    /// keep up with the budget.
    pub(crate) fn latency_ratio(&self, cost: u64) -> Option<f64> {
        let rate = self.budget.rest_rate().filter(|r| *r > 0.0)?;
        Some(self.gate.latency()? * rate / cost.max(1) as f64)
    }

    /// The URL of a call. Each segment is percent-encoded; a segment that URL normalisation would
    /// drop or fold (empty, `.`, `..`) is refused, so no input can make this call another endpoint.
    fn url(&self, call: &Call) -> Result<Url, MiroError> {
        if let Some(bad) = call
            .segments
            .iter()
            .find(|s| matches!(s.as_str(), "" | "." | ".."))
        {
            return Err(MiroError::BadInput(format!(
                "refusing to call {} with the path segment {bad:?}",
                call.endpoint
            )));
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| MiroError::BadInput(format!("{} cannot take a path", self.base)))?
            .pop_if_empty()
            .extend(&call.segments);
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&call.query);
        }
        if url.as_str().len() > MAX_URL {
            return Err(MiroError::BadInput(format!(
                "refusing to call {} with a {}-byte URL",
                call.endpoint,
                url.as_str().len()
            )));
        }
        Ok(url)
    }

    /// Send with retries and decode the JSON answer. An answer that cannot be read is retried like
    /// a 5xx when the call is idempotent.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: &Call) -> Result<T, MiroError> {
        self.run(call, |body| {
            serde_json::from_slice(&body).map_err(|e| MiroError::Decode {
                endpoint: call.endpoint,
                message: self.scrub.clean(&e.to_string()),
            })
        })
        .await
    }

    /// Send with retries; the body is not read as JSON.
    pub(crate) async fn send(&self, call: &Call) -> Result<(), MiroError> {
        self.run(call, |_| Ok(())).await
    }

    async fn run<T>(
        &self,
        call: &Call,
        decode: impl Fn(Bytes) -> Result<T, MiroError>,
    ) -> Result<T, MiroError> {
        let url = self.url(call)?;
        let claim = match (self.scim, ratelimit::urgent()) {
            (true, _) => Claim::Scim(call.endpoint),
            (false, true) => Claim::Urgent(call.cost),
            (false, false) => Claim::Rest(call.cost),
        };
        let deadline = ratelimit::deadline();
        let attempt = || async {
            // Not sent after all (past the deadline, or called off): the ticket, dropped unsent,
            // gives its credits back, and the caller learns when to come back.
            let not_sent = |pace| Failed {
                outcome: Outcome::Local,
                hint: None,
                error: self.rate_limited(call.endpoint, pace),
            };
            let (pace, mut ticket) = loop {
                let (pace, ticket) = self
                    .budget
                    .ticket(claim, Instant::now(), deadline)
                    .map_err(not_sent)?;
                if !ticket.provisional {
                    break (pace, ticket);
                }
                // A slot in a window whose length is still a guess: wait for Miro to say.
                drop(ticket);
                ratelimit::waiting(tokio::time::sleep(pace))
                    .await
                    .ok_or_else(|| not_sent(pace))?;
            };
            let mut pace = pace;
            // Until its turn, which an urgent request may move later (`Ticket::due`).
            while !pace.is_zero() {
                if deadline.is_some_and(|d| Instant::now() + pace > d) {
                    // Waiting here would outlast the RPC (a SCIM request; a REST one knew at
                    // once): end it now and say when to come back.
                    return Err(not_sent(pace));
                }
                metrics::counter!("miro_rate_limit_waits_total", "reason" => "pacing").increment(1);
                metrics::histogram!("miro_rate_limit_wait_seconds").record(pace.as_secs_f64());
                ratelimit::note_wait(pace);
                tracing::debug!(
                    endpoint = call.endpoint,
                    wait_ms = pace.as_millis() as u64,
                    "pacing to stay within Miro's budget"
                );
                ratelimit::waiting(tokio::time::sleep(pace))
                    .await
                    .ok_or_else(|| not_sent(pace))?;
                pace = ticket.due();
            }
            let body = {
                let rate = self.budget.rest_rate();
                let slot = ratelimit::waiting(self.gate.enter(rate, self.scim))
                    .await
                    .ok_or_else(|| not_sent(Duration::ZERO))?;
                ticket.sending();
                let sent = Instant::now();
                let body = self.once(call, url.clone(), &mut ticket).await;
                slot.record(sent.elapsed(), call.cost);
                body?
            };
            decode(body).map_err(|error| Failed {
                outcome: Outcome::Unreadable,
                hint: None,
                error,
            })
        };
        let on_wait = |f: &Failed<MiroError>, delay: Duration| {
            if f.outcome == Outcome::Status(429) {
                metrics::counter!("miro_rate_limit_waits_total", "reason" => "429").increment(1);
                metrics::histogram!("miro_rate_limit_wait_seconds").record(delay.as_secs_f64());
                ratelimit::note_wait(delay);
            }
            tracing::warn!(endpoint = call.endpoint, delay_ms = delay.as_millis() as u64, error = %f.error, "retrying Miro request");
        };
        retry::run(&self.retry, call.idempotent, deadline, attempt, on_wait)
            .await
            .map_err(|stop| match stop {
                Stop::Fail(e) => e,
                Stop::Deadline { last, delay, .. }
                    if last.kind() == ErrorKind::Transient && last.rate_limit().is_some() =>
                {
                    self.rate_limited(call.endpoint, delay)
                }
                Stop::GaveUp { attempts, last } | Stop::Deadline { attempts, last, .. } => {
                    MiroError::RetriesExhausted {
                        endpoint: call.endpoint,
                        attempts,
                        last: Box::new(last),
                    }
                }
            })
    }

    /// Rate limited for `wait` more: the client may come back then (remaining 0, reset then).
    fn rate_limited(&self, endpoint: &'static str, wait: Duration) -> MiroError {
        let snapshot = self.budget.snapshot(Instant::now());
        MiroError::RateLimited {
            endpoint,
            wait,
            rate_limit: BudgetSnapshot {
                limit: snapshot.map_or(0, |s| s.limit),
                remaining: 0,
                reset_at: Some(SystemTime::now() + wait),
            },
        }
    }

    async fn once(
        &self,
        call: &Call,
        url: Url,
        ticket: &mut Ticket<'_>,
    ) -> Result<Bytes, Failed<MiroError>> {
        let endpoint = call.endpoint;
        let mut req = self
            .client
            .request(call.method.clone(), url)
            .bearer_auth(self.token.expose_secret());
        if let Some(body) = &call.body {
            let content_type = if self.scim {
                "application/scim+json"
            } else {
                "application/json"
            };
            req = req
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body.to_string());
        }
        let transport_err = |e: reqwest::Error, reading: bool| {
            let e = e.without_url();
            let message = self.scrub.clean(&error_chain(&e));
            if e.is_builder() {
                // Our request could not be built: a local failure, never retried.
                Failed {
                    outcome: Outcome::Local,
                    hint: None,
                    error: MiroError::BadInput(format!("could not send {endpoint}: {message}")),
                }
            } else if e.is_timeout() {
                Failed {
                    outcome: Outcome::Timeout,
                    hint: None,
                    error: MiroError::Timeout { endpoint },
                }
            } else if reading {
                Failed {
                    outcome: Outcome::Unreadable,
                    hint: None,
                    error: MiroError::Decode { endpoint, message },
                }
            } else {
                let unsent = e.is_connect();
                Failed {
                    outcome: if unsent {
                        Outcome::Unsent
                    } else {
                        Outcome::Connect
                    },
                    hint: None,
                    error: MiroError::Connect {
                        endpoint,
                        message,
                        unsent,
                    },
                }
            }
        };
        let resp = req.send().await.map_err(|e| transport_err(e, false))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        if !self.scim
            && let Some(b) = ratelimit::parse_headers(&headers)
        {
            let reset_in = b
                .reset_at
                .and_then(|r| r.duration_since(SystemTime::now()).ok())
                .unwrap_or_default();
            ticket.observe(b.limit, b.remaining, reset_in);
        }
        metrics::counter!("miro_requests_total", "endpoint" => endpoint, "status" => status.to_string()).increment(1);
        let body = resp.bytes().await.map_err(|e| transport_err(e, true))?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let hint = (status == 429)
            .then(|| wait_after_429(&headers, SystemTime::now()))
            .flatten();
        let rate_limit = (status == 429).then(|| {
            self.budget
                .snapshot(Instant::now())
                .unwrap_or(BudgetSnapshot {
                    limit: 0,
                    remaining: 0,
                    reset_at: hint.map(|h| SystemTime::now() + h),
                })
        });
        Err(Failed {
            outcome: Outcome::Status(status),
            hint,
            error: self.api_error(endpoint, status, &body, rate_limit),
        })
    }

    fn api_error(
        &self,
        endpoint: &'static str,
        status: u16,
        body: &[u8],
        rate_limit: Option<BudgetSnapshot>,
    ) -> MiroError {
        // Only Miro's structured fields are kept, scrubbed; a raw body (an HTML page, a proxy's
        // echo of our headers) is never repeated.
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(|t| self.scrub.clean(t))
        };
        let fallback = || {
            if body.iter().all(u8::is_ascii_whitespace) {
                format!("HTTP {status} with no error body")
            } else {
                format!(
                    "HTTP {status} with a {}-byte body that is not Miro's error format",
                    body.len()
                )
            }
        };
        if self.scim {
            MiroError::Scim {
                endpoint,
                status,
                scim_type: text("scimType"),
                detail: text("detail").unwrap_or_else(fallback),
                rate_limit,
            }
        } else {
            MiroError::Api {
                endpoint,
                status,
                code: text("code"),
                message: text("message").unwrap_or_else(fallback),
                rate_limit,
            }
        }
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
