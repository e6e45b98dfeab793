//! One error type for everything that can go wrong talking to Miro. It keeps what Miro said (REST
//! `code`/`message`, SCIM `scimType`/`detail`) and which endpoint said it; never a token.
use super::ratelimit::BudgetSnapshot;

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
    #[error("{0}")]
    Invalid(String),
}

impl MiroError {
    /// The HTTP status Miro answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Scim { status, .. } => Some(*status),
            Self::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// A failure after which a non-idempotent write may or may not have been applied.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Decode { .. })
            || self.status().is_some_and(|s| s >= 500 && s != 501)
            || matches!(self, Self::Connect { .. })
    }

    /// Worth another try later: rate limits, Miro outages, time-outs, unreachable Miro.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::RetriesExhausted { .. } | Self::Timeout { .. } | Self::Connect { .. } => true,
            _ => self
                .status()
                .is_some_and(|s| s == 429 || (s >= 500 && s != 501)),
        }
    }

    pub fn rate_limit(&self) -> Option<&BudgetSnapshot> {
        match self {
            Self::Api { rate_limit, .. } | Self::Scim { rate_limit, .. } => rate_limit.as_ref(),
            Self::RetriesExhausted { last, .. } => last.rate_limit(),
            _ => None,
        }
    }

    /// Miro's REST `code` or SCIM `scimType`.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => code.as_deref(),
            Self::Scim { scim_type, .. } => scim_type.as_deref(),
            Self::RetriesExhausted { last, .. } => last.code(),
            _ => None,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Api { message, .. } => message.clone(),
            Self::Scim { detail, .. } => detail.clone(),
            other => other.to_string(),
        }
    }
}
