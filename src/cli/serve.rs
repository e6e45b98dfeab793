//! `serve`: the daemon. This is where Miro's adapter and the connector are built from the
//! settings; the server is handed a ready service.
use std::sync::Arc;

use super::{Failure, signal};
use crate::{
    config::{Settings, SettingsArgs},
    connector::{Connector, ConnectorSettings, ContentScope, EventSettings},
    miro::{Miro, MiroSettings, RetryPolicy},
    server::{self, Daemon, ServeError},
    telemetry,
};

/// The connector the settings describe, with its Miro adapter.
pub fn connector(settings: &Settings) -> Result<Connector, ServeError> {
    let access_token = settings
        .miro_access_token
        .clone()
        .ok_or_else(|| ServeError::Setup("no Miro access token".into()))?;
    let miro = Miro::new(MiroSettings {
        api_url: settings.miro_api_url.clone(),
        scim_url: settings.miro_scim_url.clone(),
        access_token: access_token.into_secret(),
        scim_token: settings.miro_scim_token.clone().map(|t| t.into_secret()),
        timeout: *settings.miro_timeout,
        retry: RetryPolicy {
            max_attempts: settings.miro_max_attempts,
            max_elapsed: *settings.miro_max_retry_time,
            ..RetryPolicy::default()
        },
        max_concurrency: settings.miro_max_concurrency,
    })
    .map_err(|e| ServeError::Setup(e.to_string()))?;
    Ok(Connector::new(
        miro,
        ConnectorSettings {
            provisioning: settings.provisioning,
            deprovision: settings.deprovision_mode,
            content: ContentScope {
                mode: settings.content,
                // An empty allow-list is taken as unset, not as "no team".
                teams: settings
                    .content_teams
                    .clone()
                    .map(|t| t.0)
                    .filter(|t| !t.is_empty()),
                skip_teams: settings.content_skip_teams.0.clone(),
                classification: settings.content_classification,
            },
            rpc_timeout: *settings.rpc_timeout,
            read_ahead: settings.read_ahead,
            member_chains: settings.member_chains,
            events: EventSettings {
                on: settings.events,
                lag: *settings.events_lag,
            },
        },
    ))
}

/// Bind the configured address and serve the connector the settings describe.
pub async fn start(settings: &Settings) -> Result<Daemon, Failure> {
    let started = async {
        let listener = server::bind(settings.listen).await?;
        server::start_on(settings, listener, Arc::new(connector(settings)?)).await
    };
    started.await.map_err(Failure::from)
}

impl From<ServeError> for Failure {
    fn from(e: ServeError) -> Self {
        match e {
            ServeError::Setting(e) => Failure::usage(e),
            other => Failure::runtime(other),
        }
    }
}

pub async fn run(args: &SettingsArgs) -> Result<(), Failure> {
    let signals = signal::install();
    let env = std::env::vars().collect();
    let settings = Settings::load(args, &env).map_err(Failure::usage)?;
    telemetry::init_logging(settings.log_format, &settings.log_level);
    telemetry::metrics_handle();
    let daemon = start(&settings).await?;
    signals.first().await;
    if daemon.shutdown().await {
        tracing::info!("stopped cleanly");
        Ok(())
    } else {
        Err(Failure::runtime(
            "in-flight RPCs did not finish within the shutdown grace period",
        ))
    }
}
