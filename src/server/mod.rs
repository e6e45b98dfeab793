//! The tonic server: the c1.connector.v2 services, health, reflection, TLS, per-RPC logs and
//! metrics, and a bounded graceful shutdown. It is handed a ready connector; building one (Miro's
//! adapter and all) is the caller's business.
mod readiness;
mod rpc_log;
pub mod tls;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tonic::{
    server::NamedService,
    transport::{Server, server::TcpIncoming},
};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    config::{SettingError, Settings},
    connector::Connector,
    health::Reporter,
    pb::{
        account_manager_service_server::AccountManagerServiceServer as AccountManager,
        action_service_server::ActionServiceServer as Actions,
        connector_service_server::ConnectorServiceServer as ConnectorSvc,
        entitlements_service_server::EntitlementsServiceServer as Entitlements,
        event_service_server::EventServiceServer as Events,
        grant_manager_service_server::GrantManagerServiceServer as GrantManager,
        grants_service_server::GrantsServiceServer as Grants,
        resource_deleter_service_server::ResourceDeleterServiceServer as ResourceDeleter,
        resource_getter_service_server::ResourceGetterServiceServer as ResourceGetter,
        resource_manager_service_server::ResourceManagerServiceServer as ResourceManager,
        resource_types_service_server::ResourceTypesServiceServer as ResourceTypes,
        resources_service_server::ResourcesServiceServer as Resources,
    },
};

/// Every c1 service name; each is SERVING only when the daemon is ready.
pub const SERVICES: &[&str] = &[
    <ConnectorSvc<Connector> as NamedService>::NAME,
    <ResourceTypes<Connector> as NamedService>::NAME,
    <Resources<Connector> as NamedService>::NAME,
    <ResourceGetter<Connector> as NamedService>::NAME,
    <Entitlements<Connector> as NamedService>::NAME,
    <Grants<Connector> as NamedService>::NAME,
    <GrantManager<Connector> as NamedService>::NAME,
    <AccountManager<Connector> as NamedService>::NAME,
    <ResourceManager<Connector> as NamedService>::NAME,
    <ResourceDeleter<Connector> as NamedService>::NAME,
];

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// A setting that only turns out bad when used (a TLS file).
    #[error(transparent)]
    Setting(#[from] SettingError),
    #[error("{0}")]
    Setup(String),
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// A running daemon.
pub struct Daemon {
    pub addr: SocketAddr,
    pub health_addr: Option<SocketAddr>,
    pub metrics_addr: Option<SocketAddr>,
    reporter: Reporter,
    stop: watch::Sender<bool>,
    /// Stops the health listener: only once the main port has drained.
    stop_health: watch::Sender<bool>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    health_server: Option<JoinHandle<()>>,
    readiness: JoinHandle<()>,
    grace: Duration,
}

/// Accepted connections with Nagle's algorithm off: a unary answer is several small HTTP/2 frames.
fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Start serving `connector` on `listener`, with the other listeners the settings name.
pub async fn start_on(
    settings: &Settings,
    listener: TcpListener,
    connector: Arc<Connector>,
) -> Result<Daemon, ServeError> {
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: settings.listen,
        source,
    })?;
    let mut builder = Server::builder().timeout(*settings.rpc_timeout);
    if let Some(tls) = settings.tls() {
        builder = builder
            .tls_config(tls::load(&tls)?)
            .map_err(|e| ServeError::Setup(format!("TLS: {e}")))?;
    }
    let reporter = Reporter::default();
    reporter.set("liveness", ServingStatus::Serving).await;
    readiness::set_all(&reporter, ServingStatus::NotServing).await;
    let (stop, stop_rx) = watch::channel(false);
    let (stop_health, stop_health_rx) = watch::channel(false);
    let health = reporter.service(stop_rx.clone());

    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection()
        .build_v1()
        .map_err(|e| ServeError::Setup(format!("reflection: {e}")))?;
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .map_err(|e| ServeError::Setup(format!("reflection: {e}")))?;

    let max = settings.max_request_bytes;
    let c = connector.clone();
    macro_rules! svc {
        ($server:ident) => {
            $server::from_arc(c.clone()).max_decoding_message_size(max)
        };
    }
    let router = builder
        .layer(rpc_log::RpcLogLayer)
        .add_service(health.clone())
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(svc!(ConnectorSvc))
        .add_service(svc!(ResourceTypes))
        .add_service(svc!(Resources))
        .add_service(svc!(ResourceGetter))
        .add_service(svc!(Entitlements))
        .add_service(svc!(Grants))
        .add_service(svc!(GrantManager))
        .add_service(svc!(AccountManager))
        .add_service(svc!(ResourceManager))
        .add_service(svc!(ResourceDeleter))
        .add_service(svc!(Actions))
        .add_service(svc!(Events));
    let server = tokio::spawn(
        router.serve_with_incoming_shutdown(incoming(listener), stopped(stop_rx.clone())),
    );

    let (health_addr, health_server) = match settings.health_listen {
        Some(a) => {
            let l = bind(a).await?;
            let local = l.local_addr().ok();
            let task = tokio::spawn(async move {
                let r = Server::builder()
                    .add_service(health)
                    .serve_with_incoming_shutdown(incoming(l), stopped(stop_health_rx))
                    .await;
                if let Err(e) = r {
                    tracing::error!(error = %e, "health listener failed");
                }
            });
            (local, Some(task))
        }
        None => (None, None),
    };
    let metrics_addr = match settings.metrics_listen {
        Some(a) => Some(
            crate::telemetry::serve_metrics(bind(a).await?, stopped(stop_rx.clone()))
                .await
                .map_err(|source| ServeError::Bind { addr: a, source })?,
        ),
        None => None,
    };
    let readiness = tokio::spawn(readiness::watch(connector, reporter.clone()));
    tracing::info!(%addr, tls = settings.tls_cert.is_some(), mtls = settings.tls_client_ca.is_some(),
        provisioning = settings.provisioning, "serving c1.connector.v2");
    Ok(Daemon {
        addr,
        health_addr,
        metrics_addr,
        reporter,
        stop,
        stop_health,
        server,
        health_server,
        readiness,
        grace: *settings.shutdown_grace,
    })
}

impl Daemon {
    /// Stop: health turns NOT_SERVING, no new RPCs are accepted, in-flight ones get the grace period.
    /// The health listener keeps answering NOT_SERVING until the drain is over, so an orchestrator
    /// sees a draining daemon, not a dead one. `true` if everything finished within the grace.
    pub async fn shutdown(self) -> bool {
        self.readiness.abort();
        readiness::set_all(&self.reporter, ServingStatus::NotServing).await;
        self.reporter
            .set("liveness", ServingStatus::NotServing)
            .await;
        let _ = self.stop.send(true);
        let drained = match tokio::time::timeout(self.grace, self.server).await {
            Ok(Ok(Ok(()))) => true,
            Ok(Ok(Err(e))) => {
                tracing::error!(error = %e, "gRPC server ended with an error");
                false
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "gRPC server task failed");
                false
            }
            Err(_) => {
                tracing::warn!(
                    grace_ms = self.grace.as_millis() as u64,
                    "grace period over; in-flight RPCs were cut"
                );
                false
            }
        };
        let _ = self.stop_health.send(true);
        if let Some(h) = self.health_server {
            let _ = tokio::time::timeout(Duration::from_secs(1), h).await;
        }
        drained
    }
}
