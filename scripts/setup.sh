#!/usr/bin/env bash
# Sets up a fresh Debian machine for swaglet: Mesa's EGL/llvmpipe (the CPU path of Dawn) and
# redis-server (the job queue's engine; the queue tests start their own on a loopback port) when
# missing, then the npm dependencies. Safe to re-run; it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libegl1 libegl-mesa0 libgl1-mesa-dri redis-server; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} (Mesa llvmpipe, the CPU path for WebGPU; redis-server for the job queue)"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  install() { DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "$@"; }
  # A half-upgraded Mesa (versions out of step) makes the plain install fail; mend and retry once.
  install "${need[@]}" || { DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --fix-broken && install "${need[@]}"; }
fi

# npm ci only when node_modules is missing or older than the lock file (or always in CI).
if [ -n "${CI:-}" ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# The distribution-shift data set (Amazon fine-food reviews) ships in Debian's r-cran-modeldata:
# fetched as a .deb and unpacked into vendor/ (no R needed; swaglet reads R's format itself).
bash scripts/fetch-modeldata.sh
