//! Settings, layered: defaults < TOML file (`--config`) < environment (`MIRO_CONNECTOR_*`, plus
//! `MIRO_ACCESS_TOKEN` / `MIRO_SCIM_TOKEN`) < command-line flags. Tokens are secrets: redacted in
//! Debug output and never logged. The environment is passed in, so tests never touch the process's.
use std::{collections::HashMap, net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;
use config::{Config, Environment, File, FileFormat};
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::connector::DeprovisionMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON when stdout is not a terminal, text when it is.
    #[default]
    Auto,
    Json,
    Text,
}

/// Flags of `serve` (and of the commands that run the daemon in-process). Every flag also has a
/// file key and an environment variable; see the README's configuration reference.
#[derive(Debug, Clone, Default, Args)]
pub struct SettingsArgs {
    /// TOML settings file.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// gRPC listen address [default: 127.0.0.1:50051].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Plaintext, health-only gRPC listener (for Kubernetes probes when --listen uses TLS).
    #[arg(long, value_name = "ADDR")]
    pub health_listen: Option<String>,
    /// Prometheus metrics listener (HTTP, path /metrics).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Miro REST base URL [default: https://api.miro.com].
    #[arg(long, value_name = "URL")]
    pub miro_api_url: Option<String>,
    /// Miro SCIM base URL [default: https://miro.com/api/v1/scim].
    #[arg(long, value_name = "URL")]
    pub miro_scim_url: Option<String>,
    /// Miro OAuth access token (prefer MIRO_ACCESS_TOKEN or --miro-access-token-file).
    #[arg(long, value_name = "TOKEN")]
    pub miro_access_token: Option<String>,
    /// File holding the access token (a Kubernetes secret mount).
    #[arg(long, value_name = "PATH")]
    pub miro_access_token_file: Option<PathBuf>,
    /// Miro SCIM token (prefer MIRO_SCIM_TOKEN or --miro-scim-token-file).
    #[arg(long, value_name = "TOKEN")]
    pub miro_scim_token: Option<String>,
    /// File holding the SCIM token.
    #[arg(long, value_name = "PATH")]
    pub miro_scim_token_file: Option<PathBuf>,
    /// Allow writes to Miro (Grant, Revoke, CreateAccount, DeleteResource).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub provisioning: Option<bool>,
    /// What deprovisioning does: deactivate (default) or delete.
    #[arg(long, value_name = "MODE")]
    pub deprovision_mode: Option<String>,
    /// Server certificate (PEM) for TLS.
    #[arg(long, value_name = "PATH")]
    pub tls_cert: Option<PathBuf>,
    /// Server private key (PEM) for TLS.
    #[arg(long, value_name = "PATH")]
    pub tls_key: Option<PathBuf>,
    /// CA (PEM) that client certificates must chain to: turns on mutual TLS.
    #[arg(long, value_name = "PATH")]
    pub tls_client_ca: Option<PathBuf>,
    /// How long in-flight RPCs may run after SIGTERM [default: 20s].
    #[arg(long, value_name = "DURATION")]
    pub shutdown_grace: Option<String>,
    /// Deadline of one RPC [default: 120s].
    #[arg(long, value_name = "DURATION")]
    pub rpc_timeout: Option<String>,
    /// Largest accepted gRPC request in bytes [default: 4194304].
    #[arg(long, value_name = "BYTES")]
    pub max_request_bytes: Option<u64>,
    /// Timeout of one HTTP request to Miro [default: 30s].
    #[arg(long, value_name = "DURATION")]
    pub miro_timeout: Option<String>,
    /// Attempts per Miro request, retries included [default: 6].
    #[arg(long, value_name = "N")]
    pub miro_max_attempts: Option<u32>,
    /// Longest time spent retrying one Miro request [default: 120s].
    #[arg(long, value_name = "DURATION")]
    pub miro_max_retry_time: Option<String>,
    /// Log format: auto, json or text [default: auto].
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Log level or filter (RUST_LOG wins when set) [default: info].
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,
}

/// The raw layered values, before checking.
#[derive(Deserialize)]
struct Raw {
    listen: String,
    health_listen: Option<String>,
    metrics_listen: Option<String>,
    miro_api_url: String,
    miro_scim_url: String,
    miro_access_token: Option<String>,
    miro_access_token_file: Option<PathBuf>,
    miro_scim_token: Option<String>,
    miro_scim_token_file: Option<PathBuf>,
    provisioning: bool,
    deprovision_mode: String,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_client_ca: Option<PathBuf>,
    shutdown_grace: String,
    rpc_timeout: String,
    max_request_bytes: u64,
    miro_timeout: String,
    miro_max_attempts: u32,
    miro_max_retry_time: String,
    log_format: String,
    log_level: String,
}

