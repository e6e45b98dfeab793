//! One error type for everything that can go wrong talking to Miro. It keeps what Miro said (REST
//! `code`/`message`, SCIM `scimType`/`detail`, capped and scrubbed of credentials) and which
//! endpoint said it; never a token, never a raw body. Callers match on `kind()`, never on HTTP.
use super::ratelimit::BudgetSnapshot;

/// What a failure means to a caller, with HTTP left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The credentials were refused (401).
    Unauthorized,
    /// The credentials lack a permission or scope (403).
    Forbidden,
    /// The thing is not there (404).
    NotFound,
    /// The write collides with current state (409).
    Conflict,
    /// The thing already exists (SCIM "not unique").
    Duplicate,
    /// Miro found the request malformed (400).
    Rejected,
    /// Miro refused for a reason of state: last admin, deactivated user, other 4xx.
    Refused,
    /// Worth another try later: rate limits, outages, time-outs, unreachable Miro.
    Transient,
    /// The request could not be built from what we were given; nothing was sent.
    BadInput,
    /// Miro answered something we cannot use: unreadable bodies, cursor loops, 501.
    Broken,
}

#[derive(Debug, thiserror::Error)]
pub enum MiroError {
    #[error("Miro {endpoint} answered HTTP {status}{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Api {
        endpoint: &'static str,
        status: u16,
        code: Option<String>,
        message: String,
        rate_limit: Option<BudgetSnapshot>,
    },
    #[error("Miro SCIM {endpoint} answered HTTP {status}{}: {detail}", scim_type.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Scim {
        endpoint: &'static str,
        status: u16,
        scim_type: Option<String>,
        detail: String,
        rate_limit: Option<BudgetSnapshot>,
    },
    #[error("Miro {endpoint} did not answer in time")]
    Timeout { endpoint: &'static str },
    #[error("could not reach Miro for {endpoint}: {message}")]
    Connect {
        endpoint: &'static str,
        message: String,
        /// The connection was never made, so the request was never sent.
        unsent: bool,
    },
    #[error("Miro {endpoint} sent a response that could not be read: {message}")]
    Decode {
        endpoint: &'static str,
        message: String,
    },
    #[error(
        "Miro {endpoint} handed back cursor {cursor:?} a second time; stopping instead of looping"
    )]
    RepeatedCursor {
        endpoint: &'static str,
        cursor: String,
    },
    #[error("gave up on Miro {endpoint} after {attempts} attempts: {last}")]
    RetriesExhausted {
        endpoint: &'static str,
        attempts: u32,
        last: Box<MiroError>,
    },
    /// A request this adapter refuses to build (a path segment that would change the URL, say).
    #[error("{0}")]
    BadInput(String),
    /// Miro's limits would keep the caller waiting past its deadline.
    #[error("Miro {endpoint} is rate limited for another {:.1} s; try again then", wait.as_secs_f64())]
    RateLimited {
        endpoint: &'static str,
        wait: std::time::Duration,
        rate_limit: BudgetSnapshot,
    },
    /// A failure of this program, not of the input or of Miro.
    #[error("{0}")]
    Internal(String),
}

impl MiroError {
    fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Scim { status, .. } => Some(*status),
            Self::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::RetriesExhausted { .. }
            | Self::Timeout { .. }
            | Self::Connect { .. }
            | Self::RateLimited { .. } => ErrorKind::Transient,
            Self::Decode { .. } | Self::RepeatedCursor { .. } | Self::Internal(_) => {
                ErrorKind::Broken
            }
            Self::BadInput(_) => ErrorKind::BadInput,
            Self::Api { status, .. } | Self::Scim { status, .. } => match status {
                401 => ErrorKind::Unauthorized,
                403 => ErrorKind::Forbidden,
                404 => ErrorKind::NotFound,
                409 if self.code() == Some("uniqueness") => ErrorKind::Duplicate,
                409 => ErrorKind::Conflict,
                400 if self.code() == Some("invalidValue")
                    && self.message().contains("not unique") =>
                {
                    ErrorKind::Duplicate
                }
                400 if self.code() == Some("mutability") => ErrorKind::Refused,
                400 => ErrorKind::Rejected,
                429 => ErrorKind::Transient,
                501 => ErrorKind::Broken,
                s if *s >= 500 => ErrorKind::Transient,
                _ => ErrorKind::Refused,
            },
        }
    }

    /// A failure after which a non-idempotent write may or may not have been applied.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::Decode { .. } => true,
            Self::Connect { unsent, .. } => !unsent,
            Self::RetriesExhausted { last, .. } => last.is_ambiguous(),
            _ => self.status().is_some_and(|s| s >= 500 && s != 501),
        }
    }

    pub fn rate_limit(&self) -> Option<&BudgetSnapshot> {
        match self {
            Self::Api { rate_limit, .. } | Self::Scim { rate_limit, .. } => rate_limit.as_ref(),
            Self::RateLimited { rate_limit, .. } => Some(rate_limit),
            Self::RetriesExhausted { last, .. } => last.rate_limit(),
            _ => None,
        }
    }

    /// Miro's REST `code` or SCIM `scimType`.
    fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => code.as_deref(),
            Self::Scim { scim_type, .. } => scim_type.as_deref(),
            Self::RetriesExhausted { last, .. } => last.code(),
            _ => None,
        }
    }

    fn message(&self) -> &str {
        match self {
            Self::Api { message, .. } => message,
            Self::Scim { detail, .. } => detail,
            _ => "",
        }
    }
}
