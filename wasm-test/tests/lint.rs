//! `jwt-gate-check --lint` and `--schema` end to end: the built binary, its JSON
//! report and its exit codes (0 clean, 1 warnings only, 2 errors).

use std::process::Command;

use serde_json::{json, Value};

const SECRET: &str = "jwt-gate-test-hmac-secret-0123456789abcdef";

struct Run {
    code: i32,
    json: Value,
    stderr: String,
}

fn jwt_gate_check(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_jwt-gate-check"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    Run {
        code: out.status.code().unwrap(),
        json: serde_json::from_str(stdout.trim()).unwrap_or(Value::Null),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn lint(config: &Value, extra: &[&str]) -> Run {
    let dir = std::env::temp_dir().join(format!("jwt-gate-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = config.to_string();
    let file = dir.join(format!("{:x}.json", fnv(&text)));
    std::fs::write(&file, text).unwrap();
    let mut args = vec!["--lint", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    jwt_gate_check(&args)
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn provider() -> Value {
    json!({"issuer": "https://issuer.test", "audiences": ["api"], "algorithms": ["HS256"],
           "keys": [{"secret_env": "HS"}]})
}

fn paths(run: &Run, list: &str) -> Vec<String> {
    run.json[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {}", run.json))
        .iter()
        .map(|p| p["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn clean_config_exits_0() {
    let run = lint(
        &json!({"providers": {"corp": provider()}}),
        &["--env", &format!("HS={SECRET}")],
    );
    assert_eq!(run.code, 0, "{} {}", run.json, run.stderr);
    assert_eq!(run.json, json!({"ok": true, "errors": [], "warnings": []}));
}

#[test]
fn risky_choices_are_warnings_with_json_paths_and_exit_1() {
    let mut risky = provider();
    risky.as_object_mut().unwrap().remove("audiences");
    risky["algorithms"] = json!(["HS256", "HS512"]);
    risky["leeway_s"] = json!(900);
    risky["from"] =
        json!([{"header": "authorization", "prefix": "Bearer "}, {"query": "access_token"}]);
    let run = lint(
        &json!({"mode": "bypass", "providers": {"corp": risky}}),
        &["--env", &format!("HS={SECRET}")],
    );
    assert_eq!(run.code, 1, "{}", run.json);
    assert_eq!(run.json["ok"], true);
    assert_eq!(
        paths(&run, "warnings"),
        [
            "providers.corp.audiences",
            "providers.corp.keys[0].secret_env",
            "providers.corp.from[1].query",
            "providers.corp.leeway_s",
            "mode"
        ]
    );
    let text = run.json.to_string();
    assert!(text.contains("HS512 needs at least 64"), "{text}");
    assert!(!text.contains(SECRET), "the secret is in the report");
}

#[test]
fn every_error_is_reported_and_exits_2() {
    let mut bad_keys = provider();
    bad_keys["keys"] = json!([{"secret": "short"}, {"pem": "not a pem"}, {"secret_env": "UNSET"}]);
    let mut bad_alg = provider();
    bad_alg["algorithms"] = json!(["HS257"]);
    let config = json!({
        "providers": {"a": bad_keys, "b": bad_alg},
        "rules": [
            {"match": {"regex": "("}},
            {"match": {"prefix": "/"}, "require": {"providers": ["nope"]}},
            {"match": {"prefix": "/"}, "action": "allow", "cors_preflight": "allow"}
        ],
        "status_overrides": {"expired": 200},
        "resource_metadata": "/relative"
    });
    let run = lint(&config, &[]);
    assert_eq!(run.code, 2, "{}", run.json);
    assert_eq!(run.json["ok"], false);
    assert_eq!(
        paths(&run, "errors"),
        [
            "providers.a.keys[0].secret",
            "providers.a.keys[1].pem",
            "providers.a.keys[2].secret_env",
            "providers.b.algorithms[0]",
            "rules[0].match.regex",
            "rules[1].require.providers[0]",
            "rules[2].cors_preflight",
            "status_overrides.expired",
            "resource_metadata"
        ]
    );
}

#[test]
fn typos_in_several_sections_are_all_reported() {
    let mut typo = provider();
    typo["audience"] = json!("api");
    let config = json!({
        "providers": {"a": typo, "b": provider()},
        "rules": [{"match": {"prefx": "/"}}, {"match": {"prefix": "/"}, "action": "permit"}],
        "realms": "x"
    });
    let run = lint(&config, &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        paths(&run, "errors"),
        [
            "providers.a.audience",
            "realms",
            "rules[0].match.prefx",
            "rules[1].action"
        ]
    );
}

#[test]
fn unreadable_file_and_invalid_json_exit_2() {
    let run = jwt_gate_check(&["--lint", "/nonexistent/config.json"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot read config"), "{}", run.stderr);
    let dir = std::env::temp_dir().join(format!("jwt-gate-lint-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.json");
    std::fs::write(&file, "{\"providers\": {}, \"providers\": {}}").unwrap();
    let run = jwt_gate_check(&["--lint", file.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.json["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("invalid JSON"));
}

#[test]
fn schema_flag_prints_the_committed_schema() {
    let out = Command::new(env!("CARGO_BIN_EXE_jwt-gate-check"))
        .arg("--schema")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/jwt-gate.schema.json"),
    )
    .unwrap();
    assert!(
        String::from_utf8(out.stdout).unwrap() == committed,
        "--schema differs from schema/jwt-gate.schema.json: run `make schema`"
    );
}
