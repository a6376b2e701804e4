#!/usr/bin/env bash
# npm run standalone: swaglet for a linux-x64 machine with a GPU driver and no registry, as one
# tarball: Node itself (this machine's, stripped), an esbuild bundle of the CLI (plus the bench and
# the GPU check's matmul script), dawn.node, and the Vulkan loader (Debian's libvulkan1, fetched
# with apt-get download). Unpack anywhere and run `swaglet-linux-x64/bin/swaglet`.
#   OUT_DIR (default standalone/): where the folder and the tarball go.
#   STANDALONE_COMPRESS: xz (default, smallest) or gzip (fast; the tests use it).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || { echo "standalone: builds for linux-x64 only (this is $(uname -s)-$(uname -m))" >&2; exit 1; }

out_dir="${OUT_DIR:-standalone}"
name="swaglet-linux-x64"
dir="$out_dir/$name"
rm -rf "$dir" "$out_dir/$name.tar.xz" "$out_dir/$name.tar.gz"
mkdir -p "$dir/bin" "$dir/lib/dist/linux-x64"

# The bundle: ESM, split into shared chunks; the CommonJS inside (TypeScript, via ts-morph) gets
# require, __filename and __dirname from the banner. webgpu's index.js finds dawn.node at
# <its own folder>/dist/<platform>-<arch>/dawn.node, so dawn.node goes there, beside the chunks.
entry_dir="$(mktemp -d)"
trap 'rm -rf "$entry_dir"' EXIT
cat >"$entry_dir/swaglet.ts" <<TS
import { main } from '$PWD/cli/main.ts';
// dawn.node keeps the event loop alive while a GPU instance exists; the CLI is done, so leave.
process.exit(await main(process.argv.slice(2)));
TS
npx esbuild "$entry_dir/swaglet.ts" bench/run.ts scripts/gpu/matmul.ts scripts/gpu/peft-export.ts \
  --bundle --splitting --format=esm --platform=node --target=node20 --minify --legal-comments=none \
  --outdir="$dir/lib" --entry-names='[name]' --chunk-names='chunk-[hash]' --out-extension:.js=.mjs \
  --external:msgpackr-extract --log-level=warning \
  --define:__filename=__swagletFilename --define:__dirname=__swagletDirname \
  --banner:js="import { createRequire as __swagletRequire } from 'node:module'; import { fileURLToPath as __swagletPath } from 'node:url'; const require = __swagletRequire(import.meta.url); const __swagletFilename = __swagletPath(import.meta.url); const __swagletDirname = __swagletPath(new URL('.', import.meta.url));"
mv "$dir/lib/run.mjs" "$dir/lib/bench.mjs"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$dir/lib/dist/linux-x64/"
cp node_modules/webgpu/LICENSE.md "$dir/lib/dist/LICENSE-webgpu.md"

# Node: the binary that runs this script, without its symbols.
node_bin="$(node -p process.execPath)"
strip -o "$dir/bin/node" "$node_bin"
node -p 'process.version' >"$dir/NODE_VERSION"

# The Vulkan loader (the GPU driver brings the rest). Used only where the machine has none.
deb_dir="$entry_dir/deb"
mkdir -p "$deb_dir"
(cd "$deb_dir" && apt-get download libvulkan1 >/dev/null 2>&1) || { apt-get update -qq && (cd "$deb_dir" && apt-get download libvulkan1 >/dev/null); }
dpkg-deb -x "$deb_dir"/libvulkan1_*.deb "$deb_dir/x"
cp -L "$deb_dir"/x/usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$dir/lib/"
ls "$deb_dir"/libvulkan1_*.deb | sed 's#.*/##' >"$dir/lib/VULKAN_LOADER"

cat >"$dir/bin/swaglet" <<'SH'
#!/bin/sh
# swaglet, standalone: the bundled Node runs the bundled CLI. Shell builtins only, so it runs with
# any PATH. The bundled Vulkan loader is used only when the system has none (the GPU driver's own
# loader knows its ICDs best).
case "$0" in */*) bin_dir="${0%/*}" ;; *) bin_dir=. ;; esac
here="$(cd "$bin_dir/.." && pwd)"
case "$(/sbin/ldconfig -p 2>/dev/null)" in
  *"libvulkan.so.1 "*) ;;
  *) export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;;
esac
script="$here/lib/swaglet.mjs"
# `swaglet --run bench|matmul|peft-export ARGS`: the other bundled entry points (the GPU check).
if [ "${1:-}" = "--run" ]; then
  case "${2:-}" in
    bench|matmul|peft-export) script="$here/lib/$2.mjs"; shift 2 ;;
    *) echo "swaglet: --run takes bench, matmul or peft-export" >&2; exit 2 ;;
  esac
fi
exec "$here/bin/node" "$script" "$@"
SH
chmod +x "$dir/bin/swaglet"
cp README.md "$dir/"
cp -r examples "$dir/examples"

case "${STANDALONE_COMPRESS:-xz}" in
  xz) tarball="$out_dir/$name.tar.xz"; tar -C "$out_dir" -cf - "$name" | xz -T0 -6 >"$tarball" ;;
  gzip) tarball="$out_dir/$name.tar.gz"; tar -C "$out_dir" -cf - "$name" | gzip -1 >"$tarball" ;;
  *) echo "standalone: STANDALONE_COMPRESS is xz or gzip, not '$STANDALONE_COMPRESS'" >&2; exit 2 ;;
esac
echo "standalone: $tarball ($(du -m "$tarball" | cut -f1) MiB; unpacked $(du -sm "$dir" | cut -f1) MiB)"
