//! The one declaration of every setting. The macro makes two structs from it: `SettingsArgs`, the
//! command-line layer (every field optional, so an unset flag does not hide the file or the
//! environment), and `Settings`, the typed result with its defaults. The file key and the
//! environment variable (`MIRO_CONNECTOR_` + the key upper-cased) are the field's name.
use std::{net::SocketAddr, path::PathBuf};

use url::Url;

use super::types::{LogFormat, Span, TeamIds, Token};
use crate::connector::{ContentMode, DeprovisionMode, MemberChains};

/// The type a setting has once loaded: a default makes it required, no default makes it optional.
macro_rules! loaded_type {
    ($ty:ty) => { Option<$ty> };
    ($ty:ty, $default:expr) => { $ty };
}

macro_rules! default_value {
    () => {
        None
    };
    ($default:expr) => {
        $default
    };
}

macro_rules! settings {
    ($(
        $(#[doc = $doc:literal])*
        #[arg($($arg:tt)*)]
        $name:ident: $ty:ty $(= $default:expr)?;
    )*) => {
        /// Flags of `serve` (and of the commands that run the daemon in-process).
        #[derive(Debug, Clone, Default, clap::Args, serde::Serialize)]
        pub struct SettingsArgs {
            /// TOML settings file.
            #[arg(long, value_name = "PATH")]
            #[serde(skip)]
            pub config: Option<PathBuf>,
            $(
                $(#[doc = $doc])*
                #[arg(long, $($arg)*)]
                #[serde(skip_serializing_if = "Option::is_none")]
                pub $name: Option<$ty>,
            )*
        }

        /// Checked settings.
        #[derive(Debug, Clone, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Settings {
            $( pub $name: loaded_type!($ty $(, $default)?), )*
        }

        impl Default for Settings {
            fn default() -> Self {
                Self { $( $name: default_value!($($default)?), )* }
            }
        }

        /// Every setting's file key.
        pub const KEYS: &[&str] = &[$(stringify!($name)),*];
    };
}

/// A built-in default; every literal below parses (the config tests load the defaults).
#[allow(clippy::expect_used)]
fn lit<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("a built-in default parses")
}

settings! {
    /// gRPC listen address [default: 127.0.0.1:50051].
    #[arg(value_name = "ADDR")]
    listen: SocketAddr = lit("127.0.0.1:50051");
    /// Plaintext, health-only gRPC listener (for Kubernetes probes when --listen uses TLS).
    #[arg(value_name = "ADDR")]
    health_listen: SocketAddr;
    /// Prometheus metrics listener (HTTP, path /metrics).
    #[arg(value_name = "ADDR")]
    metrics_listen: SocketAddr;
    /// Miro REST base URL [default: https://api.miro.com].
    #[arg(value_name = "URL")]
    miro_api_url: Url = lit("https://api.miro.com");
    /// Miro SCIM base URL [default: https://miro.com/api/v1/scim].
    #[arg(value_name = "URL")]
    miro_scim_url: Url = lit("https://miro.com/api/v1/scim");
    /// Miro OAuth access token (prefer MIRO_ACCESS_TOKEN or --miro-access-token-file).
    #[arg(value_name = "TOKEN")]
    miro_access_token: Token;
    /// File holding the access token (a Kubernetes secret mount).
    #[arg(value_name = "PATH")]
    miro_access_token_file: PathBuf;
    /// Miro SCIM token (prefer MIRO_SCIM_TOKEN or --miro-scim-token-file).
    #[arg(value_name = "TOKEN")]
    miro_scim_token: Token;
    /// File holding the SCIM token.
    #[arg(value_name = "PATH")]
    miro_scim_token_file: PathBuf;
    /// Allow writes to Miro (Grant, Revoke, CreateAccount, DeleteResource).
    #[arg(num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    provisioning: bool = false;
    /// What deprovisioning does: deactivate (default) or delete.
    #[arg(value_name = "MODE")]
    deprovision_mode: DeprovisionMode = DeprovisionMode::Deactivate;
    /// Boards and Spaces: off (default), sharing (policies, owners, team, org and group access) or
    /// members (sharing, and every board's and Space's direct members).
    #[arg(value_name = "MODE")]
    content: ContentMode = ContentMode::Off;
    /// Only these teams' boards and Spaces (comma-separated team ids).
    #[arg(value_name = "IDS")]
    content_teams: TeamIds;
    /// Never these teams' boards and Spaces (comma-separated team ids).
    #[arg(value_name = "IDS")]
    content_skip_teams: TeamIds = TeamIds::default();
    /// Read each board's classification label (Level 2 a board, when the organization classifies
    /// its boards); needs content sharing or members.
    #[arg(num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    content_classification: bool = false;
    /// Serve event feeds from Miro's audit log: usage (sign-ins, board openings) and changes
    /// (Enterprise; the token needs auditlogs:read).
    #[arg(num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    events: bool = false;
    /// How far behind now the event feeds read, so that events Miro writes late are not passed
    /// by [default: 60s].
    #[arg(value_name = "DURATION")]
    events_lag: Span = Span::secs(60);
    /// Server certificate (PEM) for TLS.
    #[arg(value_name = "PATH")]
    tls_cert: PathBuf;
    /// Server private key (PEM) for TLS.
    #[arg(value_name = "PATH")]
    tls_key: PathBuf;
    /// CA (PEM) that client certificates must chain to: turns on mutual TLS.
    #[arg(value_name = "PATH")]
    tls_client_ca: PathBuf;
    /// How long in-flight RPCs may run after SIGTERM [default: 20s].
    #[arg(value_name = "DURATION")]
    shutdown_grace: Span = Span::secs(20);
    /// Deadline of one RPC [default: 120s].
    #[arg(value_name = "DURATION")]
    rpc_timeout: Span = Span::secs(120);
    /// Largest accepted gRPC request in bytes [default: 4194304].
    #[arg(value_name = "BYTES")]
    max_request_bytes: usize = 4 << 20;
    /// Timeout of one HTTP request to Miro [default: 30s].
    #[arg(value_name = "DURATION")]
    miro_timeout: Span = Span::secs(30);
    /// Attempts per Miro request, retries included [default: 6].
    #[arg(value_name = "N")]
    miro_max_attempts: u32 = 6;
    /// Start the Miro requests a sync walk will make next before the client asks for them
    /// (bounded; see the docs on read-ahead) [default: true].
    #[arg(num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    read_ahead: bool = true;
    /// The member listing as one cursor chain per license, read at once: auto (when one chain
    /// would hold the sync below the budget's pace and the split costs at most 1% of the
    /// listing's requests), on or off [default: auto].
    #[arg(value_name = "MODE")]
    member_chains: MemberChains = MemberChains::Auto;
    /// Most requests to Miro in flight at once, REST and SCIM together; below it, the bound
    /// follows Miro's latency and budget [default: 32].
    #[arg(value_name = "N")]
    miro_max_concurrency: usize = 32;
    /// Longest time spent retrying one Miro request [default: 120s].
    #[arg(value_name = "DURATION")]
    miro_max_retry_time: Span = Span::secs(120);
    /// Log format: auto, json or text [default: auto].
    #[arg(value_name = "FORMAT")]
    log_format: LogFormat = LogFormat::Auto;
    /// Log level or filter (RUST_LOG wins when set) [default: info].
    #[arg(value_name = "FILTER")]
    log_level: String = "info".into();
}
