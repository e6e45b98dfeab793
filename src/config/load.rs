//! Layering and checking. The environment is passed in, so tests never touch the process's.
use std::{collections::HashMap, path::Path};

use config::{Config, Environment, File, FileFormat};
use secrecy::ExposeSecret;

use super::{
    args::{KEYS, Settings, SettingsArgs},
    types::{Tls, Token},
};

const PREFIX: &str = "MIRO_CONNECTOR_";

/// An invalid setting: which one, and why. Shown as one line; the process exits with code 2.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting}: {why}")]
pub struct SettingError {
    pub setting: String,
    pub why: String,
}

fn invalid(setting: &str, why: impl std::fmt::Display) -> SettingError {
    SettingError {
        setting: setting.into(),
        why: one_line(&why.to_string()),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The file's own checks: TOML syntax, with the line, and no key this program does not know.
fn check_file(path: &Path, text: &str) -> Result<(), SettingError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| {
                text.as_bytes()[..s.start.min(text.len())]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1
            })
            .unwrap_or(1);
        invalid(
            "config",
            format!("{} line {line}: {}", path.display(), e.message()),
        )
    })?;
    match table.keys().find(|k| !KEYS.contains(&k.as_str())) {
        Some(k) => Err(invalid(
            k,
            format!(
                "unknown key in {}; the keys are {}",
                path.display(),
                KEYS.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// `MIRO_CONNECTOR_<KEY>` for every known key, and the documented unprefixed token variables,
/// which win over their prefixed forms. Other `MIRO_CONNECTOR_*` variables are ignored: Kubernetes
/// sets `<SERVICE>_PORT` and the like for a Service of the same name.
fn env_layer(env: &HashMap<String, String>) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = KEYS
        .iter()
        .map(|k| format!("{PREFIX}{}", k.to_ascii_uppercase()))
        .filter_map(|var| env.get(&var).map(|v| (var, v.clone())))
        .collect();
    for var in ["MIRO_ACCESS_TOKEN", "MIRO_SCIM_TOKEN"] {
        if let Some(v) = env.get(var).filter(|v| !v.is_empty()) {
            out.insert(format!("{PREFIX}{var}"), v.clone());
        }
    }
    out
}

impl Settings {
    /// Load from the layers; `env` is the process environment (or a test's own map).
    pub fn load(args: &SettingsArgs, env: &HashMap<String, String>) -> Result<Self, SettingError> {
        let mut b = Config::builder();
        if let Some(path) = &args.config {
            let text = std::fs::read_to_string(path)
                .map_err(|e| invalid("config", format!("cannot read {}: {e}", path.display())))?;
            check_file(path, &text)?;
            b = b.add_source(File::from_str(&text, FileFormat::Toml));
        }
        b = b.add_source(Environment::with_prefix("MIRO_CONNECTOR").source(Some(env_layer(env))));
        b = b.add_source(Config::try_from(args).map_err(|e| invalid("flags", e))?);
        let layered = b.build().map_err(|e| invalid("config", e))?;
        let mut s: Settings = serde_path_to_error::deserialize(layered).map_err(|e| {
            let setting = e.path().to_string();
            invalid(&setting, e.into_inner())
        })?;
        s.miro_access_token = token(
            "miro_access_token",
            s.miro_access_token.take(),
            s.miro_access_token_file.as_deref(),
        )?;
        if s.miro_access_token.is_none() {
            return Err(invalid(
                "miro_access_token",
                "required: set MIRO_ACCESS_TOKEN, --miro-access-token-file or miro_access_token_file",
            ));
        }
        s.miro_scim_token = token(
            "miro_scim_token",
            s.miro_scim_token.take(),
            s.miro_scim_token_file.as_deref(),
        )?;
        s.check()?;
        Ok(s)
    }

    /// TLS when its files are set; `check` has made sure they come in valid combinations.
    pub fn tls(&self) -> Option<Tls> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(Tls {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: self.tls_client_ca.clone(),
            }),
            _ => None,
        }
    }

    fn check(&self) -> Result<(), SettingError> {
        match (&self.tls_cert, &self.tls_key, &self.tls_client_ca) {
            (Some(_), Some(_), _) | (None, None, None) => {}
            (None, None, Some(_)) => {
                return Err(invalid(
                    "tls_client_ca",
                    "mutual TLS needs tls_cert and tls_key too",
                ));
            }
            (Some(_), None, _) => return Err(invalid("tls_key", "tls_cert needs tls_key too")),
            (None, Some(_), _) => return Err(invalid("tls_cert", "tls_key needs tls_cert too")),
        }
        for (key, u) in [
            ("miro_api_url", &self.miro_api_url),
            ("miro_scim_url", &self.miro_scim_url),
        ] {
            if !matches!(u.scheme(), "http" | "https") || u.cannot_be_a_base() {
                return Err(invalid(key, format!("{u} must be an http or https URL")));
            }
        }
        if self.miro_max_concurrency == 0 {
            return Err(invalid("miro_max_concurrency", "must be at least 1"));
        }
        if self.miro_max_attempts == 0 {
            return Err(invalid("miro_max_attempts", "must be at least 1"));
        }
        if self.content_classification && self.content == crate::connector::ContentMode::Off {
            return Err(invalid(
                "content_classification",
                "labels are read with boards: set content to sharing or members too",
            ));
        }
        if self.max_request_bytes < 1024 {
            return Err(invalid("max_request_bytes", "must be at least 1024"));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log_level).map_err(|e| {
            invalid(
                "log_level",
                format!(
                    "{:?} is not a level (error, warn, info, debug, trace) or a filter like info,miro_connector=debug: {e}",
                    crate::connector::ids::truncated(&self.log_level)
                ),
            )
        })?;
        Ok(())
    }
}

/// A token from its value or its file (trailing newline trimmed); never both.
fn token(
    key: &str,
    value: Option<Token>,
    file: Option<&Path>,
) -> Result<Option<Token>, SettingError> {
    let value = value.filter(|v| !v.secret().expose_secret().is_empty());
    let v = match (value, file) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                key,
                format!("set either the token or {key}_file, not both"),
            ));
        }
        (Some(v), None) => v,
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                invalid(
                    &format!("{key}_file"),
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            Token::from(text.trim_end_matches(['\n', '\r']))
        }
        (None, None) => return Ok(None),
    };
    let text = v.secret().expose_secret();
    if text.trim().is_empty() {
        return Err(invalid(key, "the token is empty"));
    }
    if text.chars().any(|c| c.is_control() || c == ' ') {
        return Err(invalid(
            key,
            "the token contains spaces or control characters",
        ));
    }
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use std::{collections::HashMap, time::Duration};

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The configuration reference names every setting, by flag and by file key.
    #[test]
    fn the_configuration_reference_documents_every_setting() {
        let reference = include_str!("../../docs/configuration.md");
        for key in KEYS {
            let row = format!("| `--{}", key.replace('_', "-"));
            assert!(
                reference.contains(&row),
                "docs/configuration.md: no row for --{key}"
            );
            assert!(
                reference.contains(&format!("| `{key}`")),
                "docs/configuration.md: no file key {key}"
            );
        }
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
        assert_eq!(*s.shutdown_grace, Duration::from_secs(20), "default");
        let e = env(&[
            ("MIRO_CONNECTOR_LISTEN", "127.0.0.1:1002"),
            ("MIRO_CONNECTOR_RPC_TIMEOUT", "6s"),
        ]);
        let s = Settings::load(&args, &e).unwrap();
        assert_eq!(s.listen.port(), 1002, "env beats file");
        assert_eq!(
            *s.miro_timeout,
            Duration::from_secs(7),
            "file beats default"
        );
        let args = SettingsArgs {
            listen: Some("127.0.0.1:1003".parse().unwrap()),
            ..args
        };
        let s = Settings::load(&args, &e).unwrap();
        assert_eq!(s.listen.port(), 1003, "flag beats env");
        assert_eq!(*s.rpc_timeout, Duration::from_secs(6));
        assert_eq!(
            s.miro_access_token.unwrap().secret().expose_secret(),
            "from-file"
        );
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
        assert_eq!(
            s.miro_access_token
                .as_ref()
                .unwrap()
                .secret()
                .expose_secret(),
            "access-secret-value"
        );
        assert_eq!(
            s.miro_scim_token.as_ref().unwrap().secret().expose_secret(),
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
        let token = [("MIRO_ACCESS_TOKEN", "t")];
        let cases: Vec<(&str, &str, &str)> = vec![
            ("MIRO_CONNECTOR_LISTEN", "nowhere", "listen"),
            ("MIRO_CONNECTOR_SHUTDOWN_GRACE", "soon", "shutdown_grace"),
            ("MIRO_CONNECTOR_MIRO_API_URL", "ftp://x", "miro_api_url"),
            (
                "MIRO_CONNECTOR_DEPROVISION_MODE",
                "shred",
                "deprovision_mode",
            ),
            ("MIRO_CONNECTOR_TLS_CERT", "c.pem", "tls_key"),
            ("MIRO_CONNECTOR_PROVISIONING", "maybe", "provisioning"),
            ("MIRO_CONNECTOR_LOG_LEVEL", "!!!=[[[", "log_level"),
            ("MIRO_CONNECTOR_MIRO_MAX_ATTEMPTS", "0", "miro_max_attempts"),
        ];
        for (var, value, setting) in cases {
            let e = env(&[token[0], (var, value)]);
            let err = Settings::load(&SettingsArgs::default(), &e).unwrap_err();
            assert_eq!(err.setting, setting, "{var}={value}: {err}");
            assert!(!err.to_string().contains('\n'), "one line: {err}");
        }
        let err = Settings::load(&SettingsArgs::default(), &env(&[])).unwrap_err();
        assert_eq!(err.setting, "miro_access_token");
    }

    fn file(text: &str) -> (tempfile::NamedTempFile, SettingsArgs) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        write!(f, "{text}").unwrap();
        let args = SettingsArgs {
            config: Some(f.path().into()),
            ..Default::default()
        };
        (f, args)
    }

    #[test]
    fn the_file_is_checked_key_by_key() {
        let e = env(&[("MIRO_ACCESS_TOKEN", "t")]);
        let (_f, args) = file("listen = \"127.0.0.1:1\"\nlisten_adress = \"x\"\n");
        let err = Settings::load(&args, &e).unwrap_err();
        assert_eq!(err.setting, "listen_adress", "{err}");
        let (_f, args) = file("listen = \"127.0.0.1:1\"\n]\n");
        let err = Settings::load(&args, &e).unwrap_err();
        assert_eq!(err.setting, "config");
        assert!(err.why.contains("line 2"), "{err}");
        assert!(!err.to_string().contains('\n'), "one line: {err}");
        let (_f, args) = file("rpc_timeout = 5\n");
        let err = Settings::load(&args, &e).unwrap_err();
        assert_eq!(err.setting, "rpc_timeout", "{err}");
    }

    #[test]
    fn defaults_load_and_unrelated_variables_are_ignored() {
        // A Kubernetes Service named miro-connector sets these in every pod of its namespace.
        let e = env(&[
            ("MIRO_ACCESS_TOKEN", "t"),
            ("MIRO_CONNECTOR_PORT", "tcp://10.0.0.1:50051"),
            ("MIRO_CONNECTOR_SERVICE_HOST", "10.0.0.1"),
        ]);
        let s = Settings::load(&SettingsArgs::default(), &e).unwrap();
        assert_eq!(s.listen, "127.0.0.1:50051".parse().unwrap());
        assert_eq!(s.miro_api_url.as_str(), "https://api.miro.com/");
        assert_eq!(*s.rpc_timeout, Duration::from_secs(120));
        assert!(s.tls().is_none());
    }

    #[test]
    fn flag_tokens_are_secret_from_the_first_parse() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            s: SettingsArgs,
        }
        let cli = Cli::parse_from(["x", "--miro-access-token", "flag-secret-value"]);
        assert!(!format!("{:?}", cli.s).contains("flag-secret-value"));
        let s = Settings::load(&cli.s, &env(&[])).unwrap();
        assert_eq!(
            s.miro_access_token.unwrap().secret().expose_secret(),
            "flag-secret-value"
        );
    }
}
