//! `jwt-gate-check` end to end: the built binary, its JSON and exit codes,
//! first against the probe filter (always available), then against the real
//! jwt-gate artifact (needs `make build`).

mod util;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use serde_json::{json, Value};
use util::mint::{claims, hs_secret, mint, ISSUER};
use util::probe::probe_wasm;

const NOW: u64 = 1_700_000_000;

struct Run {
    code: i32,
    json: Value,
}

fn check(config: &str, wasm: Option<PathBuf>, extra: &[&str]) -> Run {
    let dir = std::env::temp_dir().join(format!("jwt-gate-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // One file per call: tests running in parallel with the same config must not
    // rewrite a file another test's CLI is reading.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = dir.join(format!("{:x}-{n}.json", fxhash(config)));
    std::fs::write(&file, config).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jwt-gate-check"));
    cmd.arg("--config").arg(&file);
    if let Some(wasm) = wasm {
        cmd.arg("--wasm").arg(wasm);
    }
    let out = cmd.args(extra).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json = if stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("not one JSON object ({e}): {stdout}"))
    };
    Run {
        code: out.status.code().unwrap(),
        json,
    }
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn assert_shape(json: &Value) {
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "config_ok",
        "config_error",
        "action",
        "status",
        "request_headers",
        "response_headers",
        "body",
        "rule",
        "rule_match",
        "logs",
    ] {
        assert!(keys.contains(&key), "missing {key} in {json}");
    }
    assert!(["continue", "respond"].contains(&json["action"].as_str().unwrap()));
    assert!(json["logs"]
        .as_array()
        .unwrap()
        .iter()
        .all(Value::is_string));
}

