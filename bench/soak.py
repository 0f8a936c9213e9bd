"""`make soak`: jwt-gate under sustained mixed load in a real Envoy; every answer is
checked and Envoy's memory is watched. Writes bench/SOAK.md.

One Envoy 1.40 from the project's .venv (`--concurrency 1`, pinned to core 0), the route
being Envoy's own `direct_response` (no upstream process); `wrk` (1 thread, pinned to
core 1) replays, for SOAK_SECONDS at full speed, a shuffled mix of requests
(bench/soak.lua):

  valid      200, and the `x-user-id` that reaches the end of the chain is the token's
             `sub` (every request also sends `x-user-id: spoofed`); HS256, RS256, ES256,
             EdDSA; half from a hot set of 64 tokens (the verified-token cache), half from
             a pool of SOAK_POOL distinct tokens (larger than the cache: verification,
             eviction)
  expired    401: valid signature, `exp` an hour ago
  forged     401: tampered signature, a foreign key under the real `kid`, an unknown
             `kid`, HS256 with the RSA public key as secret, `alg: none`, a payload
             swapped under another token's signature
  malformed  401: not a JWT, 2 or 4 segments, bad base64, padding, a header that is not
             JSON, a token over `max_token_bytes`, another scheme
  missing    401: no credential
  conflict   400: a bearer token and a different `access_token` query parameter

Each request carries its class and expected answer in `x-soak-class`; Envoy echoes it on
every reply (route `response_headers_to_add` for the 200s, `local_reply_config` for the
filter's local replies), and soak.lua counts every reply whose status (or subject) is
not the expected one. Envoy's RSS is sampled every SOAK_SAMPLE_S seconds.

Fails (exit 1) on any wrong answer, any 5xx, any wrk socket error, a reply without the
echoed label, RSS growing by more than SOAK_RSS_BOUND_MIB between the end of the warm-up
(the first SOAK_WARMUP_S seconds) and any later sample, or, over at least 10 samples
after the warm-up, a fitted RSS slope above SOAK_SLOPE_BOUND_MIB_MIN.

Environment: SOAK_SECONDS (600), SOAK_CONNECTIONS (16), SOAK_POOL (20000),
SOAK_SAMPLE_S (10, at most a tenth of the run), SOAK_WARMUP_S (60, at most a fifth of the
run), SOAK_RSS_BOUND_MIB (24), SOAK_SLOPE_BOUND_MIB_MIN (2), SOAK_OUT (bench/SOAK.md; "-" prints the report only), JWT_GATE_WASM, ENVOY_BIN,
BENCH_ENVOY_CPU (0), BENCH_WRK_CPU (1).
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ beside the sources

import jwt  # noqa: E402  (PyJWT, from the venv)
from cryptography.hazmat.primitives import serialization  # noqa: E402

import bench  # noqa: E402  (keys, Envoy process, version helpers of `make bench`)

LUA = bench.BENCH / "soak.lua"
WASM = bench.WASM
WASM_COPY = None  # the snapshot Envoy runs (main)


def env_int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


SECONDS = env_int("SOAK_SECONDS", 600)
CONNECTIONS = env_int("SOAK_CONNECTIONS", 16)
POOL = env_int("SOAK_POOL", 20000)
SAMPLE_S = max(1, min(env_int("SOAK_SAMPLE_S", 10), SECONDS // 10))
WARMUP_S = min(env_int("SOAK_WARMUP_S", 60), SECONDS // 5)
RSS_BOUND_MIB = env_int("SOAK_RSS_BOUND_MIB", 24)
# The filter hands per-request counts to Envoy within a second (its 1 s tick).
COUNTER_SETTLE_S = 2.5
# The fitted RSS slope after the warm-up, checked when at least SLOPE_MIN_SAMPLES samples
# span it (a 5-minute run has 25): a leak too slow for the growth bound still shows here.
SLOPE_BOUND_MIB_MIN = float(os.environ.get("SOAK_SLOPE_BOUND_MIB_MIN", "2") or 2)
SLOPE_MIN_SAMPLES = 10
OUT = os.environ.get("SOAK_OUT", str(bench.BENCH / "SOAK.md"))
HOT = 64
CACHE_SIZE = 1024
MAX_TOKEN_BYTES = 8192
ALGS = ("HS256", "RS256", "ES256", "EdDSA")
# Share of each class in the request mix (per 100 requests).
MIX = {"valid": 50, "expired": 10, "forged": 20, "malformed": 12, "missing": 5, "conflict": 3}
EXPECTED = {"valid": 200, "expired": 401, "forged": 401, "malformed": 401, "missing": 401, "conflict": 400}
MIB = 1024 * 1024


def log(msg):
    print(f"soak: {msg}", file=sys.stderr, flush=True)


def die(msg):
    log(f"FAILED: {msg}")
    sys.exit(1)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---------------------------------------------------------------- requests

class Request:
    """One line of the request file: class, expected subject, target, Authorization."""

    def __init__(self, cls, kind, auth=None, sub=None, target="/"):
        self.cls, self.kind, self.auth, self.sub, self.target = cls, kind, auth, sub, target

    def line(self):
        label = f"{self.cls}|{EXPECTED[self.cls]}|{self.sub or '-'}"
        return f"{label}\t{self.target}\t{self.auth or '-'}"


def make_requests(keys, now):
    """The request mix: ≈ 100 × (POOL // 25) requests, each class's share as in MIX."""
    rng = random.Random(1)
    exp = now + SECONDS + 7200
    rs = keys["RS256"]
    public_pem = rs.signing.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    attacker = serialization.load_pem_private_key((bench.KEYS / "rsa2048-other.key.pem").read_bytes(), password=None)

    def valid(alg, sub, jti):
        return keys[alg].token(sub, jti, now, exp)

    hot = [(valid(ALGS[i % 4], f"hot-{i:03d}", f"hot-{i}"), f"hot-{i:03d}") for i in range(HOT)]
    pool = [(valid(ALGS[i % 4], f"user-{i:05d}", f"pool-{i}"), f"user-{i:05d}") for i in range(POOL)]

    def forged(i):
        kind = i % 6
        sub = f"mallory-{i}"
        claims = {"iss": bench.ISSUER, "aud": bench.AUDIENCE, "sub": sub, "iat": now, "exp": exp, "jti": f"f-{i}"}
        if kind == 0:  # tampered signature
            head, payload, sig = keys[ALGS[i % 4]].token(sub, f"f-{i}", now, exp).split(".")
            return "tampered", f"{head}.{payload}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}"
        if kind == 1:  # a foreign key under the real kid
            return "foreign-key", jwt.encode(claims, attacker, algorithm="RS256", headers={"kid": rs.kid})
        if kind == 2:  # unknown kid
            return "unknown-kid", jwt.encode(claims, attacker, algorithm="RS256", headers={"kid": f"k-{i}"})
        if kind == 3:  # HS256 keyed with the RSA public key (key confusion)
            head = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": rs.kid}).encode())
            payload = b64url(json.dumps(claims).encode())
            sig = b64url(hmac.new(public_pem, f"{head}.{payload}".encode(), hashlib.sha256).digest())
            return "hs-confusion", f"{head}.{payload}.{sig}"
        if kind == 4:  # alg none
            head = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": rs.kid}).encode())
            return "alg-none", f"{head}.{b64url(json.dumps(claims).encode())}."
        # another payload under a valid token's signature
        head, _, sig = pool[i % len(pool)][0].split(".")
        return "swapped-payload", f"{head}.{b64url(json.dumps(claims).encode())}.{sig}"

    good = pool[0][0]
    head, payload, sig = good.split(".")
    malformed = [
        ("not-a-jwt", "Bearer not-a-jwt"),
        ("two-segments", f"Bearer {head}.{payload}"),
        ("four-segments", f"Bearer {good}.{sig}"),
        ("bad-base64", f"Bearer {head}.{payload}!.{sig}"),
        ("padding", f"Bearer {head}==.{payload}.{sig}"),
        ("header-not-json", f"Bearer {b64url(b'hello world')}.{payload}.{sig}"),
        ("too-large", f"Bearer {head}.{b64url(b'x' * MAX_TOKEN_BYTES)}.{sig}"),
        ("other-scheme", "Basic dXNlcjpwYXNzd29yZA=="),
        ("empty-bearer", "Bearer "),
    ]
    requests = []
    rounds = max(1, POOL // 25)
    for r in range(rounds):
        for n in range(MIX["valid"]):
            token, sub = hot[rng.randrange(HOT)] if n % 2 else pool[(r * MIX["valid"] + n) // 2 % POOL]
            requests.append(Request("valid", "hot" if n % 2 else "pool", f"Bearer {token}", sub))
        for n in range(MIX["expired"]):
            alg = ALGS[n % 4]
            i = r * MIX["expired"] + n
            token = keys[alg].token(f"late-{i}", f"e-{i}", now - 7200, now - 3600)
            requests.append(Request("expired", alg, f"Bearer {token}"))
        for n in range(MIX["forged"]):
            kind, token = forged(r * MIX["forged"] + n)
            requests.append(Request("forged", kind, f"Bearer {token}"))
        for n in range(MIX["malformed"]):
            kind, auth = malformed[(r + n) % len(malformed)]
            requests.append(Request("malformed", kind, auth))
        for n in range(MIX["missing"]):
            requests.append(Request("missing", "none"))
        for n in range(MIX["conflict"]):
            a, b = pool[rng.randrange(POOL)][0], hot[rng.randrange(HOT)][0]
            requests.append(Request("conflict", "header+query", f"Bearer {a}", target=f"/?access_token={b}"))
    rng.shuffle(requests)
    return requests


# ---------------------------------------------------------------- Envoy

def bootstrap(keys):
    label = "%REQ(x-soak-class)%"
    config = {
        "cache_size": CACHE_SIZE,
        "providers": {"soak": {
            "issuer": bench.ISSUER,
            "audiences": [bench.AUDIENCE],
            "algorithms": list(ALGS),
            "keys": [keys[alg].gate_key for alg in ALGS],
            "claim_headers": {"x-user-id": "sub"},
            "from": [{"header": "authorization", "prefix": "Bearer "}, {"query": "access_token"}],
            "max_token_bytes": MAX_TOKEN_BYTES,
        }},
    }
    echo = lambda key, value: {"header": {"key": key, "value": value}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}  # noqa: E731
    config_out = bench.bootstrap([bench.wasm_filter("jwt-gate", WASM_COPY, config)])
    hcm = config_out["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    route = hcm["route_config"]["virtual_hosts"][0]["routes"][0]
    route["response_headers_to_add"] = [echo("x-soak-class", label), echo("x-soak-user", "%REQ(x-user-id)%")]
    # The filter's local replies (401/400/…) carry the label too.
    hcm["local_reply_config"] = {"mappers": [{
        "filter": {"header_filter": {"header": {"name": "x-soak-class", "present_match": True}}},
        "headers_to_add": [echo("x-soak-class", label)],
    }]}
    return config_out


def envoy_stats(envoy):
    body = bench.http_get(envoy.admin_port, "/stats?format=json")[2]
    return {s["name"]: s.get("value", 0) for s in json.loads(body)["stats"] if "value" in s}


def filter_counters(stats):
    """The filter's own metrics (Envoy files them as `wasmcustom.jwt_gate.…`)."""
    return {"jwt_gate." + k.split("jwt_gate.", 1)[1]: v for k, v in stats.items() if "jwt_gate." in k}


def rss_bytes(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1)) * 1024


def cpu_ticks(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


def machine_busy():
    """(busy, total) jiffies over all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


def precheck(envoy, requests):
    """One request of every (class, kind) must get its expected answer before the run."""
    seen = set()
    for req in requests:
        if (req.cls, req.kind) in seen:
            continue
        seen.add((req.cls, req.kind))
        headers = {"x-soak-class": f"{req.cls}|{EXPECTED[req.cls]}|{req.sub or '-'}", "x-user-id": "spoofed"}
        if req.auth:
            headers["authorization"] = req.auth
        status, reply_headers, body = bench.http_get(envoy.port, req.target, headers)
        if status != EXPECTED[req.cls] or (req.sub and reply_headers.get("x-soak-user") != req.sub):
            die(f"precheck {req.cls}/{req.kind}: got {status} user={reply_headers.get('x-soak-user')!r}, "
                f"expected {EXPECTED[req.cls]} {body[:200]!r}")
        if reply_headers.get("x-soak-class") != headers["x-soak-class"]:
            die(f"precheck {req.cls}/{req.kind}: the class label is not echoed ({reply_headers})")
    return len(seen)


# ---------------------------------------------------------------- the run

def run_wrk(port, request_file):
    command = ["taskset", "-c", bench.WRK_CPU, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency",
               "--timeout", "5s", "-s", str(LUA), f"http://127.0.0.1:{port}/", "--", str(request_file)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, preexec_fn=bench._die_with_parent)


def parse_wrk(output):
    match = re.search(r"^SOAK-RESULT (.*)$", output, re.M)
    if not match:
        die(f"wrk printed no SOAK-RESULT:\n{output}")
    result = {k: int(v) for k, v in (kv.split("=") for kv in match.group(1).split())}
    classes = {m.group(1): (int(m.group(2)), int(m.group(3)))
               for m in re.finditer(r"^SOAK-CLASS (\S+) (\d+) (\d+)$", output, re.M)}
    examples = re.findall(r"^SOAK-WRONG (.*)$", output, re.M)
    return result, classes, examples


def slope_mib_per_min(samples):
    """Least-squares slope of (seconds, bytes) samples, in MiB per minute."""
    if len(samples) < 2:
        return 0.0
    xs = [t for t, _ in samples]
    ys = [b / MIB for _, b in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 0.0 if var == 0 else 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var


def main():
    global WASM_COPY
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            die(f"{tool} not found: run bench/install-tools.sh")
    if not WASM.is_file():
        die(f"{WASM} missing: run `make build`")
    started_at = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="jwt-gate-soak-"))
    envoy = None
    try:
        # A copy: a rebuild during the run changes nothing of what is measured.
        WASM_COPY = workdir / "jwt_gate.wasm"
        shutil.copyfile(WASM, WASM_COPY)
        wasm_bytes = WASM_COPY.read_bytes()
        wasm_sha = hashlib.sha256(wasm_bytes).hexdigest()
        keys = {alg: bench.Key(alg) for alg in ALGS}
        now = int(time.time())
        requests = make_requests(keys, now)
        request_file = workdir / "requests.tsv"
        request_file.write_text("\n".join(r.line() for r in requests) + "\n")
        mix = {cls: sum(1 for r in requests if r.cls == cls) for cls in MIX}
        log(f"{len(requests)} requests in the mix ({', '.join(f'{c} {n}' for c, n in mix.items())}), "
            f"minted in {time.monotonic() - t0:.1f}s")

        envoy = bench.Envoy("soak", bootstrap(keys), workdir)
        envoy.start()
        envoy.wait_ready()
        kinds = precheck(envoy, requests)
        log(f"precheck: {kinds} request kinds answered as expected; soaking for {SECONDS}s "
            f"({CONNECTIONS} connections)")

        pid = envoy.proc.pid
        # The filter hands its per-request counts to Envoy at most a second late (its
        # tick): let the warm-up's land before the baseline, and the run's before the end.
        time.sleep(COUNTER_SETTLE_S)
        counters_before = filter_counters(envoy_stats(envoy))
        busy0, total0 = machine_busy()
        envoy_ticks0 = cpu_ticks(pid)
        wrk = run_wrk(envoy.port, request_file)
        run_start = time.monotonic()
        samples = []  # (seconds into the run, RSS bytes, tcmalloc allocated bytes)

        def sample():
            allocated = envoy_stats(envoy).get("server.memory_allocated", 0)
            samples.append((time.monotonic() - run_start, rss_bytes(pid), allocated))

        sample()
        while wrk.poll() is None and envoy.proc.poll() is None:
            next_at = run_start + len(samples) * SAMPLE_S
            while time.monotonic() < next_at and wrk.poll() is None:
                time.sleep(0.2)
            if envoy.proc.poll() is None and time.monotonic() - run_start - samples[-1][0] >= 1:
                sample()
        output, _ = wrk.communicate(timeout=60)
        wall = time.monotonic() - run_start
        envoy_cpu_s = (cpu_ticks(pid) - envoy_ticks0) / bench.CLK_TCK
        busy1, total1 = machine_busy()
        machine_cpu_s = (busy1 - busy0) / bench.CLK_TCK
        if envoy.proc.poll() is not None:
            die(f"Envoy exited during the soak ({envoy.proc.returncode}):\n{envoy.log()[-3000:]}")
        result, classes, examples = parse_wrk(output)
        time.sleep(COUNTER_SETTLE_S)
        stats = envoy_stats(envoy)
        log_text = envoy.log()
        load_after = os.getloadavg()
    finally:
        if envoy is not None:
            envoy.stop()
    shutil.rmtree(workdir, ignore_errors=True)

    # ------------------------------------------------------------ verdict
    filter_stats = filter_counters(stats)
    vm_stats = {k: v for k, v in stats.items() if k.startswith("wasm.") and v}
    vm_failure = [line for line in log_text.splitlines()
                  if any(s in line for s in ("panicked at", "Function: proxy_on", "Uncaught RuntimeError"))]
    socket_errors = sum(result[k] for k in ("err_connect", "err_read", "err_write", "err_timeout"))
    wrong = result["wrong"] + result["unlabelled"]
    after_warmup = [(t, rss) for t, rss, _ in samples if t >= WARMUP_S]
    baseline = after_warmup[0][1] if after_warmup else samples[0][1]
    growth = max(rss for _, rss in after_warmup) - baseline if after_warmup else 0
    slope = slope_mib_per_min(after_warmup)
    rss_all = [rss for _, rss, _ in samples]
    allow = filter_stats.get("jwt_gate.requests.allow", 0) - counters_before.get("jwt_gate.requests.allow", 0)
    ok_replies = classes.get("valid", (0, 0))[0] - classes.get("valid", (0, 0))[1]
    problems = []
    if wrong:
        problems.append(f"{wrong} wrong answers ({result['unlabelled']} without the echoed label)")
    if result["fivexx"]:
        problems.append(f"{result['fivexx']} 5xx replies")
    if socket_errors:
        problems.append(f"{socket_errors} wrk socket errors/timeouts")
    if vm_failure:
        problems.append("the wasm VM failed: " + vm_failure[0])
    if growth > RSS_BOUND_MIB * MIB:
        problems.append(f"RSS grew {growth / MIB:.1f} MiB after warm-up (bound {RSS_BOUND_MIB} MiB)")
    if len(after_warmup) >= SLOPE_MIN_SAMPLES and slope > SLOPE_BOUND_MIB_MIN:
        problems.append(f"RSS rose {slope:.2f} MiB/min after warm-up (bound {SLOPE_BOUND_MIB_MIN} MiB/min)")
    # Every 200 the client saw was a filter `allow` (a few more may be in flight at the end).
    if not ok_replies <= allow <= ok_replies + CONNECTIONS:
        problems.append(f"filter allowed {allow:.0f} requests, the client saw {ok_replies} correct 200s")
    if result["replies"] == 0:
        problems.append("no replies")

    report = render(started_at, load_before, load_after, wasm_bytes, wasm_sha, result, classes, examples, mix,
                    samples, baseline, growth, slope, rss_all, filter_stats, vm_stats, wall, envoy_cpu_s,
                    machine_cpu_s, problems, kinds)
    print(report)
    summary_file = os.environ.get("HARDENING_SUMMARY")
    if summary_file:  # `make test` prints the collected counts at the end of its run
        with open(summary_file, "a") as out:
            out.write(f"soak: {result['replies']} replies in {wall:.0f} s, wrong answers = {wrong}, "
                      f"5xx = {result['fivexx']}, VM failures = {len(vm_failure)}\n")
    if OUT != "-":
        Path(OUT).write_text(report)
        log(f"wrote {OUT}")
    if problems:
        die("; ".join(problems))
    log(f"PASS: {result['replies']} replies in {wall:.0f}s, 0 wrong, 0 5xx, RSS growth after warm-up "
        f"{growth / MIB:.1f} MiB (bound {RSS_BOUND_MIB}), took {time.monotonic() - t0:.0f}s in all")


def render(started_at, load_before, load_after, wasm_bytes, wasm_sha, result, classes, examples, mix, samples,
           baseline, growth, slope, rss_all, filter_stats, vm_stats, wall, envoy_cpu_s, machine_cpu_s, problems,
           kinds):
    mib = lambda b: f"{b / MIB:.1f}"  # noqa: E731
    rps = result["replies"] / wall if wall else 0
    lines = [
        "# Soak: jwt-gate under sustained mixed load in a real Envoy",
        "",
        f"`make soak` (bench/soak.py, bench/soak.lua), {started_at:%Y-%m-%d %H:%M} UTC. "
        f"Verdict: **{'PASS' if not problems else 'FAIL: ' + '; '.join(problems)}**.",
        "",
        "| | |",
        "| --- | --- |",
        f"| machine | {bench.cpu_model()}, {os.cpu_count()} cores, loopback only |",
        f"| Envoy | {bench.envoy_version()}, `--concurrency 1`, pinned to core {bench.ENVOY_CPU}; "
        f"route = Envoy's `direct_response` |",
        f"| jwt-gate | `jwt_gate.wasm` {len(wasm_bytes):,} bytes, sha256 `{wasm_sha[:16]}…`, V8; "
        f"{bench.source_tree()} |",
        f"| load | wrk 1 thread, {CONNECTIONS} connections, pinned to core {bench.WRK_CPU}, full speed |",
        f"| duration | {wall:.0f} s (SOAK_SECONDS={SECONDS}) |",
        f"| replies | {result['replies']:,} ({rps:,.0f}/s); p50 {result['p50_us'] / 1000:.2f} ms, "
        f"p99 {result['p99_us'] / 1000:.2f} ms, max {result['max_us'] / 1000:.1f} ms |",
        f"| **wrong answers** | **{result['wrong'] + result['unlabelled']}** "
        f"(status or subject not the expected one, or no echoed label) |",
        f"| **5xx** | **{result['fivexx']}** |",
        f"| socket errors | connect {result['err_connect']}, read {result['err_read']}, "
        f"write {result['err_write']}, timeout {result['err_timeout']} |",
        f"| Envoy CPU | {envoy_cpu_s:.0f} s ({envoy_cpu_s / wall * 100:.0f}% of one core); "
        f"whole machine busy {machine_cpu_s / wall / (os.cpu_count() or 1) * 100:.0f}% |",
        f"| load average | before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min) |",
        "",
        "## Answers by class",
        "",
        "Each class's share of the request file, what it must get, and what it got. "
        f"Before the run, one request of each of the {kinds} kinds was checked by hand.",
        "",
        "| class | share | expected | replies | wrong |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    what = {"valid": "200 + `x-user-id` = `sub`", "expired": "401", "forged": "401", "malformed": "401",
            "missing": "401", "conflict": "400"}
    total = sum(mix.values())
    for cls in MIX:
        replies, wrong = classes.get(cls, (0, 0))
        lines.append(f"| {cls} | {mix[cls] / total * 100:.0f}% | {what[cls]} | {replies:,} | {wrong} |")
    for text in examples:
        lines.append(f"\nwrong: `{text}`")
    counters = sorted((k, v) for k, v in filter_stats.items() if v)
    lines += [
        "",
        "Filter counters at the end (Envoy `/stats`, precheck included): "
        + ", ".join(f"`{k}` {v:,.0f}" for k, v in counters) + ".",
        "",
        "Envoy's wasm counters: " + ", ".join(f"`{k}` {v:,.0f}" for k, v in sorted(vm_stats.items()))
        + " (no VM failed or was reloaded; the log has no panic or trap line).",
        "",
        "## Envoy memory",
        "",
        f"RSS sampled every {SAMPLE_S} s (`VmRSS` of the Envoy process; `allocated` is Envoy's own "
        "`server.memory_allocated`, tcmalloc, which does not include V8's heap or the wasm memory).",
        f"First {mib(rss_all[0])} MiB, last {mib(rss_all[-1])} MiB, max {mib(max(rss_all))} MiB. "
        f"After the warm-up ({WARMUP_S} s): from {mib(baseline)} MiB, growth to the max "
        f"{mib(growth)} MiB (bound {RSS_BOUND_MIB} MiB), least-squares slope {slope:+.2f} MiB/min "
        f"(bound {SLOPE_BOUND_MIB_MIN} MiB/min, checked from {SLOPE_MIN_SAMPLES} samples on).",
        "",
        "| t (s) | RSS (MiB) | allocated (MiB) |",
        "| ---: | ---: | ---: |",
    ]
    for t, rss, allocated in samples:
        lines.append(f"| {t:.0f} | {mib(rss)} | {mib(allocated)} |")
    lines += [
        "",
        "## Notes",
        "",
        "* The machine is shared with builds and other test runs: the rate and latencies are not a "
        "benchmark (see `make bench`); what this run shows is that every answer was the right one "
        "and that memory stayed flat under sustained load. The load average and the whole-machine "
        "busy share above tell how loaded it was.",
        f"* The mix: valid tokens half from a hot set of {HOT} (cache hits), half from a pool of "
        f"{POOL} distinct tokens over 4 algorithms (cache {CACHE_SIZE}: misses, verification, "
        "eviction); forged = tampered signature, foreign key under the real `kid`, unknown `kid`, "
        "HS256 keyed with the RSA public key, `alg: none`, a payload swapped under another token's "
        "signature; malformed = not a JWT, 2/4 segments, bad base64, padding, non-JSON header, "
        f"over `max_token_bytes` ({MAX_TOKEN_BYTES}), another scheme, an empty bearer.",
        "* Every request also sends `x-user-id: spoofed`; on a 200 the route echoes the `x-user-id` "
        "at the end of the chain, and it must be the token's `sub`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
