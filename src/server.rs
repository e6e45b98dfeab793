//! The tonic server: the c1.connector.v2 services, health, reflection, TLS, per-RPC logs and
//! metrics, and a bounded graceful shutdown.
use std::{
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    config::Settings,
    connector::{Connector, ConnectorError, ConnectorSettings},
    health::Reporter,
    miro::{Miro, MiroSettings, RetryPolicy},
    pb,
};

/// Every c1 service name; each is SERVING only when the daemon is ready.
pub const SERVICES: &[&str] = &[
    "c1.connector.v2.ConnectorService",
    "c1.connector.v2.ResourceTypesService",
    "c1.connector.v2.ResourcesService",
    "c1.connector.v2.ResourceGetterService",
    "c1.connector.v2.EntitlementsService",
    "c1.connector.v2.GrantsService",
    "c1.connector.v2.GrantManagerService",
    "c1.connector.v2.AccountManagerService",
    "c1.connector.v2.ResourceManagerService",
    "c1.connector.v2.ResourceDeleterService",
];

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS setting {setting}: {why}")]
    Tls { setting: &'static str, why: String },
    #[error("{0}")]
    Setup(String),
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

pub fn connector(settings: &Settings) -> Result<Connector, ServeError> {
    let miro = Miro::new(MiroSettings {
        api_url: settings.miro_api_url.clone(),
        scim_url: settings.miro_scim_url.clone(),
        access_token: settings.miro_access_token.clone(),
        scim_token: settings.miro_scim_token.clone(),
        timeout: settings.miro_timeout,
        retry: RetryPolicy {
            max_attempts: settings.miro_max_attempts,
            max_elapsed: settings.miro_max_retry_time,
            ..RetryPolicy::default()
        },
    })
    .map_err(|e| ServeError::Setup(e.to_string()))?;
    Ok(Connector::new(
        miro,
        ConnectorSettings {
            provisioning: settings.provisioning,
            deprovision: settings.deprovision_mode,
        },
    ))
}

/// A running daemon.
pub struct Daemon {
    pub addr: SocketAddr,
    pub health_addr: Option<SocketAddr>,
    pub metrics_addr: Option<SocketAddr>,
    reporter: Reporter,
    stop: watch::Sender<bool>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    readiness: JoinHandle<()>,
    grace: Duration,
}

/// Accepted connections with Nagle's algorithm off: a unary answer is several small HTTP/2 frames.
fn incoming(
    listener: TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use futures::StreamExt;
    TcpListenerStream::new(listener).map(|s| s.and_then(|s| s.set_nodelay(true).map(|()| s)))
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

fn read_pem(setting: &'static str, path: &std::path::Path) -> Result<Vec<u8>, ServeError> {
    std::fs::read(path).map_err(|e| ServeError::Tls {
        setting,
        why: format!("cannot read {}: {e}", path.display()),
    })
}

/// Bind the configured listeners and start serving.
pub async fn start(settings: &Settings) -> Result<Daemon, ServeError> {
    let listener = bind(settings.listen).await?;
    start_on(settings, listener, Arc::new(connector(settings)?)).await
}

pub async fn start_on(
    settings: &Settings,
    listener: TcpListener,
    connector: Arc<Connector>,
) -> Result<Daemon, ServeError> {
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: settings.listen,
        source,
    })?;
    let reporter = Reporter::default();
    reporter.set("liveness", ServingStatus::Serving).await;
    set_all(&reporter, ServingStatus::NotServing).await;
    let (stop, stop_rx) = watch::channel(false);
    let health = reporter.service(stop_rx.clone());

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServeError::Setup(format!("reflection: {e}")))?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| ServeError::Setup(format!("reflection: {e}")))?;

    let mut builder = Server::builder().timeout(settings.rpc_timeout);
    if let Some(tls) = &settings.tls {
        let identity = Identity::from_pem(
            read_pem("tls_cert", &tls.cert)?,
            read_pem("tls_key", &tls.key)?,
        );
        let mut config = ServerTlsConfig::new().identity(identity);
        if let Some(ca) = &tls.client_ca {
            // Client certificates are then required and verified against this CA.
            config = config.client_ca_root(Certificate::from_pem(read_pem("tls_client_ca", ca)?));
        }
        builder = builder.tls_config(config).map_err(|e| ServeError::Tls {
            setting: "tls_cert",
            why: e.to_string(),
        })?;
    }
    let max = settings.max_request_bytes;
    let c = connector.clone();
    macro_rules! svc {
        ($server:ty) => {
            <$server>::from_arc(c.clone()).max_decoding_message_size(max)
        };
    }
    let router = builder
        .layer(RpcLogLayer)
        .add_service(health.clone())
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(svc!(
            pb::connector_service_server::ConnectorServiceServer<Connector>
        ))
        .add_service(svc!(
            pb::resource_types_service_server::ResourceTypesServiceServer<Connector>
        ))
        .add_service(svc!(
            pb::resources_service_server::ResourcesServiceServer<Connector>
        ))
        .add_service(svc!(
            pb::resource_getter_service_server::ResourceGetterServiceServer<Connector>
        ))
        .add_service(svc!(
            pb::entitlements_service_server::EntitlementsServiceServer<Connector>
        ))
        .add_service(svc!(
            pb::grants_service_server::GrantsServiceServer<Connector>
        ))
        .add_service(svc!(
            pb::grant_manager_service_server::GrantManagerServiceServer<Connector>
        ))
        .add_service(svc!(
            pb::account_manager_service_server::AccountManagerServiceServer<Connector>
        ))
        .add_service(svc!(
            pb::resource_manager_service_server::ResourceManagerServiceServer<Connector>
        ))
        .add_service(svc!(
            pb::resource_deleter_service_server::ResourceDeleterServiceServer<Connector>
        ));
    let server = tokio::spawn(
        router.serve_with_incoming_shutdown(incoming(listener), stopped(stop_rx.clone())),
    );

    let health_addr = match settings.health_listen {
        Some(a) => {
            let l = bind(a).await?;
            let local = l.local_addr().ok();
            let rx = stop_rx.clone();
            tokio::spawn(async move {
                let r = Server::builder()
                    .add_service(health)
                    .serve_with_incoming_shutdown(incoming(l), stopped(rx))
                    .await;
                if let Err(e) = r {
                    tracing::error!(error = %e, "health listener failed");
                }
            });
            local
        }
        None => None,
    };
    let metrics_addr = match settings.metrics_listen {
        Some(a) => Some(
            crate::telemetry::serve_metrics(bind(a).await?, stopped(stop_rx.clone()))
                .await
                .map_err(|source| ServeError::Bind { addr: a, source })?,
        ),
        None => None,
    };
    let readiness = tokio::spawn(readiness(connector, reporter.clone()));
    tracing::info!(%addr, tls = settings.tls.is_some(), mtls = settings.tls.as_ref().is_some_and(|t| t.client_ca.is_some()),
        provisioning = settings.provisioning, "serving c1.connector.v2");
    Ok(Daemon {
        addr,
        health_addr,
        metrics_addr,
        reporter,
        stop,
        server,
        readiness,
        grace: settings.shutdown_grace,
    })
}

