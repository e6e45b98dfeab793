//! Readiness: SERVING once Miro accepts the credentials.
use std::{sync::Arc, time::Duration};

use tonic_health::pb::health_check_response::ServingStatus;

use super::SERVICES;
use crate::{
    connector::{Connector, ConnectorError},
    health::Reporter,
    miro::ErrorKind,
};

pub(super) async fn set_all(reporter: &Reporter, status: ServingStatus) {
    reporter.set("", status).await;
    for s in SERVICES {
        reporter.set(s, status).await;
    }
}

/// Unreachable Miro: retry with backoff. Rejected token: say so once and stay NOT_SERVING.
pub(super) async fn watch(connector: Arc<Connector>, reporter: Reporter) {
    let mut delay = Duration::from_millis(500);
    loop {
        match connector.check_credentials().await {
            Ok(()) => {
                set_all(&reporter, ServingStatus::Serving).await;
                tracing::info!("Miro accepted the credentials; ready");
                return;
            }
            Err(ConnectorError::Miro(e))
                if matches!(
                    e.kind(),
                    ErrorKind::Unauthorized | ErrorKind::Forbidden | ErrorKind::Rejected
                ) =>
            {
                tracing::error!(error = %e, "Miro rejected the access token; readiness stays NOT_SERVING until the token is replaced and the connector restarted");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "cannot check the Miro credentials yet; readiness stays NOT_SERVING");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}
