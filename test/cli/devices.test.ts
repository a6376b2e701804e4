import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

const run = runCli;

describe('swaglet devices', () => {
  it('lists the adapters and says which one it chose, as JSON', async () => {
    const r = await run('devices', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { adapters: unknown[]; chosen: { backend: string; limits: Record<string, number> } };
    expect(report.adapters.length).toBeGreaterThan(0);
    expect(report.chosen.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });

  it('prints the chosen adapter and its key limits', async () => {
    const r = await run('devices');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Chosen: .*\n\s+maxComputeInvocationsPerWorkgroup\s+\d+/);
  });

  it('rejects an unknown backend with the list of valid ones, no stack trace', async () => {
    const r = await run('devices', '--backend', 'cuda');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/Unknown backend 'cuda'/);
    expect(r.err).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('rejects unknown options as usage errors', async () => {
    expect((await run('devices', '--fast')).code).toBe(2);
  });
});

describe('swaglet selfcheck', () => {
  it('runs every kernel family against its CPU reference and passes', async () => {
    const r = await run('selfcheck');
    expect(r.out).toMatch(/all \d+ checks passed/);
    expect(r.out).not.toMatch(/FAIL/);
    expect(r.code).toBe(0);
  });
});
