//! The one place that sends HTTP to Miro: the bearer token is attached here and nowhere else, the
//! budget is read and paced here, and retries happen here.
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::{
    error::MiroError,
    ratelimit::{self, Budget, BudgetSnapshot, wait_after_429},
    retry::{self, Failed, Outcome, RetryPolicy, Stop},
};

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
    pub fn get(endpoint: &'static str, cost: u64, segments: &[&str]) -> Self {
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
    pub fn with(mut self, method: Method, body: Option<Value>, idempotent: bool) -> Self {
        self.method = method;
        self.body = body;
        self.idempotent = idempotent;
        self
    }
    pub fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }
}

pub(crate) struct Transport {
    client: reqwest::Client,
    base: Url,
    token: SecretString,
    scim: bool,
    pub budget: Budget,
    retry: RetryPolicy,
}

impl Transport {
    pub fn new(
        client: reqwest::Client,
        base: Url,
        token: SecretString,
        scim: bool,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            client,
            base,
            token,
            scim,
            budget: Budget::default(),
            retry,
        }
    }

    fn url(&self, call: &Call) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.pop_if_empty().extend(&call.segments);
        }
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&call.query);
        }
        url
    }

    /// Send with retries and decode the JSON answer.
    pub async fn json<T: DeserializeOwned>(&self, call: &Call) -> Result<T, MiroError> {
        let body = self.send(call).await?;
        serde_json::from_slice(&body).map_err(|e| MiroError::Decode {
            endpoint: call.endpoint,
            message: e.to_string(),
        })
    }

    pub async fn send(&self, call: &Call) -> Result<Bytes, MiroError> {
        let attempt = || async {
            let pace = self.budget.pace(call.cost, SystemTime::now());
            if !pace.is_zero() {
                metrics::counter!("miro_rate_limit_waits_total", "reason" => "pacing").increment(1);
                metrics::histogram!("miro_rate_limit_wait_seconds").record(pace.as_secs_f64());
                ratelimit::note_wait(pace);
                tracing::debug!(
                    endpoint = call.endpoint,
                    wait_ms = pace.as_millis() as u64,
                    "pacing to stay within Miro's budget"
                );
                tokio::time::sleep(pace).await;
            }
            self.budget.spend(call.cost);
            self.once(call).await
        };
        let on_wait = |f: &Failed<MiroError>, delay: Duration| {
            if f.outcome == Outcome::Status(429) {
                metrics::counter!("miro_rate_limit_waits_total", "reason" => "429").increment(1);
                metrics::histogram!("miro_rate_limit_wait_seconds").record(delay.as_secs_f64());
                ratelimit::note_wait(delay);
            }
            tracing::warn!(endpoint = call.endpoint, delay_ms = delay.as_millis() as u64, error = %f.error, "retrying Miro request");
        };
        retry::run(&self.retry, call.idempotent, attempt, on_wait)
            .await
            .map_err(|stop| match stop {
                Stop::Fail(e) => e,
                Stop::GaveUp { attempts, last } => MiroError::RetriesExhausted {
                    endpoint: call.endpoint,
                    attempts,
                    last: Box::new(last),
                },
            })
    }

    async fn once(&self, call: &Call) -> Result<Bytes, Failed<MiroError>> {
        let endpoint = call.endpoint;
        let mut req = self
            .client
            .request(call.method.clone(), self.url(call))
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
        let transport_err = |e: reqwest::Error| {
            let e = e.without_url();
            if e.is_timeout() {
                Failed {
                    outcome: Outcome::Timeout,
                    hint: None,
                    error: MiroError::Timeout { endpoint },
                }
            } else {
                Failed {
                    outcome: Outcome::Connect,
                    hint: None,
                    error: MiroError::Connect {
                        endpoint,
                        message: error_chain(&e),
                    },
                }
            }
        };
        let resp = req.send().await.map_err(transport_err)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        self.budget.observe(&headers);
        metrics::counter!("miro_requests_total", "endpoint" => endpoint, "status" => status.to_string()).increment(1);
        let body = resp.bytes().await.map_err(transport_err)?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let hint = (status == 429)
            .then(|| wait_after_429(&headers, SystemTime::now()))
            .flatten();
        let rate_limit = (status == 429).then(|| {
            self.budget.snapshot().unwrap_or(BudgetSnapshot {
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
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
        let fallback = || {
            let raw = String::from_utf8_lossy(body);
            let raw: String = raw.chars().take(200).collect();
            if raw.trim().is_empty() {
                format!("HTTP {status} with no error body")
            } else {
                raw
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
