//! `jwt-gate-check`: try a jwt-gate config and a token against the real
//! `.wasm`, offline. Prints one JSON object; exit 0 = the request would be
//! forwarded, 1 = answered locally, 2 = config rejected or usage error.

use std::process::ExitCode;

use wasm_test::check::{self, args};

fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args::Parsed::Run(args)) => args,
        Ok(args::Parsed::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("jwt-gate-check: {message}\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match check::run(&args) {
        Ok(report) => match serde_json::to_string(&report) {
            Ok(json) => {
                println!("{json}");
                ExitCode::from(u8::try_from(report.exit_code()).unwrap_or(2))
            }
            Err(e) => {
                eprintln!("jwt-gate-check: {e}");
                ExitCode::from(2)
            }
        },
        Err(e) => {
            eprintln!("jwt-gate-check: {e:#}");
            ExitCode::from(2)
        }
    }
}