#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

/// Checked settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub health_listen: Option<SocketAddr>,
    pub metrics_listen: Option<SocketAddr>,
    pub miro_api_url: Url,
    pub miro_scim_url: Url,
    pub miro_access_token: SecretString,
    pub miro_scim_token: Option<SecretString>,
    pub provisioning: bool,
    pub deprovision_mode: DeprovisionMode,
    pub tls: Option<Tls>,
    pub shutdown_grace: Duration,
    pub rpc_timeout: Duration,
    pub max_request_bytes: usize,
    pub miro_timeout: Duration,
    pub miro_max_attempts: u32,
    pub miro_max_retry_time: Duration,
    pub log_format: LogFormat,
    pub log_level: String,
}

/// An invalid setting: which one, and why. Shown as one line; the process exits with code 2.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting}: {why}")]
pub struct SettingError {
    pub setting: String,
    pub why: String,
}

fn invalid(setting: &str, why: impl Into<String>) -> SettingError {
    SettingError {
        setting: setting.into(),
        why: why.into(),
    }
}

const DEFAULTS: &[(&str, &str)] = &[
    ("listen", "127.0.0.1:50051"),
    ("miro_api_url", "https://api.miro.com"),
    ("miro_scim_url", "https://miro.com/api/v1/scim"),
    ("provisioning", "false"),
    ("deprovision_mode", "deactivate"),
    ("shutdown_grace", "20s"),
    ("rpc_timeout", "120s"),
    ("max_request_bytes", "4194304"),
    ("miro_timeout", "30s"),
    ("miro_max_attempts", "6"),
    ("miro_max_retry_time", "120s"),
    ("log_format", "auto"),
    ("log_level", "info"),
];

impl Settings {
    /// Load from the layers; `env` is the process environment (or a test's own map).
    pub fn load(args: &SettingsArgs, env: &HashMap<String, String>) -> Result<Self, SettingError> {
        let mut b = Config::builder();
        for (k, v) in DEFAULTS {
            b = b
                .set_default(*k, *v)
                .map_err(|e| invalid(k, e.to_string()))?;
        }
        if let Some(path) = &args.config {
            let text = std::fs::read_to_string(path)
                .map_err(|e| invalid("--config", format!("cannot read {}: {e}", path.display())))?;
            b = b.add_source(File::from_str(&text, FileFormat::Toml));
        }
        let prefixed: HashMap<String, String> = env
            .iter()
            .filter(|(k, _)| k.starts_with("MIRO_CONNECTOR_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        b = b.add_source(Environment::with_prefix("MIRO_CONNECTOR").source(Some(prefixed)));
        // The unprefixed token variables named in the docs win over the prefixed ones.
        for (var, key) in [
            ("MIRO_ACCESS_TOKEN", "miro_access_token"),
            ("MIRO_SCIM_TOKEN", "miro_scim_token"),
        ] {
            if let Some(v) = env.get(var).filter(|v| !v.is_empty()) {
                b = b
                    .set_override(key, v.as_str())
                    .map_err(|e| invalid(key, e.to_string()))?;
            }
        }
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        let flags: Vec<(&str, Option<String>)> = vec![
            ("listen", args.listen.clone()),
            ("health_listen", args.health_listen.clone()),
            ("metrics_listen", args.metrics_listen.clone()),
            ("miro_api_url", args.miro_api_url.clone()),
            ("miro_scim_url", args.miro_scim_url.clone()),
            ("miro_access_token", args.miro_access_token.clone()),
            ("miro_access_token_file", path(&args.miro_access_token_file)),
            ("miro_scim_token", args.miro_scim_token.clone()),
            ("miro_scim_token_file", path(&args.miro_scim_token_file)),
            ("provisioning", args.provisioning.map(|b| b.to_string())),
            ("deprovision_mode", args.deprovision_mode.clone()),
            ("tls_cert", path(&args.tls_cert)),
            ("tls_key", path(&args.tls_key)),
            ("tls_client_ca", path(&args.tls_client_ca)),
            ("shutdown_grace", args.shutdown_grace.clone()),
            ("rpc_timeout", args.rpc_timeout.clone()),
            (
                "max_request_bytes",
                args.max_request_bytes.map(|n| n.to_string()),
            ),
            ("miro_timeout", args.miro_timeout.clone()),
            (
                "miro_max_attempts",
                args.miro_max_attempts.map(|n| n.to_string()),
            ),
            ("miro_max_retry_time", args.miro_max_retry_time.clone()),
            ("log_format", args.log_format.clone()),
            ("log_level", args.log_level.clone()),
        ];
        for (k, v) in flags {
            if let Some(v) = v {
                b = b
                    .set_override(k, v)
                    .map_err(|e| invalid(k, e.to_string()))?;
            }
        }
        let raw: Raw = b
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| invalid(&setting_of(&e.to_string()), e.to_string()))?;
        raw.check()
    }
}

/// The key a `config` error is about, when it names one.
fn setting_of(message: &str) -> String {
    message
        .split('`')
        .nth(1)
        .map_or_else(|| "in the configuration".into(), String::from)
}

fn addr(key: &str, v: &str) -> Result<SocketAddr, SettingError> {
    v.parse().map_err(|_| {
        invalid(
            key,
            format!("{v:?} is not a socket address like 127.0.0.1:50051"),
        )
    })
}

fn duration(key: &str, v: &str) -> Result<Duration, SettingError> {
    humantime::parse_duration(v)
        .map_err(|e| invalid(key, format!("{v:?} is not a duration like 20s or 2m: {e}")))
}

fn http_url(key: &str, v: &str) -> Result<Url, SettingError> {
    let u = Url::parse(v).map_err(|e| invalid(key, format!("{v:?} is not a URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") || u.cannot_be_a_base() {
        return Err(invalid(key, format!("{v:?} must be an http or https URL")));
    }
    Ok(u)
}

/// A token from its value or its file (trailing newline trimmed); never both.
fn secret(
    key: &str,
    value: Option<String>,
    file: Option<PathBuf>,
) -> Result<Option<SecretString>, SettingError> {
    let v = match (value.filter(|v| !v.is_empty()), file) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                key,
                format!("set either the token or {key}_file, not both"),
            ));
        }
        (Some(v), None) => v,
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                invalid(
                    &format!("{key}_file"),
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            text.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, None) => return Ok(None),
    };
    if v.trim().is_empty() {
        return Err(invalid(key, "the token is empty"));
    }
    if v.chars().any(|c| c.is_control() || c == ' ') {
        return Err(invalid(
            key,
            "the token contains spaces or control characters",
        ));
    }
    Ok(Some(SecretString::from(v)))
}

