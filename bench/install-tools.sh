#!/usr/bin/env bash
# Installs what `make bench` needs beyond the project's venv: `wrk` (Debian package)
# and `taskset` (util-linux, normally present). Idempotent: prints nothing and returns
# at once when both are there.
set -euo pipefail

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)
[[ ${#need[@]} -eq 0 ]] && exit 0

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
echo "bench: installing ${need[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
command -v wrk >/dev/null && command -v taskset >/dev/null || { echo "bench: wrk/taskset still missing" >&2; exit 1; }
echo "bench: $(wrk --version 2>&1 | head -1)" >&2
