//! `sub-manager`: the LWAMS on-premise agent. This release validates its configuration;
//! connecting to the server and running jobs arrive with the agent issue (#5).

mod config;

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let path = match (args.next().as_deref(), args.next()) {
        (Some("--config"), Some(p)) => p,
        (Some("--version"), _) => {
            println!("sub-manager {}", env!("CARGO_PKG_VERSION"));
            return std::process::ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("usage: sub-manager --config sub-manager.json");
            return std::process::ExitCode::from(2);
        }
    };
    match config::AgentConfig::load(&path) {
        Ok(c) => {
            println!(
                "configuration ok: company {} → server {}:{}, local page on {}:{}",
                c.company_code, c.server_host, c.server_port, c.http_host, c.http_port
            );
            eprintln!("sub-manager: connecting to the server is not part of this release yet (see issue 5)");
            std::process::ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("sub-manager: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