impl Raw {
    fn check(self) -> Result<Settings, SettingError> {
        let tls = match (self.tls_cert, self.tls_key, self.tls_client_ca) {
            (Some(cert), Some(key), client_ca) => Some(Tls {
                cert,
                key,
                client_ca,
            }),
            (None, None, None) => None,
            (None, None, Some(_)) => {
                return Err(invalid(
                    "tls_client_ca",
                    "mutual TLS needs tls_cert and tls_key too",
                ));
            }
            _ => return Err(invalid("tls_cert", "tls_cert and tls_key go together")),
        };
        if self.miro_max_attempts == 0 {
            return Err(invalid("miro_max_attempts", "must be at least 1"));
        }
        if self.max_request_bytes < 1024 {
            return Err(invalid("max_request_bytes", "must be at least 1024"));
        }
        Ok(Settings {
            listen: addr("listen", &self.listen)?,
            health_listen: self.health_listen.as_deref().map(|v| addr("health_listen", v)).transpose()?,
            metrics_listen: self.metrics_listen.as_deref().map(|v| addr("metrics_listen", v)).transpose()?,
            miro_api_url: http_url("miro_api_url", &self.miro_api_url)?,
            miro_scim_url: http_url("miro_scim_url", &self.miro_scim_url)?,
            miro_access_token: secret("miro_access_token", self.miro_access_token, self.miro_access_token_file)?.ok_or_else(|| {
                invalid("miro_access_token", "required: set MIRO_ACCESS_TOKEN, --miro-access-token-file or miro_access_token_file")
            })?,
            miro_scim_token: secret("miro_scim_token", self.miro_scim_token, self.miro_scim_token_file)?,
            provisioning: self.provisioning,
            deprovision_mode: match self.deprovision_mode.as_str() {
                "deactivate" => DeprovisionMode::Deactivate,
                "delete" => DeprovisionMode::Delete,
                other => return Err(invalid("deprovision_mode", format!("{other:?} is not deactivate or delete"))),
            },
            tls,
            shutdown_grace: duration("shutdown_grace", &self.shutdown_grace)?,
            rpc_timeout: duration("rpc_timeout", &self.rpc_timeout)?,
            max_request_bytes: usize::try_from(self.max_request_bytes).unwrap_or(usize::MAX),
            miro_timeout: duration("miro_timeout", &self.miro_timeout)?,
            miro_max_attempts: self.miro_max_attempts,
            miro_max_retry_time: duration("miro_max_retry_time", &self.miro_max_retry_time)?,
            log_format: match self.log_format.as_str() {
                "auto" => LogFormat::Auto,
                "json" => LogFormat::Json,
                "text" => LogFormat::Text,
                other => return Err(invalid("log_format", format!("{other:?} is not auto, json or text"))),
            },
            log_level: self.log_level,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use secrecy::ExposeSecret;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn precedence_file_env_flag() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "listen = \"127.0.0.1:1001\"\nrpc_timeout = \"5s\"\nmiro_timeout = \"7s\"\nmiro_access_token = \"from-file\"").unwrap();
        let args = SettingsArgs {
            config: Some(f.path().into()),
            ..Default::default()
        };
        let s = Settings::load(&args, &env(&[])).unwrap();
        assert_eq!(s.listen.port(), 1001);
        assert_eq!(s.shutdown_grace, Duration::from_secs(20), "default");
        let e = env(&[
            ("MIRO_CONNECTOR_LISTEN", "127.0.0.1:1002"),
            ("MIRO_CONNECTOR_RPC_TIMEOUT", "6s"),
        ]);
        let s = Settings::load(&args, &e).unwrap();
        assert_eq!(s.listen.port(), 1002, "env beats file");
        assert_eq!(s.miro_timeout, Duration::from_secs(7), "file beats default");
        let args = SettingsArgs {
            listen: Some("127.0.0.1:1003".into()),
            ..args
        };
        let s = Settings::load(&args, &e).unwrap();
        assert_eq!(s.listen.port(), 1003, "flag beats env");
        assert_eq!(s.rpc_timeout, Duration::from_secs(6));
        assert_eq!(s.miro_access_token.expose_secret(), "from-file");
    }

    #[test]
    fn tokens_from_env_and_files_are_redacted() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "scim-secret-value").unwrap();
        let args = SettingsArgs {
            miro_scim_token_file: Some(f.path().into()),
            ..Default::default()
        };
        let s =
            Settings::load(&args, &env(&[("MIRO_ACCESS_TOKEN", "access-secret-value")])).unwrap();
        assert_eq!(s.miro_access_token.expose_secret(), "access-secret-value");
        assert_eq!(
            s.miro_scim_token.as_ref().unwrap().expose_secret(),
            "scim-secret-value",
            "newline trimmed"
        );
        let debug = format!("{s:?}");
        assert!(
            !debug.contains("access-secret-value") && !debug.contains("scim-secret-value"),
            "{debug}"
        );
    }

    #[test]
    fn invalid_settings_name_the_setting() {
        let e = env(&[("MIRO_ACCESS_TOKEN", "t")]);
        let cases: Vec<(SettingsArgs, &str)> = vec![
            (
                SettingsArgs {
                    listen: Some("nowhere".into()),
                    ..Default::default()
                },
                "listen",
            ),
            (
                SettingsArgs {
                    shutdown_grace: Some("soon".into()),
                    ..Default::default()
                },
                "shutdown_grace",
            ),
            (
                SettingsArgs {
                    miro_api_url: Some("ftp://x".into()),
                    ..Default::default()
                },
                "miro_api_url",
            ),
            (
                SettingsArgs {
                    deprovision_mode: Some("shred".into()),
                    ..Default::default()
                },
                "deprovision_mode",
            ),
            (
                SettingsArgs {
                    tls_cert: Some("c.pem".into()),
                    ..Default::default()
                },
                "tls_cert",
            ),
        ];
        for (args, setting) in cases {
            let err = Settings::load(&args, &e).unwrap_err();
            assert_eq!(err.setting, setting, "{err}");
        }
        let err = Settings::load(&SettingsArgs::default(), &env(&[])).unwrap_err();
        assert_eq!(err.setting, "miro_access_token");
        let err = Settings::load(
            &SettingsArgs::default(),
            &env(&[
                ("MIRO_ACCESS_TOKEN", "t"),
                ("MIRO_CONNECTOR_PROVISIONING", "maybe"),
            ]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("provisioning"), "{err}");
    }
}
