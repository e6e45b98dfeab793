//! Errors as values, mapped to gRPC statuses once, here. Miro's errors cross into gRPC only through
//! `From<MiroError> for ConnectorError` and `From<ConnectorError> for Status`, by their kind.
use std::time::SystemTime;

use prost::Message;
use tonic::{Code, Status};

use super::annotations::pack;
use crate::{
    miro::{ErrorKind, MiroError},
    pb,
};

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// A request that is malformed in a way the message explains.
    #[error("{0}")]
    InvalidArgument(String),
    #[error(
        "page_token is not valid for this listing ({0}); pass the next_page_token of the previous response, or none to start over"
    )]
    BadPageToken(String),
    /// A resource type the connector does not serve (the message names those it does).
    #[error("{0}")]
    UnknownType(String),
    /// A write the resource type does not support (baton-sdk answers UNIMPLEMENTED too).
    #[error("{0}")]
    Unsupported(String),
    /// An id of a known type that names nothing.
    #[error("{0}")]
    NotFound(String),
    #[error(
        "provisioning is not enabled: start the connector with --provisioning (or MIRO_CONNECTOR_PROVISIONING=true) to allow writes to Miro"
    )]
    ProvisioningDisabled,
    #[error(
        "this needs Miro's SCIM API: set a SCIM token (--miro-scim-token-file, MIRO_SCIM_TOKEN or --miro-scim-token)"
    )]
    ScimMissing,
    /// Miro's state does not allow it (the message says what would).
    #[error("{0}")]
    FailedPrecondition(String),
    #[error(transparent)]
    Miro(#[from] MiroError),
}

impl ConnectorError {
    /// A stable, low-cardinality name: the `error` label of `connector_errors_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::InvalidArgument(_) => "invalid_argument",
            Self::BadPageToken(_) => "bad_page_token",
            Self::UnknownType(_) => "unknown_type",
            Self::Unsupported(_) => "unsupported",
            Self::NotFound(_) => "not_found",
            Self::ProvisioningDisabled => "provisioning_disabled",
            Self::ScimMissing => "scim_missing",
            Self::FailedPrecondition(_) => "failed_precondition",
            Self::Miro(e) => match e.kind() {
                ErrorKind::Unauthorized | ErrorKind::Forbidden => "miro_denied",
                ErrorKind::NotFound => "miro_not_found",
                ErrorKind::Conflict | ErrorKind::Duplicate => "miro_conflict",
                ErrorKind::Rejected | ErrorKind::Refused => "miro_rejected",
                ErrorKind::Transient => "miro_unavailable",
                ErrorKind::BadInput => "bad_input",
                ErrorKind::Broken => "miro_broken",
            },
        }
    }
}

fn miro_code(e: &MiroError) -> Code {
    match e.kind() {
        ErrorKind::Unauthorized => Code::Unauthenticated,
        ErrorKind::Forbidden => Code::PermissionDenied,
        ErrorKind::NotFound => Code::NotFound,
        ErrorKind::Conflict | ErrorKind::Duplicate => Code::AlreadyExists,
        ErrorKind::Rejected | ErrorKind::BadInput => Code::InvalidArgument,
        ErrorKind::Refused => Code::FailedPrecondition,
        ErrorKind::Transient => Code::Unavailable,
        ErrorKind::Broken => Code::Internal,
    }
}

impl From<ConnectorError> for Status {
    fn from(e: ConnectorError) -> Self {
        metrics::counter!("connector_errors_total", "error" => e.label()).increment(1);
        let message = e.to_string();
        match e {
            ConnectorError::InvalidArgument(_)
            | ConnectorError::BadPageToken(_)
            | ConnectorError::UnknownType(_) => Status::invalid_argument(message),
            ConnectorError::ProvisioningDisabled
            | ConnectorError::ScimMissing
            | ConnectorError::FailedPrecondition(_) => Status::failed_precondition(message),
            ConnectorError::NotFound(_) => Status::not_found(message),
            ConnectorError::Unsupported(_) => Status::unimplemented(message),
            ConnectorError::Miro(e) => {
                let code = miro_code(&e);
                // The official client retries UNAVAILABLE and reads how long to wait from this.
                match (code, e.rate_limit()) {
                    (Code::Unavailable, Some(rl)) => {
                        let desc = pb::RateLimitDescription {
                            status: pb::rate_limit_description::Status::Overlimit as i32,
                            limit: i64::try_from(rl.limit).unwrap_or(i64::MAX),
                            // Over the limit: the official client then waits until `reset_at`.
                            remaining: 0,
                            reset_at: rl
                                .reset_at
                                .or_else(|| Some(SystemTime::now()))
                                .map(prost_types::Timestamp::from),
                        };
                        let details = pb::RpcStatus {
                            code: code as i32,
                            message: message.clone(),
                            details: vec![pack(&desc)],
                        };
                        Status::with_details(code, message, details.encode_to_vec().into())
                    }
                    _ => Status::new(code, message),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::miro::ratelimit::BudgetSnapshot;

    fn api(status: u16) -> ConnectorError {
        ConnectorError::Miro(MiroError::Api {
            endpoint: "GET /x",
            status,
            code: None,
            message: "m".into(),
            rate_limit: (status == 429).then(|| BudgetSnapshot {
                limit: 100,
                remaining: 0,
                reset_at: Some(SystemTime::now()),
            }),
        })
    }

    #[test]
    fn http_statuses_map_once() {
        for (http, code) in [
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::NotFound),
            (409, Code::AlreadyExists),
            (400, Code::InvalidArgument),
            (422, Code::FailedPrecondition),
            (500, Code::Unavailable),
            (503, Code::Unavailable),
            (501, Code::Internal),
        ] {
            assert_eq!(Status::from(api(http)).code(), code, "HTTP {http}");
        }
        for (e, code) in [
            (MiroError::BadInput("b".into()), Code::InvalidArgument),
            (
                MiroError::Internal("could not build the HTTP client".into()),
                Code::Internal,
            ),
        ] {
            assert_eq!(Status::from(ConnectorError::Miro(e)).code(), code);
        }
    }

    #[test]
    fn rate_limited_carries_a_description() {
        let s = Status::from(api(429));
        assert_eq!(s.code(), Code::Unavailable);
        let details = pb::RpcStatus::decode(s.details()).unwrap();
        assert_eq!(
            details.details[0].type_url,
            "type.googleapis.com/c1.connector.v2.RateLimitDescription"
        );
        let d = pb::RateLimitDescription::decode(details.details[0].value.as_slice()).unwrap();
        assert_eq!((d.limit, d.remaining), (100, 0));
        assert!(d.reset_at.is_some());
    }
}
