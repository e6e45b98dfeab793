//! Where the client commands send their RPCs: a running daemon (`--connect`) or one started
//! in-process from the usual settings.
use clap::Args;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use super::Failure;
use crate::{
    config::{Settings, SettingsArgs},
    server::Daemon,
};

#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// A running daemon (host:port, or http[s]://host:port); without it the daemon runs in-process
    /// with the settings below.
    #[arg(long, value_name = "ADDR")]
    pub connect: Option<String>,
    /// CA (PEM) that the daemon's certificate chains to: connect with TLS.
    #[arg(long, value_name = "PATH", requires = "connect")]
    pub connect_ca: Option<std::path::PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    #[arg(long, value_name = "PATH", requires = "connect_key")]
    pub connect_cert: Option<std::path::PathBuf>,
    /// Client key (PEM) for mutual TLS.
    #[arg(long, value_name = "PATH", requires = "connect_cert")]
    pub connect_key: Option<std::path::PathBuf>,
    /// Name to verify the daemon's certificate against [default: the host of --connect].
    #[arg(long, value_name = "NAME")]
    pub connect_domain: Option<String>,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// A channel, and the in-process daemon behind it when there is one.
pub(super) struct Target {
    pub channel: Channel,
    daemon: Option<Daemon>,
}

impl Target {
    pub(super) async fn close(self) {
        if let Some(d) = self.daemon {
            d.shutdown().await;
        }
    }
}

fn read(path: &std::path::Path, what: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::usage(format!("{what} {}: {e}", path.display())))
}

pub(super) async fn open(args: &ConnectArgs) -> Result<Target, Failure> {
    match &args.connect {
        Some(addr) => {
            let tls = args.connect_ca.is_some() || addr.starts_with("https://");
            let url = if addr.contains("://") {
                addr.clone()
            } else {
                format!("{}://{addr}", if tls { "https" } else { "http" })
            };
            let mut endpoint = Channel::from_shared(url.clone())
                .map_err(|e| Failure::usage(format!("--connect {addr:?}: {e}")))?;
            if tls {
                let mut cfg = ClientTlsConfig::new().with_enabled_roots();
                if let Some(ca) = &args.connect_ca {
                    cfg = cfg.ca_certificate(Certificate::from_pem(read(ca, "--connect-ca")?));
                }
                if let (Some(c), Some(k)) = (&args.connect_cert, &args.connect_key) {
                    cfg = cfg.identity(Identity::from_pem(
                        read(c, "--connect-cert")?,
                        read(k, "--connect-key")?,
                    ));
                }
                if let Some(d) = &args.connect_domain {
                    cfg = cfg.domain_name(d.clone());
                }
                endpoint = endpoint
                    .tls_config(cfg)
                    .map_err(|e| Failure::usage(format!("TLS for {addr}: {e}")))?;
            }
            let channel = endpoint.connect().await.map_err(|e| {
                Failure::runtime(format!(
                    "cannot connect to the daemon at {addr}: {}",
                    chain(&e)
                ))
            })?;
            // gRPC reports a refused client certificate only as a transport error: ask TLS itself.
            if tls && args.connect_cert.is_none() {
                let host = url.trim_start_matches("https://").to_string();
                let (ca, domain) = (args.connect_ca.clone(), args.connect_domain.clone());
                let probe = tokio::task::spawn_blocking(move || {
                    wants_client_cert(&host, ca.as_deref(), domain)
                });
                if probe.await.unwrap_or(false) {
                    return Err(Failure::runtime(format!(
                        "the daemon at {addr} asks for a client certificate (mutual TLS): pass --connect-cert and --connect-key"
                    )));
                }
            }
            Ok(Target {
                channel,
                daemon: None,
            })
        }
        None => {
            let mut settings_args = args.settings.clone();
            settings_args.listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
            let env = std::env::vars().collect();
            let settings = Settings::load(&settings_args, &env).map_err(Failure::usage)?;
            let daemon = super::serve::start(&settings).await?;
            let channel = Channel::from_shared(format!("http://{}", daemon.addr))
                .map_err(Failure::runtime)?
                .connect()
                .await
                .map_err(|e| Failure::runtime(chain(&e)))?;
            Ok(Target {
                channel,
                daemon: Some(daemon),
            })
        }
    }
}

/// Whether a TLS handshake with `host` ends in the server's "certificate required" alert.
fn wants_client_cert(host: &str, ca: Option<&std::path::Path>, domain: Option<String>) -> bool {
    use std::io::{Read, Write};

    use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = ca.and_then(|p| std::fs::read(p).ok()) {
        for cert in CertificateDer::pem_slice_iter(&ca).flatten() {
            let _ = roots.add(cert);
        }
    }
    let Ok(config) = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map(|b| b.with_root_certificates(roots).with_no_client_auth()) else {
        return false;
    };
    let name = domain.unwrap_or_else(|| {
        host.rsplit_once(':')
            .map_or(host, |(h, _)| h)
            .trim_matches(['[', ']'])
            .to_string()
    });
    let (Ok(server), Ok(mut tcp)) = (
        ServerName::try_from(name),
        std::net::TcpStream::connect(host),
    ) else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let Ok(mut conn) = rustls::ClientConnection::new(std::sync::Arc::new(config), server) else {
        return false;
    };
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    // HTTP/2's preface makes the server read, and so send its verdict on the missing certificate.
    let _ = tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    let mut buf = [0u8; 64];
    match tls.read(&mut buf) {
        Err(e) => format!("{e:?}")
            .to_ascii_lowercase()
            .contains("certificaterequired"),
        // Any bytes, or none: the server let us in.
        Ok(_n) => false,
    }
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

/// A gRPC error as one line a person can act on.
pub(super) fn rpc_failure(what: &str, s: tonic::Status) -> Failure {
    let hint = match s.code() {
        tonic::Code::Unauthenticated => " (check the Miro access or SCIM token)",
        tonic::Code::Unavailable => {
            " (Miro or the daemon is unreachable or rate limited; try again)"
        }
        _ => "",
    };
    Failure::runtime(format!("{what}: {:?}: {}{hint}", s.code(), s.message()))
}
