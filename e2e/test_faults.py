"""Fault injection in a real Envoy (runtime V8): jwt-gate against an IdP that breaks.

The IdP is e2e/fault_idp.py (cluster `idp`): its JWKS and user endpoints are switched
between "ok" and the ways an IdP fails (down, slow past the fetch timeout, 500, an HTML
page, 10 MiB, truncated JSON, a cut connection, keys the provider must not use). What
must hold, each time:

* with a last good key set, valid tokens keep getting 200, the failed fetch is counted
  under its reason and the filter keeps serving (`KeysKeptThroughIdpFaults`);
* before any good key set, a valid token gets 503 with Retry-After, never 200, and the
  provider recovers once its endpoint does (`NoGoodKeySetYet`: one provider per fault);
* a forged token (bad signature, a foreign key under the real `kid`, an unknown `kid`,
  HS256 with the RSA public key as secret, `alg: none`) or an expired one never gets 200;
* a user service that is down, slow or failing gets the configured `on_error`: 503
  (`deny`) or the verified token passes (`allow`) (`UserCheckFaults`);
* a token whose `jti` or `sub` the revocation list names, or whose `sub` is in
  `deny_subjects`, gets 401 "token revoked", also from the verified-token cache, and a
  failing list endpoint leaves the last good list in force (`RevocationInEnvoy`).

The provider's timings are small (fetch timeout 0.8 s, refresh 1 s, Envoy connect
timeout 0.25 s) so the whole file runs in about a minute.

Run after `make build` and `scripts/venv.sh`:  .venv/bin/python e2e/test_faults.py
Environment: JWT_GATE_WASM, ENVOY_BIN, E2E_TIMEOUT_S (whole run, default 180). Prints
the Envoy logs when something fails and ends with "N passed, M failed".
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ beside the sources

from cryptography.hazmat.primitives import serialization  # noqa: E402

from echo_upstream import EchoUpstream  # noqa: E402
from fault_idp import FaultIdp, unusable_keys  # noqa: E402
from harness import Envoy, http_request, render_bootstrap, static_cluster  # noqa: E402
from idp_service import SigningKey  # noqa: E402
from test_e2e import AUDIENCE, ISSUER, bearer, claims_for, eventually, fixture, run_module  # noqa: E402

RUN_TIMEOUT_S = int(os.environ.get("E2E_TIMEOUT_S", 180))
FETCH_TIMEOUT_MS = 800
REMOTE = {"cluster": "idp", "timeout_ms": FETCH_TIMEOUT_MS, "refresh_s": 1, "min_refetch_s": 1}
SLOW_S = 2.5  # a slow answer: well past FETCH_TIMEOUT_MS and USER_TIMEOUT_MS
USER_TIMEOUT_MS = 500
CONNECT_TIMEOUT = "0.25s"
# Slack on top of a timeout or refresh period: the filter's schedule runs on a 1 s tick,
# and two VMs (main thread, worker) fetch, each on its own schedule; the machine may be busy.
SLACK_S = 4
# How each fault shows in jwt_gate.jwks_fetches.<reason>. Envoy answers the callout
# itself for a refused connection (503) and for a timeout (504); only a connection cut
# mid-answer reaches the filter as no answer at all.
JWKS_FAULTS = {
    "down": "bad_status",
    "slow": "bad_status",
    "500": "bad_status",
    "html": "invalid",
    "huge": "too_large",
    "truncated": "invalid",
    "cut": "unreachable",
    "wrong_keys": "invalid",
}
# Signs of a dead or restarted VM in Envoy's log.
# (V8 reports a Rust panic as "Function: proxy_on_... failed: Uncaught RuntimeError: unreachable".)
VM_FAILURE_SIGNS = ("panicked at", "Function: proxy_on", "Uncaught RuntimeError", "wasm_fail", "fail closed")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Keys:
    """k1: the IdP's signing key. k2: a key it rotates to. attacker: nobody's key."""

    k1 = SigningKey.from_pem("k1", fixture("rsa2048.key.pem"))
    k2 = SigningKey.from_pem("k2", fixture("rsa2048-other.key.pem"))
    attacker_pem = fixture("rsa2048-other.key.pem")
    public_pem = k1.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def token(sub, issuer=ISSUER, key=Keys.k1, **claims):
    return key.mint({**claims_for(sub), "iss": issuer, **claims})


def forged_tokens(issuer=ISSUER):
    """(name, token) pairs that must never get 200 from any provider of `issuer`."""
    claims = {**claims_for("mallory"), "iss": issuer, "roles": ["admin"]}
    good = Keys.k1.mint(claims)
    head, payload, signature = good.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    hs_head = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    hs_signature = b64url(hmac.new(Keys.public_pem, f"{hs_head}.{payload}".encode(), hashlib.sha256).digest())
    none_head = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": "k1"}).encode())
    return [
        ("tampered signature", f"{head}.{payload}.{flipped}"),
        ("foreign key under the real kid", SigningKey.from_pem("k1", Keys.attacker_pem).mint(claims)),
        ("foreign key under an unknown kid", SigningKey.from_pem("k9", Keys.attacker_pem).mint(claims)),
        ("HS256 with the RSA public key as secret", f"{hs_head}.{payload}.{hs_signature}"),
        ("alg none", f"{none_head}.{payload}."),
        ("expired", Keys.k1.mint({**claims, "iat": claims["iat"] - 7200, "exp": claims["iat"] - 3600})),
    ]


class FaultHelpers:
    """Requests and assertions the classes share; `cls.envoy` is their Envoy."""

    envoy = None

    def get(self, path, tok=None):
        return http_request(self.envoy.listener_port, path, bearer(tok) if tok else {})

    def assert_passes(self, reply, sub):
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(reply.json()["headers"].get("x-user-id"), sub, reply)

    def assert_503(self, reply):
        self.assertEqual(reply.status, 503, reply)
        self.assertEqual(reply.json()["error"], "temporarily_unavailable", reply)
        self.assertTrue(reply.headers.get("retry-after", "").isdigit(), reply.headers)

    def assert_forged_never_pass(self, path, issuer=ISSUER, allowed=(401,)):
        for name, forged in forged_tokens(issuer):
            with self.subTest(forged=name):
                reply = self.get(path, forged)
                self.assertIn(reply.status, allowed, f"{name}: {reply}")

    def assert_vm_alive(self):
        self.assertIsNone(self.envoy.proc.poll(), "Envoy exited")
        log = self.envoy.log()
        signs = [line for line in log.splitlines() if any(s in line for s in VM_FAILURE_SIGNS)]
        self.assertFalse(signs, "the wasm VM failed:\n" + "\n".join(signs[:10]))

    def stat(self, name):
        return self.envoy.prometheus().get(name, 0)

    @classmethod
    def start_envoy(cls, name, config, clusters):
        cls.upstream = cls.enterClassContext(EchoUpstream())
        bootstrap = render_bootstrap(upstream_port=cls.upstream.port, plugin_config=config, clusters={
            cluster: static_cluster(cluster, port, connect_timeout=CONNECT_TIMEOUT)
            for cluster, port in clusters.items()})
        cls.envoy = cls.enterClassContext(Envoy(name, bootstrap))
        cls.envoy.start().wait_ready()

    @classmethod
    def wait_for_first_keys(cls):
        """Until a valid token passes: the provider has its first key set."""
        warm = token("warm-up")
        reply = eventually(lambda: http_request(cls.envoy.listener_port, "/warm-up", bearer(warm)),
                           lambda r: r.status == 200, FETCH_TIMEOUT_MS / 1000 + SLACK_S)
        if reply.status != 200:
            raise AssertionError(f"the first key set never loaded: {reply}")


def remote_provider(jwks, issuer=ISSUER, cluster="idp"):
    return {
        "issuer": issuer,
        "audiences": [AUDIENCE],
        "algorithms": ["RS256"],
        "keys": [{"remote_jwks": {**REMOTE, "cluster": cluster, "uri": f"http://idp.test/jwks/{jwks}.json"}}],
        "claim_headers": {"x-user-id": "sub"},
    }


class KeysKeptThroughIdpFaults(FaultHelpers, unittest.TestCase):
    """One Envoy whose provider loaded k1 from /jwks/main.json; each test breaks the
    endpoint one way, waits until a fetch has failed that way, checks, and mends it."""

    @classmethod
    def setUpClass(cls):
        cls.idp = FaultIdp(keys=[Keys.k1.jwk], wrong_keys=unusable_keys(Keys.k1.jwk, Keys.public_pem),
                           slow_s=SLOW_S).start()
        cls.addClassCleanup(cls.idp.stop)
        # Keeping the last good keys through a failed refresh is the `stale` policy (the
        # default, `deny`, answers 503 once a due refresh fails: test_e2e.py IdpOutage).
        kept = {**remote_provider("main"), "on_keys_unavailable": "stale", "stale_max_s": 3600}
        cls.start_envoy("faults-kept", {"providers": {"idp": kept}}, {"idp": cls.idp.port})
        cls.wait_for_first_keys()

    def survives(self, fault):
        """Breaks the JWKS endpoint as `fault` until a fetch failed that way, then checks
        that valid tokens pass and forged ones do not; mends the endpoint afterwards."""
        reason = JWKS_FAULTS[fault]
        metric = f"jwt_gate_jwks_fetches_{reason}"
        failed_before = self.stat(metric)
        if fault == "down":
            self.idp.stop()
            self.addCleanup(self.idp.start)
        else:
            self.idp.set_jwks_mode(fault)
            self.addCleanup(self.idp.set_jwks_mode, "ok")
        # The IdP has given this fault (a refused connection leaves no trace there) and the
        # filter has counted a failure of its kind.
        served = (lambda: 1) if fault == "down" else (lambda: self.idp.count(f"jwks:main:{fault}"))
        served_before = 0 if fault == "down" else served()
        deadline_s = REMOTE["refresh_s"] + FETCH_TIMEOUT_MS / 1000 + SLACK_S
        eventually(served, lambda n: n > served_before, deadline_s)
        failed = eventually(lambda: self.stat(metric), lambda n: n > failed_before, deadline_s)
        self.assertGreater(served(), served_before, f"the IdP never answered a fetch as {fault}")
        self.assertGreater(failed, failed_before, f"no fetch failed as {reason}: {self.envoy.prometheus()}")
        # The worker's line: Envoy's main-thread VM fetches too, and may have no key set
        # (its log then says so), so the counter above may be its failure.
        kept = f"JWKS fetch failed: {reason} (keeping the last good key set)"
        self.assertIn(kept, eventually(self.envoy.log, lambda log: kept in log, deadline_s))
        for n in range(3):  # new tokens: verified with the kept key set, not from the token cache
            sub = f"{fault}-{n}"
            self.assert_passes(self.get(f"/{fault}", token(sub)), sub)
        self.assert_forged_never_pass(f"/{fault}")
        sub = f"{fault}-after-forgeries"  # the unknown-kid re-fetch failed too; still serving
        self.assert_passes(self.get(f"/{fault}", token(sub)), sub)
        self.assert_vm_alive()

    def test_idp_down_connection_refused(self):
        self.survives("down")

    def test_jwks_slower_than_the_fetch_timeout(self):
        self.survives("slow")

    def test_jwks_500(self):
        self.survives("500")

    def test_jwks_html_page(self):
        self.survives("html")

    def test_jwks_10_mib(self):
        self.survives("huge")

    def test_jwks_truncated_json(self):
        self.survives("truncated")

    def test_jwks_connection_cut_mid_body(self):
        self.survives("cut")

    def test_jwks_of_unusable_keys_under_the_real_kid(self):
        self.survives("wrong_keys")

    def test_rotation_works_again_once_the_idp_is_mended(self):
        self.idp.set_jwks_mode("html")
        self.addCleanup(self.idp.set_keys, Keys.k1.jwk)
        failed_before = self.stat("jwt_gate_jwks_fetches_invalid")
        eventually(lambda: self.stat("jwt_gate_jwks_fetches_invalid"), lambda n: n > failed_before,
                   REMOTE["refresh_s"] + SLACK_S)
        self.assertEqual(self.get("/rotated", token("rita", key=Keys.k2)).status, 401, "k2 is not published yet")
        self.idp.set_keys(Keys.k1.jwk, Keys.k2.jwk)
        self.idp.set_jwks_mode("ok")
        reply = eventually(lambda: self.get("/rotated", token("rita", key=Keys.k2)), lambda r: r.status == 200,
                           REMOTE["refresh_s"] + SLACK_S)
        self.assert_passes(reply, "rita")
        self.assert_passes(self.get("/rotated", token("rob")), "rob")


class NoGoodKeySetYet(FaultHelpers, unittest.TestCase):
    """One Envoy, one provider per fault (path /<fault>/ requires provider <fault>), each
    on its own JWKS endpoint, broken before Envoy starts: no provider ever had keys.
    `down` is a second IdP on its own cluster, stopped before Envoy starts."""

    @classmethod
    def setUpClass(cls):
        cls.idp = FaultIdp(keys=[Keys.k1.jwk], wrong_keys=unusable_keys(Keys.k1.jwk, Keys.public_pem),
                           slow_s=SLOW_S).start()
        cls.addClassCleanup(cls.idp.stop)
        cls.down = FaultIdp(keys=[Keys.k1.jwk]).start()
        cls.down.stop()  # its port is known now; nothing listens there
        cls.addClassCleanup(cls.down.stop)
        providers, rules = {}, []
        for fault in JWKS_FAULTS:
            if fault != "down":
                cls.idp.set_jwks_mode(fault, name=fault)
            cluster = "idp_down" if fault == "down" else "idp"
            providers[fault] = remote_provider(fault, issuer=f"{ISSUER}/{fault}", cluster=cluster)
            rules.append({"match": {"prefix": f"/{fault}/"}, "require": {"providers": [fault]}})
        config = {"providers": providers, "rules": rules, "default_action": "deny"}
        cls.start_envoy("faults-no-keys", config, {"idp": cls.idp.port, "idp_down": cls.down.port})

    def never_loaded(self, fault):
        """503 + Retry-After for a valid token while the endpoint is broken, within the
        fetch timeout; forged tokens never 200; then the endpoint is mended and the same
        token passes once a fetch succeeded."""
        issuer = f"{ISSUER}/{fault}"
        path = f"/{fault}/api"
        valid = token("vera", issuer=issuer)
        for _ in range(2):
            started = time.monotonic()
            self.assert_503(self.get(path, valid))
            self.assertLess(time.monotonic() - started, FETCH_TIMEOUT_MS / 1000 + SLACK_S)
        self.assert_forged_never_pass(path, issuer, allowed=(401, 503))
        self.assertGreaterEqual(self.stat(f"jwt_gate_jwks_fetches_{JWKS_FAULTS[fault]}"), 1)
        self.assert_vm_alive()
        if fault == "down":
            self.down.start()
        else:
            self.idp.set_jwks_mode("ok", name=fault)
        reply = eventually(lambda: self.get(path, valid), lambda r: r.status == 200, REMOTE["refresh_s"] + SLACK_S)
        self.assert_passes(reply, "vera")
        self.assert_forged_never_pass(path, issuer)

    def test_idp_down_connection_refused(self):
        self.never_loaded("down")

    def test_jwks_slower_than_the_fetch_timeout(self):
        self.never_loaded("slow")

    def test_jwks_500(self):
        self.never_loaded("500")

    def test_jwks_html_page(self):
        self.never_loaded("html")

    def test_jwks_10_mib_holding_the_right_key(self):
        self.never_loaded("huge")

    def test_jwks_truncated_json(self):
        self.never_loaded("truncated")

    def test_jwks_connection_cut_mid_body(self):
        self.never_loaded("cut")

    def test_jwks_of_unusable_keys_under_the_real_kid(self):
        self.never_loaded("wrong_keys")


class UserCheckFaults(FaultHelpers, unittest.TestCase):
    """Two providers with the same static key and a user check against the fault IdP's
    /users/{sub}: `deny` (on_error deny, path /deny/) and `allow` (on_error allow, path
    /allow/). Every test uses subjects of its own (answers are cached per subject)."""

    @classmethod
    def setUpClass(cls):
        cls.idp = FaultIdp(slow_s=SLOW_S).start()
        cls.addClassCleanup(cls.idp.stop)
        providers, rules = {}, []
        for policy in ("deny", "allow"):
            providers[policy] = {
                "issuer": f"{ISSUER}/{policy}",
                "audiences": [AUDIENCE],
                "algorithms": ["RS256"],
                "keys": [{"pem": fixture("rsa2048.pub.pem"), "kid": "k1"}],
                "claim_headers": {"x-user-id": "sub"},
                "user_check": {"cluster": "idp", "authority": "idp.test", "path": "/users/{sub}",
                               "timeout_ms": USER_TIMEOUT_MS, "cache_ttl_s": 60, "negative_ttl_s": 60,
                               "on_error": policy},
            }
            rules.append({"match": {"prefix": f"/{policy}/"}, "require": {"providers": [policy]}})
        config = {"providers": providers, "rules": rules, "default_action": "deny"}
        cls.start_envoy("faults-user-check", config, {"idp": cls.idp.port})

    def ask(self, policy, sub):
        return self.get(f"/{policy}/api", token(sub, issuer=f"{ISSUER}/{policy}"))

    def assert_user_gone(self, reply):
        self.assertEqual(reply.status, 401, reply)
        self.assertIn("user not found", reply.headers.get("www-authenticate", ""))

    def users(self, *names):
        """Subjects of this test, created in the user service."""
        test = self.id().rsplit(".", 1)[-1].removeprefix("test_")[:24]
        subs = [f"{test}-{name}" for name in names]
        for sub in subs:
            self.idp.add_user(sub)
        return subs

    def on_error_applies(self, break_service, mend_service, max_wait_s):
        active, cached_active = self.users("active", "cached")
        cached_gone = self.id().rsplit(".", 1)[-1] + "-gone"  # never created: 404
        for policy in ("deny", "allow"):
            self.assert_passes(self.ask(policy, cached_active), cached_active)
            self.assert_user_gone(self.ask(policy, cached_gone))
        break_service()
        self.addCleanup(mend_service)
        for policy in ("deny", "allow"):
            with self.subTest(policy=policy):
                started = time.monotonic()
                reply = self.ask(policy, active)
                self.assertLess(time.monotonic() - started, max_wait_s)
                if policy == "deny":
                    self.assert_503(reply)
                else:
                    self.assert_passes(reply, active)
                # Answers cached before the fault still hold, both ways.
                self.assert_passes(self.ask(policy, cached_active), cached_active)
                self.assert_user_gone(self.ask(policy, cached_gone))
                self.assert_forged_never_pass(f"/{policy}/api", f"{ISSUER}/{policy}")
        self.assert_vm_alive()
        mend_service()
        # A failed check is not cached: once the service answers, the same user passes.
        self.assert_passes(self.ask("deny", active), active)

    def test_user_service_answering_500(self):
        self.on_error_applies(lambda: self.idp.set_user_mode("500"), lambda: self.idp.set_user_mode("ok"), SLACK_S)

    def test_user_service_slower_than_the_check_timeout(self):
        self.on_error_applies(lambda: self.idp.set_user_mode("slow"), lambda: self.idp.set_user_mode("ok"),
                              USER_TIMEOUT_MS / 1000 + SLACK_S)

    def test_user_service_down_connection_refused(self):
        self.on_error_applies(self.idp.stop, self.idp.start, SLACK_S)

    def test_user_service_up_answers_decide(self):
        (alice,) = self.users("alice")
        for policy in ("deny", "allow"):
            self.assert_passes(self.ask(policy, alice), alice)
            self.assert_user_gone(self.ask(policy, f"{alice}-nobody"))


class RevocationInEnvoy(FaultHelpers, unittest.TestCase):
    """One Envoy whose provider has keys from /jwks/main.json, a revocation list from
    /revoked.json refreshed every second, and `deny_subjects: ["svc-compromised"]`. Each
    test lists something, waits until Envoy refuses it, and empties the list again."""

    REFRESH_S = 1

    @classmethod
    def setUpClass(cls):
        cls.idp = FaultIdp(keys=[Keys.k1.jwk]).start()
        cls.addClassCleanup(cls.idp.stop)
        provider = {
            **remote_provider("main"),
            "revocation": {"cluster": "idp", "uri": "http://idp.test/revoked.json",
                           "refresh_s": cls.REFRESH_S, "timeout_ms": FETCH_TIMEOUT_MS},
            "deny_subjects": ["svc-compromised"],
        }
        cls.start_envoy("faults-revocation", {"providers": {"idp": provider}}, {"idp": cls.idp.port})
        cls.wait_for_first_keys()
        loaded = eventually(lambda: cls.envoy.prometheus().get("jwt_gate_revocation_fetches_ok", 0),
                            lambda n: n > 0, cls.REFRESH_S + SLACK_S)
        if not loaded:
            raise AssertionError("the revocation list never loaded")

    def setUp(self):
        self.addCleanup(self.idp.set_revoked_mode, "ok")
        self.addCleanup(self.idp.set_revoked)

    def assert_revoked(self, reply):
        self.assertEqual(reply.status, 401, reply)
        challenge = reply.headers.get("www-authenticate", "")
        self.assertIn('error="invalid_token", error_description="token revoked"', challenge, reply.headers)
        self.assertEqual(reply.json(), {"error": "invalid_token", "message": "token revoked"}, reply)

    def refused_soon(self, path, tok):
        """The reply once the list in force refuses `tok` (or the last one at the deadline)."""
        return eventually(lambda: self.get(path, tok), lambda r: r.status == 401, self.REFRESH_S + SLACK_S)

    def test_a_listed_jti_is_refused_even_from_the_token_cache(self):
        listed = token("jti-user", jti="jti-listed")
        other = token("jti-user", jti="jti-other")
        self.assert_passes(self.get("/jti", listed), "jti-user")  # verified and cached
        revoked_before = self.stat("jwt_gate_failures_token_revoked")
        hits_before = self.stat("jwt_gate_cache_hit")
        self.idp.set_revoked(jti=["jti-listed"])
        self.assert_revoked(self.refused_soon("/jti", listed))
        # The refusal was a cache hit: the list is checked on every request.
        self.assertGreater(eventually(lambda: self.stat("jwt_gate_cache_hit"), lambda n: n > hits_before, 3),
                           hits_before)
        self.assertGreater(eventually(lambda: self.stat("jwt_gate_failures_token_revoked"),
                                      lambda n: n > revoked_before, 3), revoked_before)
        # Same subject, another jti: not listed.
        self.assert_passes(self.get("/jti", other), "jti-user")
        # Taken off the list: the token passes again.
        self.idp.set_revoked()
        reply = eventually(lambda: self.get("/jti", listed), lambda r: r.status == 200, self.REFRESH_S + SLACK_S)
        self.assert_passes(reply, "jti-user")
        self.assert_vm_alive()

    def test_a_listed_sub_is_refused_for_every_token_of_that_subject(self):
        first, second = token("sub-listed", jti="s-1"), token("sub-listed", jti="s-2")
        self.assert_passes(self.get("/sub", first), "sub-listed")
        self.idp.set_revoked(sub=["sub-listed"])
        self.assert_revoked(self.refused_soon("/sub", first))
        self.assert_revoked(self.get("/sub", second))
        self.assert_passes(self.get("/sub", token("sub-innocent")), "sub-innocent")
        self.assert_forged_never_pass("/sub")

    def test_deny_subjects_refuses_without_any_list_entry(self):
        self.assert_revoked(self.get("/deny", token("svc-compromised")))
        self.assert_passes(self.get("/deny", token("svc-fine")), "svc-fine")

    def test_a_failing_list_endpoint_keeps_the_last_good_list(self):
        kept = token("kept-user", jti="jti-kept")
        self.idp.set_revoked(jti=["jti-kept"])
        self.assert_revoked(self.refused_soon("/kept", kept))
        failed_before = self.stat("jwt_gate_revocation_fetches_failed")
        served_before = self.idp.count("revoked:500")
        self.idp.set_revoked_mode("500")
        deadline_s = self.REFRESH_S + SLACK_S
        eventually(lambda: self.idp.count("revoked:500"), lambda n: n > served_before, deadline_s)
        failed = eventually(lambda: self.stat("jwt_gate_revocation_fetches_failed"),
                            lambda n: n > failed_before, deadline_s)
        self.assertGreater(failed, failed_before, "no revocation fetch failed")
        # Even with an empty list behind the failing endpoint, the last good one holds.
        self.idp.set_revoked()
        for _ in range(3):
            self.assert_revoked(self.get("/kept", kept))
        self.assert_passes(self.get("/kept", token("kept-other")), "kept-other")
        self.assert_vm_alive()


def main():
    return run_module(sys.modules[__name__], "e2e faults", RUN_TIMEOUT_S)


if __name__ == "__main__":
    sys.exit(main())
