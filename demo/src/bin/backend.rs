//! `backend [--listen 127.0.0.1:8081]` — see `demo/README.md`.

use std::process::ExitCode;

use demo::backend::{router, DEFAULT_LISTEN};
use demo::common::{args, server};

const USAGE: &str =
    "usage: backend [--listen IP:PORT]   (default 127.0.0.1:8081, env BACKEND_LISTEN)";

fn main() -> ExitCode {
    let listen = match args::parse(
        std::env::args().skip(1),
        std::env::var("BACKEND_LISTEN").ok(),
        DEFAULT_LISTEN,
    ) {
        Ok(args::Args::Run { listen }) => listen,
        Ok(args::Args::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("backend: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("backend: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server::serve("backend", listen, router())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("backend: {listen}: {e}");
            ExitCode::FAILURE
        }
    }
}
