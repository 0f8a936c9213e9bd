//! The user check through the artifact: random sequences of requests (valid and forged
//! tokens, hostile subjects), random answers from the user service, failed callouts,
//! random bytes written under the shared-data cache slots (fewer than the subjects),
//! ticks and clock jumps. The VM never traps, every request ends (forwarded, 401 or
//! 503), a forged token is never forwarded, and with `on_error: deny` a subject is let
//! through only after the service (or a well-formed cache entry naming it) said it is
//! active.

use std::collections::HashSet;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::json;
use wasm_test::{Action, Host};

use crate::util::mint::{claims, hs_secret, mint, tamper, ISSUER};
use crate::util::NOW;
use crate::{check, ended, no_trap, vm};

const SUBJECTS: [&str; 6] = [
    "alice",
    "bob",
    "../admin",
    "a/b?c=1&d",
    "\u{e9}l\u{e8}ve",
    "x",
];

/// Fewer cache slots than subjects: entries of subjects that share a slot replace each other.
const SLOTS: u32 = 2;

fn slot(i: usize) -> String {
    crate::util::user_slot("corp", &subject(i), SLOTS)
}

fn subject(i: usize) -> String {
    // The last one is long: a cache key and callout path of 1,000+ bytes.
    if i == SUBJECTS.len() - 1 {
        "x".repeat(1200)
    } else {
        SUBJECTS[i].to_string()
    }
}

/// The callout path for `sub` (percent-encoded, as the filter sends it).
fn path_for(sub: &str) -> String {
    let mut p = "/internal/users/".to_string();
    for b in sub.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            p.push(char::from(b));
        } else {
            p.push_str(&format!("%{b:02X}"));
        }
    }
    p
}

#[derive(Debug, Clone)]
enum Step {
    /// A request for subject `.0`; `.1` = forged (signature flipped).
    Request(usize, bool),
    /// Answer the oldest pending callout.
    Answer(u32, Vec<(String, String)>, Vec<u8>),
    Fail,
    /// Write these bytes under subject `.0`'s cache slot, followed by `:` and subject
    /// `.2`'s name when there is one (the entry's owner).
    Shared(usize, Vec<u8>, Option<usize>),
    Advance(u64),
    Tick,
}

fn cache_value() -> impl Strategy<Value = Vec<u8>> {
    let far = NOW + 86_400;
    prop_oneof![
        prop::sample::select(vec![
            format!("1:{far}"),
            format!("0:{far}"),
            format!("1:{NOW}"),
            format!("1:{}", NOW - 1),
            "1:".into(),
            "1:99999999999999999999".into(),
            "1:-5".into(),
            format!("2:{far}"),
            format!(":{far}"),
            String::new(),
            format!("1:{far}:extra"),
            format!(" 1:{far}"),
            "garbage".into(),
        ])
        .prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..24),
        (1usize..70_000).prop_map(|n| vec![b'1'; n]),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let n = SUBJECTS.len();
    let status = prop_oneof![
        3 => prop::sample::select(vec![200u32, 204, 404, 410]),
        1 => prop::sample::select(vec![0u32, 100, 301, 401, 403, 429, 500, 503, 999, u32::MAX]),
    ];
    let headers = prop::collection::vec(("[a-z:-]{1,10}", "\\PC{0,16}"), 0..3);
    let body = prop_oneof![
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 0..64),
        (1usize..100_000).prop_map(|n| vec![b'{'; n])
    ];
    prop_oneof![
        4 => (0..n, prop::bool::weighted(0.25)).prop_map(|(s, f)| Step::Request(s, f)),
        3 => (status, headers, body).prop_map(|(s, h, b)| Step::Answer(s, h, b)),
        1 => Just(Step::Fail),
        2 => (0..n, cache_value(), prop::option::of(0..n)).prop_map(|(s, v, o)| Step::Shared(s, v, o)),
        1 => prop::sample::select(vec![100u64, 600, 5_000, 61_000]).prop_map(Step::Advance),
        1 => Just(Step::Tick),
    ]
}

fn host(on_error: &str) -> Host {
    let config = json!({"providers": {"corp": {
        "issuer": ISSUER, "algorithms": ["HS256"], "keys": [{"secret": hs_secret()}],
        "claim_headers": {"x-user-id": "sub"},
        "user_check": {"cluster": "users", "authority": "users.internal", "path": "/internal/users/{sub}",
                       "timeout_ms": 500, "cache_ttl_s": 60, "negative_ttl_s": 5, "on_error": on_error,
                       "cache_slots": SLOTS}}}});
    let mut host = vm(&config, &["users"]);
    assert!(host.start_plugin(), "{:?}", host.logs());
    host
}

