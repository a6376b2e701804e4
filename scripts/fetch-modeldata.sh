#!/usr/bin/env bash
# Fetches the data sets of the R package modeldata (Debian's r-cran-modeldata) into vendor/modeldata/
# without installing R: `apt-get download` the .deb, unpack it with `dpkg-deb -x`, and copy the
# package's lazy-load database (data/Rdata.rdb, .rdx, .rds). data/fineFoods.ts reads it from there.
# Safe to re-run: does nothing when the data is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

dest="vendor/modeldata"
pkg="r-cran-modeldata"
if [ -s "$dest/Rdata.rdb" ] && [ -s "$dest/Rdata.rdx" ]; then
  exit 0
fi

fail() { echo "fetch-modeldata: $*" >&2; exit 1; }
command -v apt-get >/dev/null || fail "apt-get not found; this script needs a Debian/Ubuntu system (package $pkg)"
command -v dpkg-deb >/dev/null || fail "dpkg-deb not found; install dpkg"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# apt-get download needs no root, but the package index must know the package; refresh it once if not
# (that step does need root, so use sudo when we are not root and sudo exists).
if ! apt-cache show "$pkg" >/dev/null 2>&1; then
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || fail "apt does not know $pkg and refreshing the index needs root (no sudo found); run 'apt-get update' as root"
    sudo_cmd="sudo"
  fi
  echo "fetch-modeldata: apt does not know $pkg yet; running apt-get update"
  $sudo_cmd apt-get update -qq || fail "apt-get update failed"
  apt-cache show "$pkg" >/dev/null 2>&1 || fail "package $pkg is not in this system's apt sources (it is in Debian bookworm main and later)"
fi

# apt-get download writes to the working directory; _apt may not be able to write to a root-owned
# mktemp dir, which apt reports as a warning only, so give it a world-writable one.
chmod 0777 "$tmp"
( cd "$tmp" && apt-get download -qq "$pkg" >"$tmp/apt.log" 2>&1 ) || { cat "$tmp/apt.log" >&2; fail "apt-get download $pkg failed"; }
deb="$(ls "$tmp"/"$pkg"_*.deb 2>/dev/null | head -n 1)"
[ -n "$deb" ] || fail "apt-get download produced no .deb for $pkg"

dpkg-deb -x "$deb" "$tmp/root" || fail "dpkg-deb -x $deb failed"
src="$(find "$tmp/root" -type f -name Rdata.rdb -path '*/modeldata/data/*' | head -n 1)"
[ -n "$src" ] || fail "no modeldata/data/Rdata.rdb inside $(basename "$deb")"
srcdir="$(dirname "$src")"

mkdir -p "$dest"
cp "$srcdir"/* "$dest"/
# Keep the DESCRIPTION alongside, so the provenance (package version) travels with the data.
desc="$(dirname "$srcdir")/DESCRIPTION"
[ -f "$desc" ] && cp "$desc" "$dest/DESCRIPTION"
echo "fetch-modeldata: unpacked $(basename "$deb") → $dest/ ($(cd "$dest" && ls | tr '\n' ' '))"
