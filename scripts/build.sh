#!/usr/bin/env bash
# npm run build: dist/ holds the library and CLI as ESM JavaScript with .d.ts beside each file.
# The source imports with .ts extensions; tsc rewrites them to .js in the JavaScript
# (rewriteRelativeImportExtensions) but leaves them in the declarations, so those are rewritten
# here: a consumer's TypeScript then resolves them whatever its own settings.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist
npx tsc -p tsconfig.build.json
find dist -name '*.d.ts' -print0 | xargs -0 sed -i -E "s#(['\"])(\.\.?/[^'\"]*)\.ts(['\"])#\1\2.js\3#g"
# `swaglet demo` finds its configs beside the CLI (cli/commands/experiment.ts: ROOT/configs).
cp -r configs dist/configs
# The configs name their model file relative to themselves (../examples/...).
cp -r examples dist/examples
echo "built dist/ ($(du -sh dist | cut -f1))"
