//! The user-existence check through the real artifact: one callout per subject, the
//! answer cached in shared data with separate positive/negative TTLs, `on_error`.

mod util;

use std::time::{Duration, UNIX_EPOCH};

use jwt_gate::usercheck;
use serde_json::json;
use util::mint::{claims, hs_secret, mint};
use wasm_test::{Action, Host};

const NOW: u64 = 1_700_000_000;

fn host(on_error: &str) -> Host {
    host_with_slots(on_error, None)
}

fn host_with_slots(on_error: &str, cache_slots: Option<u32>) -> Host {
    let mut check = json!({"cluster": "users", "authority": "users.internal", "path": "/internal/users/{sub}",
                           "timeout_ms": 500, "cache_ttl_s": 60, "negative_ttl_s": 5, "on_error": on_error});
    if let Some(slots) = cache_slots {
        check["cache_slots"] = json!(slots);
    }
    let config = json!({"providers": {"corp": {
        "issuer": util::mint::ISSUER, "algorithms": ["HS256"], "keys": [{"secret": hs_secret()}],
        "claim_headers": {"x-user-id": "sub"}, "user_check": check}}});
    let mut host = Host::new(util::jwt_gate_wasm())
        .unwrap()
        .with_plugin_config(config.to_string())
        .with_clusters(&["users"])
        .with_now(UNIX_EPOCH + Duration::from_secs(NOW));
    assert!(host.start_plugin(), "{:?}", host.logs());
    host
}

fn request(host: &mut Host, sub: &str) -> (u32, Action) {
    let mut c = claims(NOW);
    c["sub"] = json!(sub);
    c["exp"] = json!(NOW + 3600);
    util::jwks::send(host, &mint("HS256", &c, &json!(null)))
}

fn status(host: &Host, id: u32) -> Option<u32> {
    host.local_response(id).map(|r| r.status)
}

#[test]
fn active_user_passes_and_the_answer_is_cached_for_every_worker() {
    let mut host = host("deny");
    let (id, action) = request(&mut host, "u/1");
    assert_eq!(action, Action::Pause);
    let calls = host.pending_http_calls();
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0]
            .headers
            .iter()
            .any(|(n, v)| n == ":path" && v == "/internal/users/u%2F1"),
        "{:?}",
        calls[0].headers
    );
    // A concurrent request for the same subject joins the call in flight.
    let (id2, _) = request(&mut host, "u/1");
    assert_eq!(host.pending_http_calls().len(), 1);
    host.respond_to_http_call(calls[0].token, 200, &[], b"{}")
        .unwrap();
    for id in [id, id2] {
        assert!(host.resumed(id));
        assert_eq!(status(&host, id), None);
    }
    let slot = util::user_slot("corp", "u/1", usercheck::DEFAULT_CACHE_SLOTS);
    assert!(host.get_shared_data(&slot).is_some());
    // Cached: no callout for the next request.
    let (_, action) = request(&mut host, "u/1");
    assert_eq!(action, Action::Continue);
    assert_eq!(host.pending_http_calls().len(), 0);
    assert_eq!(host.metric("jwt_gate.user_checks.active"), Some(1));
    host.tick();
    assert_eq!(
        host.metric("jwt_gate.user_checks.cache_miss"),
        Some(2),
        "the two requests that found nothing cached"
    );
    assert_eq!(host.metric("jwt_gate.user_checks.cache_hit"), Some(1));
}

#[test]
fn deleted_user_gets_401_once_the_positive_cache_expires() {
    let mut host = host("deny");
    let (_, _) = request(&mut host, "bob");
    let t = host.pending_http_calls()[0].token;
    host.respond_to_http_call(t, 200, &[], b"{}").unwrap();
    host.advance(Duration::from_secs(61));
    let (id, action) = request(&mut host, "bob");
    assert_eq!(action, Action::Pause, "cache expired: asks again");
    let t = host.pending_http_calls()[0].token;
    host.respond_to_http_call(t, 404, &[], b"").unwrap();
    let reply = host.local_response(id).expect("401");
    assert_eq!(reply.status, 401);
    assert!(reply
        .headers
        .iter()
        .any(|(n, v)| n == "www-authenticate" && v.contains("user not found")));
    // The negative answer is cached for negative_ttl_s.
    let (id, action) = request(&mut host, "bob");
    assert_eq!(action, Action::Pause);
    assert_eq!(status(&host, id), Some(401));
    assert!(host.pending_http_calls().is_empty());
    host.advance(Duration::from_secs(5));
    let (_, action) = request(&mut host, "bob");
    assert_eq!(action, Action::Pause);
    assert_eq!(host.pending_http_calls().len(), 1, "negative entry expired");
}

