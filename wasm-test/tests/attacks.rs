//! The adversarial token suite (issue 8, item 1): every hostile token of
//! `tests/attacks/attacks.json` (written by `tests/attacks/make_attacks.py`, committed;
//! no Python at test time) goes through the real `jwt_gate.wasm` in the embedded host.
//!
//! Each attack must be answered locally with its expected status and, where the case
//! names one, its failure reason (the `reason=` label of the denial log line, i.e.
//! `AuthError::label`). The valid control tokens must be forwarded with their claim
//! header, so the suite would notice an accept. A forwarded attack is an accepted
//! forgery; a VM trap is a panic (`panic = "abort"`). Both must be zero, and the run
//! ends with one summary line:
//!
//! `attacks: N cases, accepted forgeries = 0, panics = 0`

mod util;

use std::io::Write as _;

use serde_json::{json, Value};
use wasm_test::{Action, Host, LogLevel};

use util::mint::{fixture_key, hs_secret, ISSUER};
use util::{host_with, NOW};

const PATH: &str = "/api/me";

fn load_attacks() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/attacks/attacks.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run .venv/bin/python tests/attacks/make_attacks.py)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

/// One provider trusting every fixture key of the algorithms the generator uses, each
/// under the generator's `kid`, with claim headers (so CR/LF claims matter) and a
/// lifetime bound (so out-of-range `exp` matters).
fn config(doc: &Value) -> Value {
    assert_eq!(
        doc["now"],
        json!(NOW),
        "generator clock differs from util::NOW"
    );
    assert_eq!(
        doc["issuer"],
        json!(ISSUER),
        "generator issuer differs from util::ISSUER"
    );
    let kid = |alg: &str| doc["kids"][alg].as_str().unwrap().to_string();
    json!({"providers": {"corp": {
        "issuer": ISSUER,
        "audiences": [doc["audience"]],
        "algorithms": doc["algorithms"],
        "max_lifetime_s": doc["max_lifetime_s"],
        "claim_headers": doc["claim_headers"],
        "keys": [
            {"secret": hs_secret(), "kid": kid("HS256")},
            {"pem": fixture_key("rsa2048.pub.pem"), "kid": kid("RS256")},
            {"pem": fixture_key("ec256.pub.pem"), "kid": kid("ES256")},
            {"pem": fixture_key("ed25519.pub.pem"), "kid": kid("EdDSA")},
        ]
    }}})
}

/// The token of a case: `token`, or `prefix + chunk * times + suffix` for the huge ones.
fn token_of(case: &Value) -> String {
    if let Some(t) = case["token"].as_str() {
        return t.to_string();
    }
    let r = &case["repeat"];
    let times = usize::try_from(r["times"].as_u64().unwrap()).unwrap();
    let mut t = r["prefix"].as_str().unwrap().to_string();
    t.push_str(&r["chunk"].as_str().unwrap().repeat(times));
    t.push_str(r["suffix"].as_str().unwrap());
    t
}

enum Outcome {
    Forwarded { upstream: Vec<(String, String)> },
    Replied { status: u32, reason: Option<String> },
    Paused,
    Trapped(String),
}

fn run(host: &mut Host, token: &str) -> Outcome {
    host.clear_logs();
    let auth = format!("Bearer {token}");
    let headers: [(&str, &str); 4] = [
        (":method", "GET"),
        (":path", PATH),
        (":authority", "gw"),
        ("authorization", &auth),
    ];
    let id = host.init_http_context();
    let action = host.call_on_request_headers(id, &headers, true);
    if let Some(trap) = host.trap() {
        return Outcome::Trapped(format!("{trap}: {:?}", host.trap_details()));
    }
    let reply = host.local_response(id);
    let reason = host
        .logs_at(LogLevel::Info)
        .iter()
        .find_map(|l| l.split_once("jwt-gate deny: reason=").map(|(_, rest)| rest))
        .map(|rest| rest.split(' ').next().unwrap_or("").to_string());
    let outcome = match (action, reply) {
        (_, Some(r)) => Outcome::Replied {
            status: r.status,
            reason,
        },
        (Action::Continue, None) => Outcome::Forwarded {
            upstream: host.request_headers(id),
        },
        (Action::Pause, None) => Outcome::Paused,
    };
    host.complete_http_context(id);
    outcome
}

