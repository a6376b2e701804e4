import { type AdapterReport, type BackendChoice, listAdapters, openDevice } from '../../runtime/index.ts';
import { parseArgs } from '../args.ts';
import type { Command } from '../command.ts';

const KEY_LIMITS = [
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupsPerDimension',
];

function adapterLine(r: AdapterReport): string {
  const kind = r.isCpu ? 'CPU (software)' : r.isFallbackAdapter ? 'fallback' : 'GPU';
  return `${r.backend.padEnd(9)} ${kind.padEnd(15)} ${r.device || r.description} — ${r.description}`;
}

export const devicesCommand: Command = {
  name: 'devices',
  usage: 'devices [--backend B] [--json]',
  summary: 'list the WebGPU adapters found and the one swaglet chooses',
  async run(args, io) {
    const { flags } = parseArgs(args, ['backend'], ['json']);
    const found = await listAdapters();
    let chosen: AdapterReport | undefined;
    let chooseError: string | undefined;
    try {
      const device = await openDevice({ backend: flags.get('backend') as BackendChoice | undefined });
      chosen = device.report;
      device.destroy();
    } catch (e) {
      chooseError = e instanceof Error ? e.message : String(e);
    }
    if (flags.has('json')) {
      io.out(`${JSON.stringify({ adapters: found, chosen: chosen ?? null, error: chooseError ?? null }, null, 2)}\n`);
      return chosen ? 0 : 1;
    }
    io.out('Adapters found:\n');
    for (const entry of found) {
      io.out(`  ${'error' in entry ? `${entry.backend.padEnd(9)} unavailable: ${entry.error.split('\n')[0]}` : adapterLine(entry)}\n`);
    }
    if (!chosen) {
      io.err(`${chooseError}\n`);
      return 1;
    }
    io.out(`\nChosen: ${adapterLine(chosen)} [${chosen.featureLevel}]\n`);
    for (const key of KEY_LIMITS) io.out(`  ${key.padEnd(36)} ${chosen.limits[key]}\n`);
    io.out(`  features: ${chosen.features.join(', ') || '(none)'}\n`);
    return 0;
  },
};
