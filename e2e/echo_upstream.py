"""An upstream that answers every request with 200 and the request it received.

The body is JSON: {"method": ..., "path": ..., "target": ..., "headers": {name: value}}
(`target` is the request-target as received; `path` is http.server's copy) with header
names lower-cased and repeated headers joined by ", " (so an injected identity header
that was appended instead of replaced shows as "spoofed, alice"). Every request is
also kept in `EchoUpstream.seen` so a test can check what never arrived.

In tests: `with EchoUpstream() as upstream: ... upstream.port`.
By hand, for the committed envoy.yaml: `python3 e2e/echo_upstream.py --port 8081`.
"""

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def received_headers(message):
    """Lower-cased header names; values of repeated headers joined by ', '."""
    headers = {}
    for name, value in message.items():
        name = name.lower()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def echo(self):
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        # `path` as http.server leaves it (it turns a leading `//` into `/`), `target` the
        # request-target exactly as it arrived on the wire.
        target = self.requestline.split(" ")[1] if self.requestline.count(" ") >= 2 else self.path
        seen = {"method": self.command, "path": self.path, "target": target, "headers": received_headers(self.headers)}
        self.server.seen.append(seen)
        body = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":  # a body after a HEAD answer would corrupt the next one
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = echo

    def log_message(self, *args):
        pass


class EchoUpstream:
    """The echo server on 127.0.0.1, on a free port unless one is given, in a thread."""

    def __init__(self, port=0):
        self.server = ThreadingHTTPServer(("127.0.0.1", port), EchoHandler)
        self.server.daemon_threads = True
        self.server.seen = []
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def port(self):
        return self.server.server_address[1]

    @property
    def seen(self):
        return list(self.server.seen)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081)
    port = parser.parse_args().port
    with EchoUpstream(port) as upstream:
        print(f"echo upstream on 127.0.0.1:{upstream.port}", flush=True)
        try:
            upstream.thread.join()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
