//! `jwt-gate-check`: try a jwt-gate config and a token against the real
//! `.wasm`, offline. Prints one JSON object; exit 0 = the request would be
//! forwarded, 1 = answered locally, 2 = config rejected or usage error.
//!
//! `--lint FILE` reports every problem in a configuration (exit 0 = clean,
//! 1 = warnings only, 2 = errors); `--schema` prints its JSON Schema.

use std::process::ExitCode;

use serde::Serialize;
use wasm_test::check::{self, args, lint};

fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(args::Parsed::Run(args)) => args,
        Ok(args::Parsed::Lint { config, env }) => {
            return finish(lint::lint(&config, &env), lint::LintReport::exit_code)
        }
        Ok(args::Parsed::Schema) => {
            print!("{}", lint::schema_text());
            return ExitCode::SUCCESS;
        }
        Ok(args::Parsed::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("jwt-gate-check: {message}\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    finish(check::run(&args), check::Report::exit_code)
}

/// Prints `report` as one JSON object and exits with its code; 2 when it could not be made.
fn finish<R: Serialize>(report: anyhow::Result<R>, code: fn(&R) -> i32) -> ExitCode {
    match report {
        Ok(report) => match serde_json::to_string(&report) {
            Ok(json) => {
                println!("{json}");
                ExitCode::from(u8::try_from(code(&report)).unwrap_or(2))
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
