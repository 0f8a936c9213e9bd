"""A misbehaving identity provider for e2e/test_faults.py: JWKS and user endpoints whose
behaviour the test switches while Envoy talks to them.

One stdlib HTTP server on 127.0.0.1 (a free port), run in a thread like
e2e/idp_service.py:

* `GET /jwks/<name>.json`: key set `<name>` (any name; each has its own mode, "ok" until
  set), the keys of `set_keys`;
* `GET /users/<sub>`: the user service: 200 for a subject in `users`, else 404;
* `GET /revoked.json`: the revocation list `{"jti": [...], "sub": [...]}` of
  `set_revoked` (mode "ok"), or 500 (mode "500", `set_revoked_mode`);
* `POST /control?jwks=<name>&mode=<mode>` or `?users=1&mode=<mode>`: switches a mode
  (the same as `set_jwks_mode` / `set_user_mode`, for a server run by hand:
  `python3 e2e/fault_idp.py --port 8090`).

JWKS modes (each is one way a real IdP, or what stands in front of it, breaks):

  ok          200, the key set
  slow        the key set, after `slow_s` (longer than the filter's fetch timeout)
  500         500 with a JSON error body
  html        200 text/html: a proxy's error page
  huge        200, 10 MiB of JSON holding the right keys plus padding
  truncated   200, the first half of the key set's JSON (a complete HTTP answer)
  cut         headers promise the whole key set, half of it is sent, then the
              connection closes
  wrong_keys  200, a well-formed set of keys the provider must not use: an EC key and an
              HMAC key (the RSA public key as its secret) under the real `kid`, RSA keys
              marked `use: enc`, for encryption only, or for PS256, and a key without `n`

User modes: ok, slow, 500. "Down" is not a mode: `stop()` closes the listening socket
(connection refused) and `start()` listens again on the same port.

Every answer is counted by what was asked and the mode it was given in
(`count("jwks:main:html")`, `count("user:ok")`, `count("revoked:500")`), as it is
about to be sent.
"""

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from idp_service import LoopbackService

JWKS_MODES = ("ok", "slow", "500", "html", "huge", "truncated", "cut", "wrong_keys")
USER_MODES = ("ok", "slow", "500")
REVOKED_MODES = ("ok", "500")
HUGE_BYTES = 10 * 1024 * 1024
HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
             b"<body><h1>502 Bad Gateway</h1><p>The upstream server is not available.</p></body></html>\n")