async fn set_all(reporter: &Reporter, status: ServingStatus) {
    reporter.set("", status).await;
    for s in SERVICES {
        reporter.set(s, status).await;
    }
}

/// Ready once Miro accepts the credentials. Unreachable Miro: retry with backoff. Rejected token:
/// say so once and stay NOT_SERVING.
async fn readiness(connector: Arc<Connector>, reporter: Reporter) {
    let mut delay = Duration::from_millis(500);
    loop {
        match connector.check_credentials().await {
            Ok(()) => {
                set_all(&reporter, ServingStatus::Serving).await;
                tracing::info!("Miro accepted the credentials; ready");
                return;
            }
            Err(ConnectorError::Miro(e)) if matches!(e.status(), Some(400 | 401 | 403)) => {
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

impl Daemon {
    /// Stop: health turns NOT_SERVING, no new RPCs are accepted, in-flight ones get the grace period.
    /// `true` if everything finished within it.
    pub async fn shutdown(self) -> bool {
        self.readiness.abort();
        set_all(&self.reporter, ServingStatus::NotServing).await;
        self.reporter
            .set("liveness", ServingStatus::NotServing)
            .await;
        let _ = self.stop.send(true);
        match tokio::time::timeout(self.grace, self.server).await {
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
        }
    }
}

/// One log line and metrics per RPC: method, duration, gRPC code.
#[derive(Clone, Copy)]
struct RpcLogLayer;

impl<S> tower::Layer<S> for RpcLogLayer {
    type Service = RpcLog<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RpcLog { inner }
    }
}

#[derive(Clone)]
struct RpcLog<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, RB> tower::Service<http::Request<B>> for RpcLog<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let method = req.uri().path().to_string();
        let started = Instant::now();
        Box::pin(async move {
            let result = inner.call(req).await;
            let elapsed = started.elapsed();
            // An error answer is trailers-only, so its grpc-status is in the headers.
            let code = match &result {
                Ok(r) => r
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .unwrap_or(0),
                Err(_) => tonic::Code::Unknown as i32,
            };
            let code_name = format!("{:?}", tonic::Code::from_i32(code));
            if !method.starts_with("/grpc.health") {
                tracing::info!(target: "rpc", method = %method, duration_ms = elapsed.as_secs_f64() * 1000.0, code = %code_name, "rpc");
            }
            metrics::counter!("grpc_server_handled_total", "method" => method.clone(), "code" => code_name.clone()).increment(1);
            metrics::histogram!("grpc_server_handling_seconds", "method" => method)
                .record(elapsed.as_secs_f64());
            result
        })
    }
}
