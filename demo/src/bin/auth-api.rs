//! `auth-api [--listen 127.0.0.1:8082]` — see `demo/README.md`.

use std::process::ExitCode;

use demo::auth::{config, router, AppState};
use demo::common::{args, server};

const USAGE: &str =
    "usage: auth-api [--listen IP:PORT]   (default 127.0.0.1:8082, env AUTH_API_LISTEN)
env: DEMO_DB (SQLite file, default .demo/users.db), DATABASE_URL (postgres://...),
     DEMO_SIGNING_KEY (P-256 PEM or its path), DEMO_ISSUER, DEMO_AUDIENCE,
     DEMO_TOKEN_TTL_S, DEMO_COOKIE_SECURE";

fn main() -> ExitCode {
    let listen = match args::parse(
        std::env::args().skip(1),
        std::env::var("AUTH_API_LISTEN").ok(),
        config::DEFAULT_LISTEN,
    ) {
        Ok(args::Args::Run { listen }) => listen,
        Ok(args::Args::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("auth-api: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match config::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("auth-api: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("auth-api: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let state = match AppState::init(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("auth-api: {e}");
                return ExitCode::FAILURE;
            }
        };
        match server::serve("auth-api", listen, router(state)).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("auth-api: {listen}: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
