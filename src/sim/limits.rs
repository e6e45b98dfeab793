//! The gate every Miro request passes: authentication, Miro's credit budget, fault injection and
//! the counters behind `/_sim/stats`.
use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    body::Body,
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

use super::{
    AppState, answer,
    faults::BodyFault,
    levels::{GROUP_MEMBERS_PATCH, enterprise_only, required_scopes, rest_credits, scim_limit},
    scim,
};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointStats {
    pub requests: u64,
    pub credits: u64,
    pub by_status: BTreeMap<u16, u64>,
    /// When the first and the last request arrived, in milliseconds since the Unix epoch: a
    /// benchmark's timeline of the walk's phases.
    #[serde(default)]
    pub first_ms: u64,
    #[serde(default)]
    pub last_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub requests: u64,
    pub credits: u64,
    pub rate_limited: u64,
    pub endpoints: BTreeMap<String, EndpointStats>,
}

impl Stats {
    pub fn requests_to(&self, endpoint: &str) -> u64 {
        self.endpoints.get(endpoint).map_or(0, |e| e.requests)
    }
}

#[derive(Default)]
pub(crate) struct Limits {
    windows: HashMap<String, Window>,
}

struct Window {
    started: Instant,
    used: u64,
}

struct Charge {
    limit: u64,
    remaining: u64,
    reset_epoch: u64,
    allowed: bool,
    credits: u64,
}

impl Limits {
    fn charge(&mut self, key: &str, window: Duration, limit: u64, cost: u64) -> Charge {
        let now = Instant::now();
        let w = self.windows.entry(key.to_string()).or_insert(Window {
            started: now,
            used: 0,
        });
        if now.duration_since(w.started) >= window {
            *w = Window {
                started: now,
                used: 0,
            };
        }
        let allowed = w.used + cost <= limit;
        if allowed {
            w.used += cost;
        }
        let left = window.saturating_sub(now.duration_since(w.started));
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Charge {
            limit,
            remaining: limit - w.used,
            reset_epoch: (epoch + left).as_secs() + u64::from((epoch + left).subsec_nanos() > 0),
            allowed,
            credits: if allowed { cost } else { 0 },
        }
    }
}

/// The key of an endpoint's stats and SCIM window: the route's template, never the path a client
/// sent, so ids and made-up paths or methods cannot grow the tables of a simulator that serves for
/// hours.
fn endpoint_label(method: &Method, route: Option<&str>) -> String {
    let method = match *method {
        Method::GET | Method::POST | Method::PUT | Method::PATCH | Method::DELETE => {
            method.as_str()
        }
        _ => "OTHER",
    };
    match route {
        Some(r) => format!("{method} {}", r.strip_prefix("/api/v1/scim").unwrap_or(r)),
        None => format!("{method} (no route)"),
    }
}

pub(super) async fn gate(
    State(s): State<AppState>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let is_scim = req.uri().path().starts_with("/api/v1/scim");
    let endpoint = endpoint_label(req.method(), matched.as_ref().map(MatchedPath::as_str));
    let arrived = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let (mut response, credits) = gated(&s, &endpoint, is_scim, req, next).await;
    if method != Method::GET && response.status().is_success() {
        response = audited(&s, &method, &path, response).await;
    }
    let mut stats = s.stats.lock().unwrap_or_else(|e| e.into_inner());
    let status = response.status().as_u16();
    stats.requests += 1;
    stats.credits += credits;
    stats.rate_limited += u64::from(status == 429);
    let e = stats.endpoints.entry(endpoint).or_default();
    if e.requests == 0 {
        e.first_ms = arrived;
    }
    e.last_ms = e.last_ms.max(arrived);
    e.requests += 1;
    e.credits += credits;
    *e.by_status.entry(status).or_default() += 1;
    response
}

/// A write that succeeded goes into the audit log; a create's id is read from its answer.
async fn audited(s: &AppState, method: &Method, path: &str, response: Response) -> Response {
    if *method != Method::POST {
        super::audit::record(s, method.as_str(), path, None);
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 4 << 20)
        .await
        .unwrap_or_default();
    let created = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string));
    super::audit::record(s, method.as_str(), path, created);
    Response::from_parts(parts, Body::from(bytes))
}

fn error(is_scim: bool, status: StatusCode, code: &str, message: &str) -> Response {
    if is_scim {
        scim::error(status, Some(code), message)
    } else {
        answer::error(status, code, message).into_response()
    }
}

