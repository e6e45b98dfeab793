use super::{Failure, signal};
use crate::{
    config::{Settings, SettingsArgs},
    server, telemetry,
};

pub async fn run(args: &SettingsArgs) -> Result<(), Failure> {
    let signals = signal::install();
    let env = std::env::vars().collect();
    let settings = Settings::load(args, &env).map_err(Failure::usage)?;
    telemetry::init_logging(settings.log_format, &settings.log_level);
    telemetry::metrics_handle();
    let daemon = server::start(&settings).await.map_err(Failure::runtime)?;
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