#[test]
fn unusable_answer_follows_on_error() {
    let mut deny = host("deny");
    let (id, _) = request(&mut deny, "carol");
    let t = deny.pending_http_calls()[0].token;
    deny.respond_to_http_call(t, 500, &[], b"").unwrap();
    assert_eq!(status(&deny, id), Some(503));

    let mut allow = host("allow");
    let (id, _) = request(&mut allow, "carol");
    let t = allow.pending_http_calls()[0].token;
    allow.fail_http_call(t).unwrap();
    assert!(allow.resumed(id));
    assert_eq!(status(&allow, id), None);
}

#[test]
fn a_lost_answer_ends_the_wait_at_the_deadline() {
    let mut host = host("deny");
    let (id, _) = request(&mut host, "dave");
    host.advance(Duration::from_millis(1600));
    host.tick();
    assert_eq!(status(&host, id), Some(503), "{:?}", host.logs());
    assert!(host.trap().is_none());
}

/// Answers the one pending user check with `status_code`; request `id` must end as
/// `expected` (`None`: forwarded).
fn answer(host: &mut Host, id: u32, status_code: u32, expected: Option<u32>) {
    let calls = host.pending_http_calls();
    assert_eq!(calls.len(), 1, "one callout for request {id}");
    host.respond_to_http_call(calls[0].token, status_code, &[], b"{}")
        .unwrap();
    assert_eq!(status(host, id), expected);
}

#[test]
fn the_cache_holds_at_most_cache_slots_subjects() {
    let mut host = host_with_slots("deny", Some(4));
    let subjects: Vec<String> = (0..40).map(|i| format!("user-{i}")).collect();
    for sub in &subjects {
        let (id, action) = request(&mut host, sub);
        assert_eq!(action, Action::Pause, "{sub}: nothing cached yet");
        answer(&mut host, id, 200, None);
    }
    // Shared data never frees a key: 40 subjects, at most 4 keys.
    let keys: Vec<String> = host
        .shared_data()
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("jwt-gate/user/"))
        .collect();
    assert!(!keys.is_empty() && keys.len() <= 4, "{keys:?}");
    // Each slot answers only for the subject written last into it. In reverse order,
    // that subject is the first of its slot to come back (a hit); every other subject
    // is a miss and asks again (and then takes the slot, its answer deciding).
    let last_of_slot: std::collections::HashMap<String, &String> = subjects
        .iter()
        .map(|sub| (util::user_slot("corp", sub, 4), sub))
        .collect();
    let mut from_cache = Vec::new();
    for sub in subjects.iter().rev() {
        let (id, action) = request(&mut host, sub);
        if action == Action::Continue {
            from_cache.push(sub);
            assert!(host.pending_http_calls().is_empty());
        } else {
            answer(&mut host, id, 200, None);
        }
    }
    let mut expected: Vec<&String> = last_of_slot.into_values().collect();
    expected.sort();
    from_cache.sort();
    assert_eq!(from_cache, expected, "one cached subject per slot");
    assert_eq!(from_cache.len(), keys.len());
}

#[test]
fn a_shared_slot_never_answers_for_another_subject() {
    // One slot: every subject shares it.
    let mut host = host_with_slots("deny", Some(1));
    let (id, _) = request(&mut host, "gone-user");
    answer(&mut host, id, 404, Some(401));
    // The cached "gone" names gone-user: active-user is asked, not refused.
    let (id, action) = request(&mut host, "active-user");
    assert_eq!(action, Action::Pause);
    answer(&mut host, id, 200, None);
    // Now the slot vouches for active-user, which is no reason to let gone-user in.
    let (id, action) = request(&mut host, "gone-user");
    assert_eq!(action, Action::Pause);
    answer(&mut host, id, 404, Some(401));
    let (id, action) = request(&mut host, "gone-user");
    assert_eq!((action, status(&host, id)), (Action::Pause, Some(401)));
    assert!(
        host.pending_http_calls().is_empty(),
        "gone-user's answer is cached"
    );
}
