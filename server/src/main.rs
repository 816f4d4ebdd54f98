//! `lwams`: the LWAMS server binary.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = lwams_server::cli::Cli::parse();
    match lwams_server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lwams: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
