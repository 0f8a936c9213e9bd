"""The README quickstart, automated: `scripts/demo.sh start` (what `make demo` runs after
building), then the walkthrough over HTTP, then `scripts/demo.sh stop`.

Run with `make demo-test` (part of `make test`). Uses the demo's fixed ports
(127.0.0.1:8080/8081/8082/9901) and its own throw-away database. Ends with the line
`N passed, M failed`.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = "http://127.0.0.1:8080"
AUTH_API = "http://127.0.0.1:8082"
USER_CACHE_TTL_S = 5  # envoy.yaml: user_check.cache_ttl_s


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def request(method, url, headers=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("content-type", "application/json")
    try:
        with OPENER.open(req, timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def login(username):
    status, _, body = request("POST", f"{GATEWAY}/api/auth/login", body={"username": username, "password": f"{username}-password"})
    assert status == 200, (status, body)
    return json.loads(body)["access_token"]


def bearer(token):
    return {"authorization": f"Bearer {token}"}


class Quickstart(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db_dir = tempfile.mkdtemp(prefix="jwt-gate-demo-")
        env = {**os.environ, "DEMO_DB": f"{cls.db_dir}/users.db"}
        started = subprocess.run(["bash", "scripts/demo.sh", "start"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
        if started.returncode != 0:
            raise RuntimeError(f"demo did not start:\n{started.stdout}\n{started.stderr}")
        cls.walkthrough = started.stdout

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["bash", "scripts/demo.sh", "stop"], cwd=ROOT, timeout=60)
        shutil.rmtree(cls.db_dir, ignore_errors=True)

    def test_start_prints_the_walkthrough(self):
        self.assertIn("http://127.0.0.1:8080", self.walkthrough)
        self.assertIn("/api/auth/login", self.walkthrough)

    def test_logged_in_user_reaches_the_backend_as_claim_headers(self):
        status, _, body = request("GET", f"{GATEWAY}/api/me", {**bearer(login("alice")), "x-user-id": "spoofed"})
        self.assertEqual(status, 200, body)
        seen = json.loads(body)
        self.assertEqual(seen["headers"]["x-user-id"], "1")
        self.assertEqual(seen["headers"]["x-user-email"], "alice@example.com")
        self.assertFalse(seen["authorization_received"], "the token reached the backend")

    def test_no_token_is_401_and_a_spoofed_identity_never_passes(self):
        status, headers, _ = request("GET", f"{GATEWAY}/api/me", {"x-user-id": "1"})
        self.assertEqual(status, 401)
        self.assertTrue(headers.get("www-authenticate", "").startswith('Bearer realm="jwt-gate"'))

    def test_admin_route_is_403_for_a_reader_and_200_for_an_admin(self):
        status, headers, _ = request("GET", f"{GATEWAY}/api/admin/users", bearer(login("bob")))
        self.assertEqual(status, 403)
        self.assertIn('error="insufficient_scope"', headers.get("www-authenticate", ""))
        status, _, _ = request("DELETE", f"{GATEWAY}/api/admin/users/9", bearer(login("alice")))
        self.assertEqual(status, 200)

    def test_public_route_needs_no_token(self):
        status, _, _ = request("GET", f"{GATEWAY}/api/public/hello")
        self.assertEqual(status, 200)

    def test_browser_without_session_is_sent_to_login_and_the_cookie_gets_in(self):
        status, headers, _ = request("GET", f"{GATEWAY}/app/", {"accept": "text/html"})
        self.assertEqual(status, 302)
        self.assertEqual(headers.get("location"), "/login?return_to=%2Fapp%2F")
        status, _, body = request("GET", f"{GATEWAY}/app/", {"accept": "text/html", "cookie": f"access_token={login('alice')}"})
        self.assertEqual(status, 200)
        self.assertIn("alice@example.com", body)

    def test_internal_user_api_is_not_reachable_through_the_gateway(self):
        status, _, _ = request("DELETE", f"{GATEWAY}/internal/users/1", bearer(login("alice")))
        self.assertNotEqual(status, 200)

    def test_deleted_user_gets_401_once_the_user_cache_expires(self):
        token = login("bob")
        status, _, _ = request("GET", f"{GATEWAY}/api/me", bearer(token))
        self.assertEqual(status, 200)
        status, _, _ = request("DELETE", f"{AUTH_API}/internal/users/2")
        self.assertIn(status, (200, 204))
        deadline = time.monotonic() + USER_CACHE_TTL_S + 5
        while time.monotonic() < deadline:
            status, _, body = request("GET", f"{GATEWAY}/api/me", bearer(token))
            if status == 401:
                self.assertIn("user not found", body)
                return
            time.sleep(0.25)
        self.fail(f"bob's token still passes {USER_CACHE_TTL_S + 5} s after deletion")

    def test_metrics_are_on_stats_prometheus(self):
        with urllib.request.urlopen("http://127.0.0.1:9901/stats/prometheus", timeout=10) as reply:
            text = reply.read().decode()
        for name in ("jwt_gate_requests_allow", "jwt_gate_requests_deny", "jwt_gate_jwks_fetches_ok", "jwt_gate_user_checks_active"):
            self.assertIn(name, text)


def main():
    # Alphabetical order: the deletion test removes bob, and only tests sorted before it use bob.
    loader = unittest.TestLoader()
    loader.sortTestMethodsUsing = lambda a, b: (a > b) - (a < b)
    suite = loader.loadTestsFromTestCase(Quickstart)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