def unusable_keys(jwk, public_pem=None):
    """JWKs a provider allowing only RS256 must skip, some under `jwk`'s own kid."""
    rsa = {k: jwk[k] for k in ("kty", "n", "e")}
    kid = jwk["kid"]
    keys = [
        # P-256 key under the real kid (the point of RFC 7515's example key).
        {"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
         "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        {**rsa, "alg": "RS256", "use": "enc", "kid": f"{kid}-enc"},
        {**rsa, "alg": "RS256", "key_ops": ["encrypt"], "kid": f"{kid}-ops"},
        {**rsa, "alg": "PS256", "use": "sig", "kid": f"{kid}-ps"},
        {"kty": "RSA", "e": jwk["e"], "alg": "RS256", "use": "sig", "kid": f"{kid}-no-n"},
    ]
    if public_pem is not None:
        # The classic key confusion: the RSA public key's PEM as an HMAC secret.
        import base64

        secret = base64.urlsafe_b64encode(public_pem).rstrip(b"=").decode()
        keys.append({"kty": "oct", "k": secret, "alg": "HS256", "use": "sig", "kid": kid})
    return keys


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server naming)
        idp = self.server.idp
        path = urlsplit(self.path).path
        if path.startswith("/jwks/") and path.endswith(".json"):
            self._jwks(idp, path[len("/jwks/"):-len(".json")])
        elif path.startswith("/users/"):
            self._user(idp, unquote(path[len("/users/"):]))
        elif path == "/revoked.json":
            self._revoked(idp)
        else:
            self._answer(404, b'{"error": "not found"}')

    def do_POST(self):  # noqa: N802
        idp = self.server.idp
        target = urlsplit(self.path)
        if target.path != "/control":
            self._answer(404, b'{"error": "not found"}')
            return
        query = parse_qs(target.query)
        mode = query.get("mode", [""])[0]
        try:
            if "jwks" in query:
                idp.set_jwks_mode(mode, query["jwks"][0])
            elif "users" in query:
                idp.set_user_mode(mode)
            else:
                raise ValueError("name jwks=<name> or users=1")
        except ValueError as problem:
            self._answer(400, json.dumps({"error": str(problem)}).encode())
            return
        self._answer(200, b'{"ok": true}')

    def _jwks(self, idp, name):
        with idp.lock:
            mode = idp.jwks_modes.get(name, "ok")
            body = json.dumps({"keys": list(idp.keys)}).encode()
            wrong = json.dumps({"keys": list(idp.wrong_keys)}).encode()
        idp._record(f"jwks:{name}:{mode}")
        if mode == "slow":
            time.sleep(idp.slow_s)
            self._answer(200, body)
        elif mode == "500":
            self._answer(500, b'{"error": "internal server error"}')
        elif mode == "html":
            self._answer(200, HTML_PAGE, content_type="text/html; charset=utf-8")
        elif mode == "huge":
            self._answer(200, idp.huge_body())
        elif mode == "truncated":
            self._answer(200, body[: len(body) // 2])
        elif mode == "cut":
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.send_header("connection", "close")
            self.close_connection = True
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
        elif mode == "wrong_keys":
            self._answer(200, wrong)
        else:
            self._answer(200, body)

    def _user(self, idp, sub):
        with idp.lock:
            mode = idp.user_mode
            active = sub in idp.users
        idp._record(f"user:{mode}")
        if mode == "slow":
            time.sleep(idp.slow_s)
        if mode == "500":
            self._answer(500, b'{"error": "database unavailable"}')
        elif active:
            self._answer(200, json.dumps({"sub": sub, "active": True}).encode())
        else:
            self._answer(404, b'{"error": "no such user"}')

    def _revoked(self, idp):
        with idp.lock:
            mode = idp.revoked_mode
            body = json.dumps(idp.revoked).encode()
        idp._record(f"revoked:{mode}")
        if mode == "500":
            self._answer(500, b'{"error": "internal server error"}')
        else:
            self._answer(200, body)

    def _answer(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        # One request per connection, so that `stop()` really cuts Envoy off.
        self.send_header("connection", "close")
        self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class FaultIdp(LoopbackService):
    """The server; `with FaultIdp(keys=[jwk]) as idp:` runs it, `idp.port` is where."""

    handler = _Handler

    def __init__(self, keys=(), users=(), wrong_keys=(), slow_s=3.0):
        self.lock = threading.Lock()
        self.keys = list(keys)
        self.wrong_keys = list(wrong_keys)
        self.users = set(users)
        self.slow_s = slow_s
        self.jwks_modes = {}
        self.user_mode = "ok"
        self.revoked = {"jti": [], "sub": []}
        self.revoked_mode = "ok"
        self.counts = {}
        self.port = 0
        self.server = None
        self.thread = None
        self._huge = None

    # --- control from the test -------------------------------------------------------

    def set_jwks_mode(self, mode, name="main"):
        if mode not in JWKS_MODES:
            raise ValueError(f"unknown JWKS mode {mode!r}: one of {', '.join(JWKS_MODES)}")
        with self.lock:
            self.jwks_modes[name] = mode

    def set_user_mode(self, mode):
        if mode not in USER_MODES:
            raise ValueError(f"unknown user mode {mode!r}: one of {', '.join(USER_MODES)}")
        with self.lock:
            self.user_mode = mode

    def set_revoked(self, jti=(), sub=()):
        """The revocation list served at /revoked.json."""
        with self.lock:
            self.revoked = {"jti": list(jti), "sub": list(sub)}

    def set_revoked_mode(self, mode):
        if mode not in REVOKED_MODES:
            raise ValueError(f"unknown revocation mode {mode!r}: one of {', '.join(REVOKED_MODES)}")
        with self.lock:
            self.revoked_mode = mode

    def set_keys(self, *keys):
        with self.lock:
            self.keys = list(keys)
            self._huge = None

    def add_user(self, sub):
        with self.lock:
            self.users.add(sub)

    def count(self, what):
        with self.lock:
            return self.counts.get(what, 0)

    def huge_body(self):
        """HUGE_BYTES of valid JSON: the right key set, padded."""
        with self.lock:
            if self._huge is None:
                head = json.dumps({"keys": list(self.keys)})[:-1].encode() + b', "padding": "'
                self._huge = head + b"x" * (HUGE_BYTES - len(head) - 2) + b'"}'
            return self._huge

    # --- internals ---------------------------------------------------------------------

    def _record(self, what):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1



def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--jwks-file", help="a JWK Set to serve (default: no keys)")
    args = parser.parse_args()
    keys = json.loads(open(args.jwks_file).read())["keys"] if args.jwks_file else []
    idp = FaultIdp(keys=keys)
    idp.port = args.port
    with idp:
        print(f"fault IdP on 127.0.0.1:{idp.port}: GET /jwks/<name>.json, GET /users/<sub>, "
              f"POST /control?jwks=<name>&mode=<{'|'.join(JWKS_MODES)}>", flush=True)
        try:
            idp.thread.join()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