fn header<'a>(upstream: &'a [(String, String)], name: &str) -> Option<&'a str> {
    upstream
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn every_hostile_token_is_refused_and_every_control_token_passes() {
    let doc = load_attacks();
    let config = config(&doc);
    let cases = doc["cases"].as_array().unwrap();
    let mut host = host_with(&config);

    let (mut attacks, mut controls) = (0usize, 0usize);
    let (mut forgeries, mut panics) = (Vec::new(), Vec::new());
    let mut wrong = Vec::new();
    let mut by_category: std::collections::BTreeMap<&str, usize> = Default::default();

    for case in cases {
        let name = case["name"].as_str().unwrap();
        let category = case["category"].as_str().unwrap();
        let expect = &case["expect"];
        let want_status = u32::try_from(expect["status"].as_u64().unwrap()).unwrap();
        let token = token_of(case);
        *by_category.entry(category).or_default() += 1;
        let is_control = category == "control";
        if is_control {
            controls += 1;
        } else {
            attacks += 1;
        }

        match run(&mut host, &token) {
            Outcome::Trapped(details) => {
                panics.push(format!("[{category}] {name}: {details}"));
                // The VM is dead (as on a real worker); later cases get a fresh one.
                host = host_with(&config);
            }
            Outcome::Forwarded { upstream } if is_control => {
                for (h, v) in expect["headers"].as_object().into_iter().flatten() {
                    if header(&upstream, h) != v.as_str() {
                        wrong.push(format!(
                            "[control] {name}: upstream {h} = {:?}, want {v}",
                            header(&upstream, h)
                        ));
                    }
                }
                if header(&upstream, "authorization").is_some() {
                    wrong.push(format!("[control] {name}: credential forwarded upstream"));
                }
            }
            Outcome::Forwarded { upstream } => forgeries.push(format!(
                "[{category}] {name}: forwarded upstream with x-user-id={:?}",
                header(&upstream, "x-user-id")
            )),
            Outcome::Paused => {
                wrong.push(format!("[{category}] {name}: request paused, no answer"))
            }
            Outcome::Replied { status, reason } => {
                if is_control {
                    wrong.push(format!(
                        "[control] {name}: valid token refused: {status} reason={reason:?}"
                    ));
                    continue;
                }
                if status != want_status {
                    wrong.push(format!(
                        "[{category}] {name}: status {status} (reason={reason:?}), want {want_status}"
                    ));
                }
                if let Some(want) = expect["reason"].as_str() {
                    if reason.as_deref() != Some(want) {
                        wrong.push(format!(
                            "[{category}] {name}: reason {reason:?}, want {want:?}"
                        ));
                    }
                }
            }
        }
    }

    let summary = format!(
        "attacks: {attacks} cases, accepted forgeries = {}, panics = {}",
        forgeries.len(),
        panics.len()
    );
    let detail = format!(
        "{controls} valid controls forwarded: {}; by category: {}",
        if wrong.iter().any(|w| w.starts_with("[control]")) {
            "NO"
        } else {
            "yes"
        },
        by_category
            .iter()
            .map(|(c, n)| format!("{c}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    // On stdout (shown with --nocapture or on failure) and written straight to the
    // stderr handle: libtest captures `println!`/`eprintln!` of a passing test, but not
    // direct writes, so `make test` prints the counts either way.
    println!("{summary}");
    println!("{detail}");
    let mut report = format!("{summary}\n{detail}\n");
    for line in forgeries.iter().chain(&panics).chain(&wrong) {
        report.push_str(&format!("  {line}\n"));
    }
    let _ = std::io::stderr().write_all(report.as_bytes());
    // `make test` prints the collected counts at the very end of its run.
    if let Some(path) = std::env::var_os("HARDENING_SUMMARY") {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{summary}");
        }
    }

    assert!(attacks >= 100, "only {attacks} attack cases");
    assert!(controls >= 4, "only {controls} control cases");
    assert!(
        forgeries.is_empty(),
        "ACCEPTED FORGERIES:\n{}",
        forgeries.join("\n")
    );
    assert!(
        panics.is_empty(),
        "VM TRAPS (panics):\n{}",
        panics.join("\n")
    );
    assert!(wrong.is_empty(), "wrong outcomes:\n{}", wrong.join("\n"));
}

/// Every case again, each in a fresh VM, with the decision header and audit mode: a
/// hostile token must never be let through as `allow` in audit mode either.
#[test]
fn audit_mode_marks_every_hostile_token_would_deny() {
    let doc = load_attacks();
    let mut config = config(&doc);
    config["mode"] = json!("audit");
    let mut host = host_with(&config);
    let mut problems = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let is_control = case["category"] == "control";
        match run(&mut host, &token_of(case)) {
            Outcome::Forwarded { upstream } => {
                let decision = header(&upstream, "x-jwt-gate-decision");
                let marked = decision.is_some_and(|d| d.starts_with("would-deny"));
                let identity = header(&upstream, "x-user-id");
                if is_control && (marked || identity != Some("user-1")) {
                    problems.push(format!("control {name}: {decision:?} {identity:?}"));
                }
                if !is_control && (!marked || identity.is_some()) {
                    problems.push(format!(
                        "{name}: decision {decision:?}, x-user-id {identity:?}"
                    ));
                }
            }
            Outcome::Trapped(d) => {
                problems.push(format!("{name}: trap {d}"));
                host = host_with(&config);
            }
            Outcome::Replied { status, reason } => {
                problems.push(format!("{name}: audit mode replied {status} {reason:?}"))
            }
            Outcome::Paused => problems.push(format!("{name}: paused")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