fn token(sub: &str, forged: bool) -> String {
    let mut c = claims(NOW);
    c["sub"] = json!(sub);
    c["exp"] = json!(NOW + 86_400);
    let t = mint("HS256", &c, &json!(null));
    if forged {
        tamper(&t)
    } else {
        t
    }
}

#[test]
fn random_user_service_answers_and_cache_bytes_never_trap_hang_or_admit_a_forgery() {
    let strategy = (any::<bool>(), prop::collection::vec(step(), 1..14));
    check("wasm.user_check", strategy, |(deny, steps), tally| {
        let mut host = host(if deny { "deny" } else { "allow" });
        let mut requests: Vec<(u32, Action, usize, bool)> = Vec::new();
        // Subjects the service or a well-formed cache entry called active.
        let mut vouched: HashSet<usize> = HashSet::new();
        for s in &steps {
            match s {
                Step::Request(i, forged) => {
                    let id = host.init_http_context();
                    let auth = format!("Bearer {}", token(&subject(*i), *forged));
                    let action = host.call_on_request_headers(
                        id,
                        &[
                            (":method", "GET"),
                            (":path", "/api"),
                            (":authority", "gw"),
                            ("authorization", auth.as_str()),
                        ],
                        true,
                    );
                    requests.push((id, action, *i, *forged));
                }
                Step::Answer(status, headers, body) => {
                    if let Some(call) = host.pending_http_calls().first() {
                        let path = call.header(":path").unwrap_or("").to_string();
                        let who = (0..SUBJECTS.len()).find(|&i| path_for(&subject(i)) == path);
                        prop_assert!(who.is_some(), "callout to {path}");
                        if (200..300).contains(status) {
                            vouched.extend(who);
                        }
                        let h: Vec<(&str, &str)> = headers
                            .iter()
                            .map(|(n, v)| (n.as_str(), v.as_str()))
                            .collect();
                        host.respond_to_http_call(call.token, *status, &h, body)
                            .unwrap();
                        tally.saw(format!("answer_{status}"));
                    }
                }
                Step::Fail => {
                    if let Some(call) = host.pending_http_calls().first() {
                        host.fail_http_call(call.token).unwrap();
                    }
                }
                Step::Shared(i, value, owner) => {
                    let mut bytes = value.clone();
                    if let Some(j) = owner {
                        bytes.push(b':');
                        bytes.extend_from_slice(subject(*j).as_bytes());
                    }
                    // Any subject of this slot the bytes might name may now pass.
                    for k in (0..SUBJECTS.len()).filter(|&k| slot(k) == slot(*i)) {
                        if bytes.starts_with(b"1:")
                            && bytes.ends_with(format!(":{}", subject(k)).as_bytes())
                        {
                            vouched.insert(k);
                        }
                    }
                    host.set_shared_data(&slot(*i), &bytes);
                }
                Step::Advance(ms) => host.advance(Duration::from_millis(*ms)),
                Step::Tick => host.tick(),
            }
            no_trap(&host, tally, &format!("at {s:?}"))?;
        }
        for _ in 0..3 {
            host.advance(Duration::from_secs(1));
            host.fail_expired_http_calls();
            host.tick();
            no_trap(&host, tally, "while draining")?;
        }
        for (id, action, i, forged) in requests {
            match ended(&host, id, action) {
                None => prop_assert!(false, "request {id} left paused: {steps:?}"),
                Some(Some(status)) => {
                    prop_assert!(status == 401 || status == 503, "status {status}");
                    prop_assert!(deny || status == 401, "503 with on_error allow");
                    tally.saw(status.to_string());
                }
                Some(None) => {
                    if forged {
                        return Err(tally.forgery(format!(
                            "forged token of {} forwarded: {steps:?}",
                            SUBJECTS[i]
                        )));
                    }
                    prop_assert!(
                        !deny || vouched.contains(&i),
                        "{} let through unvouched: {steps:?}",
                        SUBJECTS[i]
                    );
                    tally.saw("forwarded");
                }
            }
        }
        Ok(())
    });
}
