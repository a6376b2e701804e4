#!/usr/bin/env bash
# The GPU check: what swaglet does on the machine it runs on, written under $OUT (default: a new
# temporary folder). Runs from the standalone build, so the machine needs no Node and no registry:
#   bash scripts/gpu-check.sh [STANDALONE]   STANDALONE: the unpacked swaglet-linux-x64/ folder or
#                                            its .tar.xz/.tar.gz (default: standalone/…)
# On a GPU it measures at GPU sizes (matmul n 4096 against the f32 peak); on llvmpipe, small sizes.
#   $OUT/summary.txt     every step, its status and time; the figures
#   $OUT/devices.txt, selfcheck.txt, examples.txt, bench.json, matmul.json, peft.json, autotune-*.json
#   $OUT/log.txt         everything the steps printed
# Exit 0 when every step passed.
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-$(mktemp -d -t swaglet-gpu-check-XXXXXX)}"
mkdir -p "$OUT"
summary="$OUT/summary.txt"
log="$OUT/log.txt"
: >"$summary"
: >"$log"
failed=0

say() { echo "$*" | tee -a "$summary"; }

# The standalone build: a folder, or a tarball unpacked into a temporary folder.
src="${1:-}"
if [ -z "$src" ]; then
  for c in "$repo/standalone/swaglet-linux-x64" "$repo/standalone/swaglet-linux-x64.tar.xz" "$repo/standalone/swaglet-linux-x64.tar.gz"; do
    [ -e "$c" ] && { src="$c"; break; }
  done
fi
[ -n "$src" ] && [ -e "$src" ] || { echo "gpu-check: no standalone build (run npm run standalone, or pass its folder or tarball)" >&2; exit 2; }
if [ -f "$src" ]; then
  unpack="$(mktemp -d -t swaglet-standalone-XXXXXX)"
  tar -xf "$src" -C "$unpack" || { echo "gpu-check: cannot unpack $src" >&2; exit 2; }
  src="$unpack/swaglet-linux-x64"
fi
swaglet="$src/bin/swaglet"
[ -x "$swaglet" ] || { echo "gpu-check: $swaglet is not there" >&2; exit 2; }

# step NAME OUTFILE COMMAND...: runs it, its output into OUTFILE and the log, status into the summary.
step() {
  local name="$1" file="$2"; shift 2
  local t0 t1 code
  t0=$(date +%s.%N)
  { echo "### $name: $*"; } >>"$log"
  "$@" >"$OUT/$file" 2>>"$log"
  code=$?
  cat "$OUT/$file" >>"$log"
  t1=$(date +%s.%N)
  local secs; secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  if [ $code -eq 0 ]; then say "ok    $name (${secs} s)"; else say "FAIL  $name (exit $code, ${secs} s; see log.txt)"; failed=1; fi
  return $code
}

# Containers that mount the NVIDIA driver there register no ICD where the loader looks.
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ] && export VK_DRIVER_FILES="$nvidia_icd"

say "swaglet gpu-check, $(date -u +%Y-%m-%dT%H:%M:%SZ), standalone $(cat "$src/NODE_VERSION" 2>/dev/null) from $src"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >>"$summary" 2>/dev/null

step devices devices.txt "$swaglet" devices
adapter_line="$(grep -m1 '^Chosen:' "$OUT/devices.txt" | sed 's/^Chosen: *//')"
case "$adapter_line" in *"CPU ("*|"") gpu=0 ;; *) gpu=1 ;; esac
say "adapter: $adapter_line (gpu=$gpu)"

step selfcheck selfcheck.txt "$swaglet" selfcheck

# The compiler on the device: every example compiled for this adapter's target and checked.
examples_check() {
  local target; target=$([ "$gpu" = 1 ] && echo gpu || echo cpu)
  local ok=0
  for f in "$src"/examples/*.swag; do
    if "$swaglet" compile "$f" --out "$OUT/compiled" --target "$target" >/dev/null 2>>"$log"; then echo "ok    $(basename "$f")"; else echo "FAIL  $(basename "$f")"; ok=1; fi
  done
  return $ok
}
step "examples compile (target $([ "$gpu" = 1 ] && echo gpu || echo cpu))" examples.txt examples_check
rm -rf "$OUT/compiled"

# The autotuner's winners, per adapter, into a file the project can ship (configs/autotune/).
slug="$(echo "$adapter_line" | tr -c 'A-Za-z0-9._-' '-' | tr -s '-' | cut -c1-60)"
autotune="$OUT/autotune-${slug:-adapter}.json"
if [ "$gpu" = 1 ]; then n=4096; else n=256; fi
step "matmul n=$n (autotuned)" matmul.json "$swaglet" --run matmul --n "$n" --autotune "$autotune"

# The bench suites that need no data sets (bma needs IMDB and USE-Lite: a clone with node_modules).
step "bench runtime,kernels,matmul,lora,compiler" bench.txt "$swaglet" --run bench --only runtime,kernels,matmul,lora,compiler --json "$OUT/bench.json"

# The paper-style config's model at full size: compiled for this adapter (UseLiteSwagFull).
step "full-size finetune compile (UseLiteSwagFull)" full.txt "$swaglet" compile "$src/examples/use_lite_classifier.swag" --emit ir --entry UseLiteSwagFull --target "$([ "$gpu" = 1 ] && echo gpu || echo cpu)"
[ -s "$OUT/full.txt" ] && { head -c 2000 "$OUT/full.txt" >"$OUT/full-head.txt"; mv "$OUT/full-head.txt" "$OUT/full.txt"; }

# PEFT: swaglet writes an adapter and its outputs; Python loads them (PEFT where installed).
peft_dir="$(mktemp -d -t swaglet-peft-XXXXXX)"
step "peft export" peft-export.txt "$swaglet" --run peft-export "$peft_dir"
if command -v python3 >/dev/null; then
  step "peft load and compare" peft.json python3 "$repo/scripts/gpu/peft_check.py" "$peft_dir"
else
  say "skip  peft load and compare (no python3)"
fi

say ""
say "figures:"
grep -hE '"(matmul\.[a-z_]+\.n[0-9]+|config|correct)"' "$OUT/matmul.json" 2>/dev/null | sed 's/^ */  /' | tee -a "$summary" >/dev/null
grep -hE '"name"|"value"' "$OUT/bench.json" 2>/dev/null | paste - - | grep -E 'lora\.forward\.fused_speedup|matmul\.gflops|bma\.cost_ratio' | sed -E 's/.*"name": "([^"]+)",[[:space:]]*"value": ([^,]+),?.*/  \1 = \2/' >>"$summary"
grep -hE '"(mode|max_rel_error|ok)"' "$OUT/peft.json" 2>/dev/null | sed 's/^ */  peft /' >>"$summary"
say "results in $OUT"
exit $failed
