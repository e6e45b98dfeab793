//! One log line, one tracing span and metrics per RPC. The span (method, request id) wraps
//! everything the RPC does, so a Miro retry warning says which RPC it served. Metric labels are
//! methods this server knows, or `unknown`: a client cannot mint label values. A call to a method
//! no service here serves gets tonic's bare UNIMPLEMENTED; this adds the message that says what is
//! not supported and why (`connector::unserved`).
use std::{
    collections::HashSet,
    pin::Pin,
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Instant,
};

use prost::Message;
use tracing::Instrument;

/// Every `/package.Service/Method` path served here, from the descriptors the server registers.
fn known_methods() -> &'static HashSet<String> {
    static KNOWN: OnceLock<HashSet<String>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        [
            crate::pb::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ]
        .iter()
        .filter_map(|set| prost_types::FileDescriptorSet::decode(*set).ok())
        .flat_map(|set| set.file)
        .flat_map(|file| {
            let package = file.package().to_string();
            file.service.into_iter().flat_map(move |svc| {
                let prefix = format!("/{package}.{}/", svc.name());
                svc.method
                    .into_iter()
                    .map(move |m| format!("{prefix}{}", m.name()))
            })
        })
        .collect()
    })
}

fn method_label(path: &str) -> String {
    if known_methods().contains(path) {
        path.to_string()
    } else {
        "unknown".to_string()
    }
}

#[derive(Clone, Copy)]
pub(super) struct RpcLogLayer;

impl<S> tower::Layer<S> for RpcLogLayer {
    type Service = RpcLog<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RpcLog { inner }
    }
}

#[derive(Clone)]
pub(super) struct RpcLog<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

static REQUEST_ID: AtomicU64 = AtomicU64::new(1);

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
        let path = req.uri().path().to_string();
        let method = method_label(&path);
        let request_id = REQUEST_ID.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("rpc", method = %method, request_id);
        let started = Instant::now();
        Box::pin(
            async move {
                let mut result = inner.call(req).await;
                if let Ok(r) = &mut result {
                    explain_unimplemented(r, &path);
                }
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
                    tracing::info!(target: "rpc", duration_ms = elapsed.as_secs_f64() * 1000.0, code = %code_name, "rpc");
                }
                metrics::counter!("grpc_server_handled_total", "method" => method.clone(), "code" => code_name).increment(1);
                metrics::histogram!("grpc_server_handling_seconds", "method" => method)
                    .record(elapsed.as_secs_f64());
                result
            }
            .instrument(span),
        )
    }
}

/// A bare UNIMPLEMENTED (no message) gets one: what is not supported, and why.
fn explain_unimplemented<B>(r: &mut http::Response<B>, path: &str) {
    let h = r.headers();
    let bare = h.get("grpc-status").is_some_and(|v| v.as_bytes() == b"12")
        && h.get("grpc-message").is_none_or(|v| v.is_empty());
    if !bare {
        return;
    }
    // gRPC's message header is percent-encoded outside printable ASCII (and '%' itself).
    let message: String = crate::connector::unserved::why(path)
        .bytes()
        .map(|b| match b {
            b' '..=b'~' if b != b'%' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    if let Ok(v) = http::HeaderValue::from_str(&message) {
        r.headers_mut().insert("grpc-message", v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_known_methods_or_unknown() {
        assert_eq!(
            method_label("/c1.connector.v2.ResourcesService/ListResources"),
            "/c1.connector.v2.ResourcesService/ListResources"
        );
        assert_eq!(
            method_label("/grpc.health.v1.Health/Check"),
            "/grpc.health.v1.Health/Check"
        );
        assert_eq!(
            method_label("/c1.connector.v2.ResourcesService/Nope123"),
            "unknown"
        );
        assert_eq!(method_label("/../../etc/passwd"), "unknown");
    }
}
