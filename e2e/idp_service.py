"""A stand-in identity provider for the e2e tests: JWKS endpoint + user-existence API.

One stdlib HTTP server on 127.0.0.1 (a free port), run in a thread and steered by the
test while Envoy talks to it as the cluster `idp`:

* `GET /jwks.json` answers the current key set (`set_keys`), after `jwks_delay_s`, with
  `Cache-Control` when `jwks_cache_control` is set;
* `GET /.well-known/openid-configuration` answers `discovery` (a dict) once it is set;
* `GET /internal/users/<sub>` answers 200 `{"sub": ...}` for a subject in `users`, else
  404;
* anything else is 404.

Every request is counted as it arrives (`count("jwks")`, `count("user:alice")`; a key
set sent in full also as `count("jwks_answered")`) and JWKS requests are timestamped
(`jwks_times`), so a test can tell whether and when Envoy fetched. `stop()` closes the
listening socket (Envoy then sees "connection refused", as for a crashed IdP);
`start()` brings it back on the same port.

RSA signing keys: `SigningKey.generate(kid)` or `SigningKey.from_pem(kid, pem)`; their
`.jwk` is the public JWK, `.mint(claims)` an RS256 token with that `kid`.
"""

import base64
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

JWKS_PATH = "/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"
USERS_PREFIX = "/internal/users/"


def _b64url_uint(value):
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class SigningKey:
    """An RSA private key with its `kid`: mints RS256 tokens, publishes its JWK."""

    def __init__(self, kid, private_key):
        self.kid = kid
        self.private_key = private_key

    @classmethod
    def generate(cls, kid):
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def from_pem(cls, kid, pem):
        return cls(kid, serialization.load_pem_private_key(pem.encode(), password=None))

    @property
    def jwk(self):
        numbers = self.private_key.public_key().public_numbers()
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}

    def mint(self, claims):
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server naming)
        idp = self.server.idp
        path = self.path.split("?", 1)[0]
        if path == JWKS_PATH:
            idp._record("jwks")
            if idp.jwks_delay_s:
                time.sleep(idp.jwks_delay_s)
            with idp.lock:
                body = json.dumps({"keys": list(idp.keys)}).encode()
                cache_control = idp.jwks_cache_control
            headers = {"cache-control": cache_control} if cache_control else {}
            self._answer(200, body, headers)
            idp._record("jwks_answered")
        elif path == DISCOVERY_PATH and idp.discovery is not None:
            idp._record("discovery")
            with idp.lock:
                body = json.dumps(idp.discovery).encode()
            self._answer(200, body)
        elif path.startswith(USERS_PREFIX):
            sub = unquote(path[len(USERS_PREFIX):])
            idp._record(f"user:{sub}")
            with idp.lock:
                active = sub in idp.users
            if active:
                self._answer(200, json.dumps({"sub": sub, "active": True}).encode())
            else:
                self._answer(404, b'{"error": "no such user"}')
        else:
            self._answer(404, b'{"error": "not found"}')

    def _answer(self, status, body, headers=None):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        # One request per connection, so that `stop()` really cuts Envoy off (a kept-alive
        # connection would otherwise go on being served by its handler thread).
        self.send_header("connection", "close")
        self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """Envoy hanging up mid-answer (a callout timeout, a large body, Envoy stopping) is no error here."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class LoopbackService:
    """A threaded HTTP service on 127.0.0.1 that can stop (new connections refused) and
    start again on the same port. Subclasses set `handler` (a request handler class that
    reaches the service as `self.server.idp`) and `self.port = 0`, `self.server = None`."""

    handler = None

    def start(self):
        """Listen (again) on 127.0.0.1: a free port the first time, the same one after."""
        if self.server is not None:
            return self
        self.server = _Server(("127.0.0.1", self.port), self.handler)
        self.server.idp = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        """Close the listening socket: new connections are refused."""
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class IdpService(LoopbackService):
    """The service; `with IdpService() as idp:` runs it, `idp.port` is where."""

    handler = _Handler

    def __init__(self, keys=(), users=()):
        self.lock = threading.Lock()
        self.keys = [key.jwk if isinstance(key, SigningKey) else key for key in keys]
        self.users = set(users)
        self.jwks_delay_s = 0.0
        self.jwks_cache_control = None
        self.discovery = None  # the OpenID Connect discovery document (a dict), if served
        self.counts = {}
        self.jwks_times = []  # time.monotonic() of each JWKS request, as it arrived
        self.port = 0
        self.server = None
        self.thread = None

    # --- control from the test -------------------------------------------------------

    def set_keys(self, *keys):
        """The key set served from now on (SigningKey or JWK dicts)."""
        with self.lock:
            self.keys = [key.jwk if isinstance(key, SigningKey) else key for key in keys]

    def add_user(self, sub):
        with self.lock:
            self.users.add(sub)

    def delete_user(self, sub):
        with self.lock:
            self.users.discard(sub)

    def count(self, what):
        with self.lock:
            return self.counts.get(what, 0)

    def last_jwks_request(self):
        with self.lock:
            return self.jwks_times[-1] if self.jwks_times else None

    @property
    def running(self):
        return self.server is not None

    # --- internals ---------------------------------------------------------------------

    def _record(self, what):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1
            if what == "jwks":
                self.jwks_times.append(time.monotonic())
