//! Errors as values, mapped to gRPC statuses once, here. Miro's errors cross into gRPC only through
//! `From<MiroError> for ConnectorError` and `From<ConnectorError> for Status`.
use std::time::SystemTime;

use prost::Message;
use tonic::{Code, Status};

use super::annotations::pack;
use crate::{miro::MiroError, pb};

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unimplemented(String),
    #[error(transparent)]
    Miro(#[from] MiroError),
}

/// `google.rpc.Status`, the payload of `grpc-status-details-bin`.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

fn miro_code(e: &MiroError) -> Code {
    if e.is_transient() {
        return Code::Unavailable;
    }
    match e.status() {
        Some(401) => Code::Unauthenticated,
        Some(403) => Code::PermissionDenied,
        Some(404) => Code::NotFound,
        Some(409) => Code::AlreadyExists,
        // Miro refusing a change for a reason of state (last admin, deactivated user...).
        Some(400) if matches!(e.code(), Some("mutability")) => Code::FailedPrecondition,
        Some(400) => Code::InvalidArgument,
        Some(s) if (400..500).contains(&s) => Code::FailedPrecondition,
        _ => match e {
            MiroError::Invalid(_) => Code::InvalidArgument,
            _ => Code::Internal,
        },
    }
}

impl From<ConnectorError> for Status {
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::InvalidArgument(m) => Status::invalid_argument(m),
            ConnectorError::FailedPrecondition(m) => Status::failed_precondition(m),
            ConnectorError::NotFound(m) => Status::not_found(m),
            ConnectorError::Unimplemented(m) => Status::unimplemented(m),
            ConnectorError::Miro(e) => {
                let code = miro_code(&e);
                let message = e.to_string();
                // The official client retries UNAVAILABLE and reads how long to wait from this.
                match (code, e.rate_limit()) {
                    (Code::Unavailable, Some(rl)) => {
                        let desc = pb::RateLimitDescription {
                            status: pb::rate_limit_description::Status::Overlimit as i32,
                            limit: i64::try_from(rl.limit).unwrap_or(i64::MAX),
                            remaining: i64::try_from(rl.remaining).unwrap_or(i64::MAX),
                            reset_at: rl
                                .reset_at
                                .or_else(|| Some(SystemTime::now()))
                                .map(prost_types::Timestamp::from),
                        };
                        let details = RpcStatus {
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
    }

    #[test]
    fn rate_limited_carries_a_description() {
        let s = Status::from(api(429));
        assert_eq!(s.code(), Code::Unavailable);
        let details = RpcStatus::decode(s.details()).unwrap();
        assert_eq!(
            details.details[0].type_url,
            "type.googleapis.com/c1.connector.v2.RateLimitDescription"
        );
        let d = pb::RateLimitDescription::decode(details.details[0].value.as_slice()).unwrap();
        assert_eq!((d.limit, d.remaining), (100, 0));
        assert!(d.reset_at.is_some());
    }
}
