//! The value types settings are parsed into: a secret token, a human duration, the log format.
use std::{fmt, path::PathBuf, str::FromStr, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A token, secret from the moment it is parsed: Debug shows `[REDACTED]`.
#[derive(Clone)]
pub struct Token(SecretString);

impl Token {
    pub fn secret(&self) -> &SecretString {
        &self.0
    }

    pub fn into_secret(self) -> SecretString {
        self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([REDACTED])")
    }
}

impl FromStr for Token {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(SecretString::from(s)))
    }
}

impl From<&str> for Token {
    fn from(s: &str) -> Self {
        Self(SecretString::from(s))
    }
}

/// Only to hand the flag layer to the layering in memory; nothing serializes settings elsewhere.
impl Serialize for Token {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose_secret())
    }
}

impl<'de> Deserialize<'de> for Token {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SecretString::deserialize(d).map(Self)
    }
}

/// A duration written as people write them: `20s`, `2m`, `1h 30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl Span {
    pub const fn secs(s: u64) -> Self {
        Self(Duration::from_secs(s))
    }
}

impl std::ops::Deref for Span {
    type Target = Duration;
    fn deref(&self) -> &Duration {
        &self.0
    }
}

impl FromStr for Span {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s)
            .map(Self)
            .map_err(|e| format!("{s:?} is not a duration like 20s or 2m: {e}"))
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        humantime_serde::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        humantime_serde::deserialize(d).map(Self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON when stdout is not a terminal, text when it is.
    #[default]
    Auto,
    Json,
    Text,
}

/// The TLS files, once the settings are checked: a certificate and key, and mutual TLS's CA.
#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

/// A list of Miro team ids, written `1,2,3` (a flag or a variable) or as a list (the file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamIds(pub std::collections::BTreeSet<String>);

impl FromStr for TeamIds {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| {
                crate::connector::ids::miro_id("team id", id)
                    .map(str::to_string)
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl Serialize for TeamIds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.iter().cloned().collect::<Vec<_>>().join(","))
    }
}

impl<'de> Deserialize<'de> for TeamIds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            List(Vec<String>),
        }
        let text = match Either::deserialize(d)? {
            Either::Text(t) => t,
            Either::List(l) => l.join(","),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}
