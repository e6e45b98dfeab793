//! Settings, layered: defaults < TOML file (`--config`) < environment (`MIRO_CONNECTOR_*`, plus
//! `MIRO_ACCESS_TOKEN` / `MIRO_SCIM_TOKEN`) < command-line flags. Every setting is declared once,
//! in `args.rs`: its flag, type, default and help; the file key and environment variable follow.
//! Tokens are secrets from the first parse: redacted in Debug output and never logged.
mod args;
mod load;
mod types;

pub use args::{KEYS, Settings, SettingsArgs};
pub use load::SettingError;
pub use types::{LogFormat, Span, TeamIds, Tls, Token};