#[test]
fn probe_continue_is_exit_0_with_forwarded_headers() {
    let run = check(
        "{}",
        Some(probe_wasm()),
        &[
            "--token",
            "abc",
            "--header",
            "X-User-Id: spoof",
            "--path",
            "/a?b=c",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.json);
    assert_shape(&run.json);
    assert_eq!(run.json["action"], "continue");
    assert_eq!(run.json["status"], Value::Null);
    let headers = &run.json["request_headers"];
    assert_eq!(headers["authorization"], "Bearer abc");
    assert_eq!(headers[":path"], "/a?b=c");
    assert_eq!(headers[":method"], "GET");
    assert_eq!(headers[":authority"], "localhost");
    assert_eq!(headers["x-user-id"], Value::Null);
    assert_eq!(headers["x-probe"], "1");
}

#[test]
fn probe_local_reply_is_exit_1() {
    let run = check(
        "{}",
        Some(probe_wasm()),
        &["--path", "/deny", "--method", "POST"],
    );
    assert_eq!(run.code, 1);
    assert_shape(&run.json);
    assert_eq!(run.json["action"], "respond");
    assert_eq!(run.json["status"], 401);
    assert_eq!(
        run.json["response_headers"]["www-authenticate"],
        "Bearer realm=\"probe\""
    );
    assert_eq!(run.json["body"], r#"{"error":"denied"}"#);
}

#[test]
fn probe_env_and_clock_flags_reach_the_guest() {
    let run = check(
        "{}",
        Some(probe_wasm()),
        &["--env", "PROBE_ENV=from-cli", "--path", "/env"],
    );
    assert_eq!(run.json["request_headers"]["x-env"], "from-cli");
    let run = check(
        "{}",
        Some(probe_wasm()),
        &["--now", "1700000000", "--path", "/time"],
    );
    assert_eq!(run.json["request_headers"]["x-now"], "1700000000");
}

#[test]
fn probe_rejected_config_is_exit_2_with_the_error_line() {
    let run = check("fail", Some(probe_wasm()), &[]);
    assert_eq!(run.code, 2);
    assert_shape(&run.json);
    assert_eq!(run.json["config_ok"], false);
    assert_eq!(run.json["config_error"], "bad config: fail");
}

#[test]
fn usage_errors_are_exit_2_without_json() {
    let run = check("{}", Some(probe_wasm()), &["--bogus"]);
    assert_eq!((run.code, run.json.clone()), (2, Value::Null));
    let run = check("{}", Some(PathBuf::from("/nonexistent.wasm")), &[]);
    assert_eq!((run.code, run.json), (2, Value::Null));
}

fn hs256_config() -> String {
    json!({"providers": {"t": {"issuer": ISSUER, "algorithms": ["HS256"], "keys": [{"secret": hs_secret()}]}}})
        .to_string()
}

fn real(config: &str, extra: &[&str]) -> Run {
    util::jwt_gate_wasm();
    check(config, None, extra)
}

#[test]
fn jwt_gate_accepts_a_valid_token_and_strips_it() {
    let token = mint("HS256", &claims(NOW), &Value::Null);
    let run = real(
        &hs256_config(),
        &[
            "--now",
            &NOW.to_string(),
            "--token",
            &token,
            "--path",
            "/api",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.json);
    assert_shape(&run.json);
    assert_eq!(run.json["config_ok"], true);
    assert_eq!(
        run.json["request_headers"]["authorization"],
        Value::Null,
        "credential forwarded"
    );
    assert_eq!(run.json["request_headers"][":path"], "/api");
}

#[test]
fn jwt_gate_answers_401_without_a_token() {
    let run = real(&hs256_config(), &["--now", &NOW.to_string()]);
    assert_eq!(run.code, 1, "{}", run.json);
    assert_eq!(run.json["status"], 401);
    let challenge = run.json["response_headers"]["www-authenticate"]
        .as_str()
        .unwrap();
    assert!(challenge.starts_with("Bearer realm="), "{challenge}");
}

#[test]
fn jwt_gate_rejects_an_expired_token() {
    let token = mint("HS256", &claims(NOW - 3600), &Value::Null);
    let run = real(
        &hs256_config(),
        &["--now", &NOW.to_string(), "--token", &token],
    );
    assert_eq!(run.code, 1, "{}", run.json);
    assert_eq!(run.json["status"], 401);
    let challenge = run.json["response_headers"]["www-authenticate"]
        .as_str()
        .unwrap();
    assert!(challenge.contains("invalid_token"), "{challenge}");
}

#[test]
fn jwt_gate_reads_secrets_from_env() {
    let config = json!({"providers": {"t": {"issuer": ISSUER, "algorithms": ["HS256"], "keys": [{"secret_env": "HS_SECRET"}]}}});
    let token = mint("HS256", &claims(NOW), &Value::Null);
    let env = format!("HS_SECRET={}", hs_secret());
    let run = real(
        &config.to_string(),
        &["--now", &NOW.to_string(), "--env", &env, "--token", &token],
    );
    assert_eq!(run.code, 0, "{}", run.json);
}

#[test]
fn jwt_gate_rejected_config_names_the_field() {
    let config = json!({"providers": {"t": {"issuer": ISSUER, "algorithms": ["HS256"], "keys": [{"secret": "x"}], "isuer": "typo"}}});
    let run = real(&config.to_string(), &[]);
    assert_eq!(run.code, 2, "{}", run.json);
    assert_eq!(run.json["config_ok"], false);
    let error = run.json["config_error"].as_str().unwrap();
    assert!(error.contains("isuer"), "{error}");
}

#[test]
fn jwt_gate_check_answers_in_well_under_a_second() {
    real(&hs256_config(), &[]); // warm the compiled-module cache
    let start = Instant::now();
    let run = real(&hs256_config(), &["--now", &NOW.to_string()]);
    let elapsed = start.elapsed();
    assert_eq!(run.code, 1);
    assert!(elapsed.as_millis() < 500, "took {elapsed:?}");
}

fn ruled_config() -> String {
    json!({"providers": {"t": {"issuer": ISSUER, "algorithms": ["HS256"], "keys": [{"secret": hs_secret()}]}},
           "rules": [{"match": {"prefix": "/public/"}, "action": "allow"},
                     {"match": {"prefix": "/api/", "methods": ["POST"]}, "action": "deny"},
                     {"match": {"regex": "/items/[0-9]+"}, "action": "optional"}]})
    .to_string()
}

#[test]
fn jwt_gate_explains_which_rule_matched() {
    let now = NOW.to_string();
    let cases: [(&[&str], i32, Value, Value); 5] = [
        (
            &["--path", "/public/x"],
            0,
            json!(0),
            json!("prefix \"/public/\""),
        ),
        (
            &["--path", "/api/x", "--method", "POST"],
            1,
            json!(1),
            json!("prefix \"/api/\" methods [POST]"),
        ),
        (
            &["--path", "/items/42?q=1"],
            0,
            json!(2),
            json!("regex \"/items/[0-9]+\""),
        ),
        // Normalized before matching: still the public rule's explanation.
        (
            &["--path", "//public/./x"],
            0,
            json!(0),
            json!("prefix \"/public/\""),
        ),
        // No rule: the default action (require), and it says so.
        (&["--path", "/other"], 1, Value::Null, Value::Null),
    ];
    for (args, code, rule, rule_match) in cases {
        let mut all = vec!["--now", now.as_str()];
        all.extend_from_slice(args);
        let run = real(&ruled_config(), &all);
        assert_eq!(run.code, code, "{args:?}: {}", run.json);
        assert_shape(&run.json);
        assert_eq!(run.json["rule"], rule, "{args:?}: {}", run.json);
        assert_eq!(run.json["rule_match"], rule_match, "{args:?}: {}", run.json);
    }
    let run = real(&ruled_config(), &["--now", &now, "--path", "/other"]);
    let logs = run.json["logs"].as_array().unwrap();
    assert!(
        logs.iter()
            .any(|l| l.as_str().unwrap().contains("jwt-gate rule=default")),
        "{logs:?}"
    );
}

#[test]
fn rejected_config_and_probe_have_no_rule() {
    let run = check("{}", Some(probe_wasm()), &[]);
    assert_eq!(
        (run.json["rule"].clone(), run.json["rule_match"].clone()),
        (Value::Null, Value::Null)
    );
    let run = real(r#"{"providers": {}}"#, &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        (run.json["rule"].clone(), run.json["rule_match"].clone()),
        (Value::Null, Value::Null)
    );
}
