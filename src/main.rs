use std::process::ExitCode;

use miro_connector::cli;

#[tokio::main]
async fn main() -> ExitCode {
    match cli::parse() {
        Ok(c) => cli::run(c).await,
        Err(code) => code,
    }
}
