#!/usr/bin/env node
// From a clone (cli/main.ts is here) runs the TypeScript CLI through tsx, as it always has; from an
// installed package, the JavaScript that `npm run build` put in dist/ (no tsx there).
import { existsSync } from 'node:fs';

const fromSource = existsSync(new URL('../cli/main.ts', import.meta.url));
if (fromSource) (await import('tsx/esm/api')).register();
const { main } = await import(fromSource ? '../cli/main.ts' : '../dist/cli/main.js');
const code = await main(process.argv.slice(2));
// dawn.node keeps the event loop alive while a GPU instance exists; the CLI is done, so leave.
process.exit(code);
