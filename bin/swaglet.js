#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so the package works straight from a clone.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
const code = await main(process.argv.slice(2));
// dawn.node keeps the event loop alive while a GPU instance exists; the CLI is done, so leave.
process.exit(code);
