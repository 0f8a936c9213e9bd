//! Hand-written argument parser for `jwt-gate-check` (the interface is small
//! and fixed; a parser crate would cost more build time than it saves).

use std::path::PathBuf;

pub const USAGE: &str = "usage: jwt-gate-check --config FILE [--wasm FILE] [--now UNIX_SECONDS] \
[--env NAME=VALUE]... [--method M] [--path P] [--header 'Name: value']... [--token JWT]
       jwt-gate-check --lint FILE [--env NAME=VALUE]...
       jwt-gate-check --schema";

/// What one `jwt-gate-check` run should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub config: PathBuf,
    /// `None` = the workspace's release artifact.
    pub wasm: Option<PathBuf>,
    /// `None` = real time.
    pub now: Option<u64>,
    pub env: Vec<(String, String)>,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub token: Option<String>,
}

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(Args),
    /// `--lint FILE`: every problem in a configuration (`env` for `secret_env`/`pem_env`).
    Lint {
        config: PathBuf,
        env: Vec<(String, String)>,
    },
    /// `--schema`: print the configuration's JSON Schema.
    Schema,
    Help,
}

/// Parses the arguments after the program name. Accepts `--flag value`
/// and `--flag=value`.
pub fn parse<I: IntoIterator<Item = String>>(argv: I) -> Result<Parsed, String> {
    let mut args = Args {
        config: PathBuf::new(),
        wasm: None,
        now: None,
        env: Vec::new(),
        method: "GET".into(),
        path: "/".into(),
        headers: Vec::new(),
        token: None,
    };
    let mut config = None;
    let mut lint = None;
    let mut schema = false;
    // Flags that describe a request: meaningless with --lint and --schema.
    let mut request_flags: Vec<String> = Vec::new();
    let mut argv = argv.into_iter();
    while let Some(arg) = argv.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Parsed::Help);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        if !matches!(flag.as_str(), "--env" | "--lint" | "--schema") {
            request_flags.push(flag.clone());
        }
        match flag.as_str() {
            "--lint" => lint = Some(PathBuf::from(value()?)),
            "--schema" if inline.is_none() => schema = true,
            "--config" => config = Some(PathBuf::from(value()?)),
            "--wasm" => args.wasm = Some(PathBuf::from(value()?)),
            "--now" => {
                let raw = value()?;
                let secs = raw
                    .parse()
                    .map_err(|_| format!("--now: not a Unix time in seconds: {raw:?}"))?;
                args.now = Some(secs);
            }
            "--env" => {
                let raw = value()?;
                let (name, val) = raw
                    .split_once('=')
                    .filter(|(name, _)| !name.is_empty())
                    .ok_or_else(|| format!("--env: expected NAME=VALUE, got {raw:?}"))?;
                args.env.push((name.to_string(), val.to_string()));
            }
            "--method" => args.method = value()?,
            "--path" => args.path = value()?,
            "--header" => args.headers.push(header(&value()?)?),
            "--token" => args.token = Some(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if schema {
        if lint.is_some() || !request_flags.is_empty() || !args.env.is_empty() {
            return Err("--schema takes no other argument".into());
        }
        return Ok(Parsed::Schema);
    }
    if let Some(config) = lint {
        if let Some(flag) = request_flags.first() {
            return Err(format!("{flag} does not apply to --lint"));
        }
        return Ok(Parsed::Lint {
            config,
            env: args.env,
        });
    }
    args.config = config.ok_or("--config FILE is required")?;
    Ok(Parsed::Run(args))
}

/// `Name: value`; a leading `:` belongs to the name (`:authority: x`).
fn header(raw: &str) -> Result<(String, String), String> {
    let skip = usize::from(raw.starts_with(':'));
    let colon = raw
        .get(skip..)
        .and_then(|rest| rest.find(':'))
        .map(|at| at + skip)
        .ok_or_else(|| format!("--header: expected 'Name: value', got {raw:?}"))?;
    let (name, value) = raw.split_at(colon);
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("--header: empty name in {raw:?}"));
    }
    let value = value.get(1..).unwrap_or_default().trim_start();
    Ok((name.to_ascii_lowercase(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(argv: &[&str]) -> Result<Args, String> {
        match parse(argv.iter().map(|s| s.to_string()))? {
            Parsed::Run(args) => Ok(args),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn defaults() {
        let args = run(&["--config", "c.json"]).unwrap();
        assert_eq!(args.config, PathBuf::from("c.json"));
        assert_eq!((args.method.as_str(), args.path.as_str()), ("GET", "/"));
        assert_eq!((args.wasm, args.now, args.token), (None, None, None));
    }

    #[test]
    fn every_flag_in_both_spellings() {
        let args = run(&[
            "--config=c.json",
            "--wasm",
            "f.wasm",
            "--now=1700000000",
            "--env",
            "A=b=c",
            "--env=EMPTY=",
            "--method",
            "POST",
            "--path=/x?y",
            "--header",
            "X-A: 1",
            "--header",
            ":authority: api.test",
            "--header=x-b:2",
            "--token",
            "T",
        ])
        .unwrap();
        assert_eq!(args.wasm, Some(PathBuf::from("f.wasm")));
        assert_eq!(args.now, Some(1_700_000_000));
        assert_eq!(
            args.env,
            [("A".into(), "b=c".into()), ("EMPTY".into(), String::new())]
        );
        assert_eq!((args.method.as_str(), args.path.as_str()), ("POST", "/x?y"));
        assert_eq!(
            args.headers,
            [
                ("x-a".into(), "1".into()),
                (":authority".into(), "api.test".into()),
                ("x-b".into(), "2".into())
            ]
        );
        assert_eq!(args.token.as_deref(), Some("T"));
    }

    #[test]
    fn usage_errors() {
        assert!(run(&[]).unwrap_err().contains("--config"));
        assert!(run(&["--config"]).unwrap_err().contains("needs a value"));
        assert!(run(&["--config", "c", "--now", "soon"])
            .unwrap_err()
            .contains("--now"));
        assert!(run(&["--config", "c", "--env", "NOVALUE"])
            .unwrap_err()
            .contains("NAME=VALUE"));
        assert!(run(&["--config", "c", "--header", "nocolon"])
            .unwrap_err()
            .contains("Name: value"));
        assert!(run(&["--config", "c", "--bogus"])
            .unwrap_err()
            .contains("--bogus"));
        assert_eq!(parse(["--help".to_string()]), Ok(Parsed::Help));
    }

    fn parsed(argv: &[&str]) -> Result<Parsed, String> {
        parse(argv.iter().map(|s| s.to_string()))
    }

    #[test]
    fn lint_and_schema_modes() {
        assert_eq!(
            parsed(&["--lint", "c.json", "--env=A=b"]),
            Ok(Parsed::Lint {
                config: PathBuf::from("c.json"),
                env: vec![("A".into(), "b".into())]
            })
        );
        assert_eq!(parsed(&["--schema"]), Ok(Parsed::Schema));
        assert!(parsed(&["--lint", "c.json", "--token", "T"])
            .unwrap_err()
            .contains("--token does not apply to --lint"));
        assert!(parsed(&["--lint", "c.json", "--config", "d.json"])
            .unwrap_err()
            .contains("--config does not apply"));
        assert!(parsed(&["--schema", "--lint", "c.json"])
            .unwrap_err()
            .contains("--schema takes no other argument"));
        assert!(parsed(&["--lint"]).unwrap_err().contains("needs a value"));
    }
}
