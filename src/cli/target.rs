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
