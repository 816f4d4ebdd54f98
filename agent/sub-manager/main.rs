//! `sub-manager --config sub-manager.json`: connects to the LWAMS server and runs the
//! tasks it is given until stopped (`--help`, `--version`: `agent::cli`).

use agent::cli;
use agent::config::AgentConfig;
use agent::link::Agent;

fn main() -> std::process::ExitCode {
    let path = match cli::parse(std::env::args().skip(1)) {
        Ok(cli::Command::Run { config }) => config,
        Ok(cli::Command::Help) => {
            print!("{}", cli::usage());
            return std::process::ExitCode::SUCCESS;
        }
        Ok(cli::Command::Version) => {
            println!("{}", cli::version_line());
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sub-manager: {e}\n\n{}", cli::usage());
            return std::process::ExitCode::from(2);
        }
    };
    let config = match AgentConfig::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sub-manager: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    // known_hosts lives beside the configuration file.
    let known_hosts = std::path::Path::new(&path)
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("known_hosts");
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sub-manager: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let agent = Agent::new(config, known_hosts);
        // The local page (http.port 0: none).
        if agent.config.http_port != 0 {
            tokio::spawn(agent::page::serve(agent.clone()));
        }
        tokio::select! {
            _ = agent.run_forever() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    });
    std::process::ExitCode::SUCCESS
}
