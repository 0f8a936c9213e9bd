//! Command-line parsing shared by both binaries: only `--listen ADDR` (and `--help`).
//! Hand-rolled because two flags do not justify an argument-parser dependency.

use std::net::SocketAddr;

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Args {
    Run { listen: SocketAddr },
    Help,
}

/// Parses `args` (without the program name). The address comes from `--listen`, else
/// from the environment variable `env_name`, else `default`.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    env_value: Option<String>,
    default: &str,
) -> Result<Args, String> {
    let mut listen: Option<String> = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Args::Help),
            "--listen" => {
                listen = Some(
                    it.next()
                        .ok_or("--listen needs an address, e.g. 127.0.0.1:8082")?,
                )
            }
            other => match other.strip_prefix("--listen=") {
                Some(v) => listen = Some(v.to_owned()),
                None => return Err(format!("unknown argument {other:?}")),
            },
        }
    }
    let raw = listen.or(env_value).unwrap_or_else(|| default.to_owned());
    let listen = raw
        .parse::<SocketAddr>()
        .map_err(|_| format!("--listen: {raw:?} is not an IP:PORT address"))?;
    Ok(Args::Run { listen })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(addr: &str) -> Args {
        Args::Run {
            listen: addr.parse().unwrap(),
        }
    }

    #[test]
    fn flag_beats_env_beats_default() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse(
                a(&["--listen", "127.0.0.1:1"]),
                Some("127.0.0.1:2".into()),
                "127.0.0.1:3"
            ),
            Ok(run("127.0.0.1:1"))
        );
        assert_eq!(
            parse(a(&["--listen=127.0.0.1:4"]), None, "127.0.0.1:3"),
            Ok(run("127.0.0.1:4"))
        );
        assert_eq!(
            parse(a(&[]), Some("127.0.0.1:2".into()), "127.0.0.1:3"),
            Ok(run("127.0.0.1:2"))
        );
        assert_eq!(parse(a(&[]), None, "127.0.0.1:3"), Ok(run("127.0.0.1:3")));
        assert_eq!(parse(a(&["--help"]), None, "127.0.0.1:3"), Ok(Args::Help));
        assert!(parse(a(&["--listen"]), None, "127.0.0.1:3").is_err());
        assert!(parse(a(&["--listen", "localhost"]), None, "127.0.0.1:3").is_err());
        assert!(parse(a(&["--port", "1"]), None, "127.0.0.1:3").is_err());
    }
}
