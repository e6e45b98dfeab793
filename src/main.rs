use std::process::ExitCode;

use clap::Parser;
use miro_connector::cli::{Cli, run};

#[tokio::main]
async fn main() -> ExitCode {
    run(Cli::parse()).await
}
