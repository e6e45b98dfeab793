//! The command line: `serve`, `simulate`, `demo`, `sync` and one-shot provisioning.
mod demo;
mod oneshot;
pub mod serve;
mod signal;
mod simulate;
mod sync;
mod target;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::SettingsArgs;

#[derive(Debug, Parser)]
#[command(
    name = "miro-connector",
    version,
    about = "A ConductorOne (baton) connector for Miro, served over c1.connector.v2 gRPC"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the connector daemon.
    Serve(Box<SettingsArgs>),
    /// Run the Miro simulator on its own.
    Simulate(simulate::SimulateArgs),
    /// Start the simulator with a sample organization and the daemon against it.
    Demo(demo::DemoArgs),
    /// Walk a full sync as the official client does; show progress, write a snapshot.
    Sync(Box<sync::SyncArgs>),
    /// Grant one entitlement to one user.
    Grant(Box<oneshot::GrantArgs>),
    /// Revoke one entitlement from one user.
    Revoke(Box<oneshot::GrantArgs>),
    /// Create a Miro account through SCIM.
    CreateAccount(Box<oneshot::CreateAccountArgs>),
    /// Deprovision a user (deactivate, or delete with --deprovision-mode delete).
    Delete(Box<oneshot::DeleteArgs>),
}

/// A failure to report in one line, with the exit code it means.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl std::fmt::Display) -> Self {
        Self {
            code: 2,
            message: message.to_string(),
        }
    }
    pub fn runtime(message: impl std::fmt::Display) -> Self {
        Self {
            code: 1,
            message: message.to_string(),
        }
    }
}

/// Print to stdout; a closed stdout (a reader that went away) must not stop a server.
pub(crate) fn say(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(text.as_bytes());
    let _ = std::io::stdout().flush();
}

/// The command line, or the exit a bad one earns: help and version print as clap prints them; a
/// usage error is one line and exit code 2, like an invalid setting.
pub fn parse() -> Result<Cli, ExitCode> {
    use clap::error::ErrorKind;
    Cli::try_parse().map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(if e.use_stderr() { 2 } else { 0 })
        }
        _ => {
            let text = e.render().to_string();
            let line = text.lines().next().unwrap_or("invalid command line");
            eprintln!("miro-connector: {}", line.trim_start_matches("error: "));
            ExitCode::from(2)
        }
    })
}

pub async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Serve(args) => serve::run(&args).await,
        Command::Simulate(args) => simulate::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Sync(args) => sync::run(*args).await,
        Command::Grant(args) => oneshot::grant(*args, false).await,
        Command::Revoke(args) => oneshot::grant(*args, true).await,
        Command::CreateAccount(args) => oneshot::create_account(*args).await,
        Command::Delete(args) => oneshot::delete(*args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("miro-connector: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