async fn gated(
    s: &AppState,
    endpoint: &str,
    is_scim: bool,
    req: Request,
    next: Next,
) -> (Response, u64) {
    let expected = if is_scim {
        &s.cfg.scim_token
    } else {
        &s.cfg.access_token
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        None => {
            return (
                error(
                    is_scim,
                    StatusCode::UNAUTHORIZED,
                    "tokenNotProvided",
                    "No access token provided",
                ),
                0,
            );
        }
        Some(t) if t != expected => {
            return (
                error(
                    is_scim,
                    StatusCode::UNAUTHORIZED,
                    "tokenNotProvided",
                    "Invalid access token",
                ),
                0,
            );
        }
        Some(_) => {}
    }
    let missing: Vec<&str> = required_scopes(endpoint)
        .iter()
        .copied()
        .filter(|scope| !s.cfg.scopes.iter().any(|have| have == scope))
        .collect();
    if !missing.is_empty() {
        let message = format!("The token lacks the scope {}", missing.join(", "));
        return (
            error(false, StatusCode::FORBIDDEN, "forbiddenAccess", &message),
            0,
        );
    }
    if enterprise_only(endpoint) && answer::read(s).plan != "company" {
        return (
            error(
                false,
                StatusCode::FORBIDDEN,
                "forbiddenAccess",
                "This feature is available on the Enterprise plan only",
            ),
            0,
        );
    }
    let (req, cost) = if endpoint == GROUP_MEMBERS_PATCH {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, 4 << 20)
            .await
            .unwrap_or_default();
        let items = super::group_members::patch_items(&bytes) as u64;
        (
            Request::from_parts(parts, Body::from(bytes)),
            rest_credits(endpoint) * items.max(1),
        )
    } else {
        (req, rest_credits(endpoint))
    };

    let charge = {
        let mut limits = s.limits.lock().unwrap_or_else(|e| e.into_inner());
        if is_scim {
            s.cfg
                .scim_limits
                .then(|| limits.charge(endpoint, s.cfg.scim_window, scim_limit(endpoint), 1))
        } else {
            s.cfg
                .rest_budget
                .map(|b| limits.charge("rest", s.cfg.rest_window, b, cost))
        }
    };
    let plan = s
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .plan(endpoint);
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    // SCIM limits count requests, not credits: only REST spends credits.
    let mut credits = if is_scim {
        0
    } else {
        charge.as_ref().map_or(0, |c| c.credits)
    };
    let mut response = if charge.as_ref().is_some_and(|c| !c.allowed) || plan.status == Some(429) {
        too_many(s, is_scim, charge.as_ref())
    } else if let Some(code) = plan.status {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        error(is_scim, status, "internalError", "Simulated server error")
    } else {
        let response = next.run(req).await;
        match plan.body {
            Some(fault) => break_body(response, fault).await,
            None => response,
        }
    };
    if plan.status == Some(429) {
        credits = 0;
    }
    if let Some(c) = charge {
        let h = response.headers_mut();
        h.insert("X-RateLimit-Limit", c.limit.into());
        h.insert("X-RateLimit-Remaining", c.remaining.into());
        h.insert("X-RateLimit-Reset", c.reset_epoch.into());
    }
    (response, credits)
}

fn too_many(s: &AppState, is_scim: bool, charge: Option<&Charge>) -> Response {
    let mut r = if is_scim {
        scim::error(
            StatusCode::TOO_MANY_REQUESTS,
            Some("tooManyRequests"),
            "The user has sent too many requests in a given amount of time",
        )
    } else {
        answer::error(
            StatusCode::TOO_MANY_REQUESTS,
            "tooManyRequests",
            "Request rate limit exceed",
        )
        .into_response()
    };
    if s.cfg.retry_after {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let wait = charge.map_or(1, |c| c.reset_epoch.saturating_sub(now).max(1));
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    }
    r
}

async fn break_body(response: Response, fault: BodyFault) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let body = match fault {
        BodyFault::Malformed => Body::from("{\"data\": [ {\"id\": oops"),
        BodyFault::Truncated => Body::from(bytes.slice(..bytes.len() / 2)),
        BodyFault::Dropped => Body::from_stream(futures::stream::once(async {
            Err::<bytes::Bytes, std::io::Error>(std::io::Error::other(
                "connection dropped by the simulator",
            ))
        })),
    };
    let mut response = Response::from_parts(parts, body);
    response.headers_mut().remove(header::CONTENT_LENGTH);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_spends_and_refuses() {
        let mut l = Limits::default();
        let w = Duration::from_secs(60);
        let a = l.charge("rest", w, 1000, 500);
        assert!(a.allowed);
        assert_eq!(a.remaining, 500);
        assert!(l.charge("rest", w, 1000, 500).allowed);
        let c = l.charge("rest", w, 1000, 50);
        assert!(!c.allowed);
        assert_eq!(c.remaining, 0);
        assert_eq!(c.credits, 0);
    }
}
