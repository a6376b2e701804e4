/**
 * Two `swaglet train` processes on one experiment directory (issue #14, fault D), a stale lock,
 * a `train` without `--resume` over an existing run, and SIGINT, with real child processes.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'swaglet-lock-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const bin = resolve('bin/swaglet.js');

function writeConfig(name: string, overrides: Record<string, unknown> = {}): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      name,
      model: { file: resolve('examples/use_lite_classifier.swag'), maxTokens: 8, batch: 16 },
      data: { sizes: { train: 32, validation: 16, test: 16, shift: 16, ood: 16 } },
      train: { epochs: 1, lr: 0.01, warmupSteps: 1, swag: { epochs: 2, lr: 0.005, collectEvery: 1 } },
      runs: 1,
      samples: 2,
      checkpointEvery: 2,
      out: join(dir, 'results'),
      ...overrides,
    }),
  );
  return path;
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  err: string;
}

function start(...args: string[]): { child: ChildProcess; done: Promise<Finished>; err: () => string } {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  const done = new Promise<Finished>((res) => child.on('close', (code, signal) => res({ code, signal, err })));
  return { child, done, err: () => err };
}

async function until(what: string, test: () => boolean, child: { done: Promise<Finished>; err: () => string }): Promise<void> {
  let exited = false;
  void child.done.then(() => (exited = true));
  while (!test()) {
    if (exited) throw new Error(`the process exited before ${what}:\n${child.err()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('one train per experiment directory (D)', () => {
  it('a second train on a directory in use is refused, naming the holder; the first finishes', async () => {
    const config = writeConfig('race');
    const lock = join(dir, 'results', 'race', '.lock');
    const first = start('train', config);
    await until('taking the lock', () => existsSync(lock), first);
    const second = spawnSync(process.execPath, [bin, 'train', config, '--resume'], { encoding: 'utf8' });
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`in use by process ${first.child.pid} on ${hostname()}`));
    expect(second.stderr).not.toMatch(/ENOENT|ENOTEMPTY/);
    const done = await first.done;
    expect(done.code, done.err).toBe(0);
    expect(existsSync(lock)).toBe(false);
    expect(existsSync(join(dir, 'results', 'race', 'runs', 'run-0', 'result.safetensors'))).toBe(true);

    // Without --resume, a directory that holds a run is never adopted nor silently replaced.
    const again = spawnSync(process.execPath, [bin, 'train', config], { encoding: 'utf8' });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/holds a run.*--resume.*--fresh/s);
  }, 180_000);

  it('a lock left by a process that is gone is taken over, with a warning', async () => {
    const config = writeConfig('stale');
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(gone.stdout);
    const lock = join(dir, 'results', 'stale', '.lock');
    rmSync(join(dir, 'results', 'stale'), { recursive: true, force: true });
    spawnSync('mkdir', ['-p', join(dir, 'results', 'stale')]);
    writeFileSync(lock, JSON.stringify({ pid, host: hostname(), command: 'swaglet train', since: new Date().toISOString() }));
    const r = spawnSync(process.execPath, [bin, 'train', config], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`stale lock .*process ${pid}`));
    expect(existsSync(lock)).toBe(false);
  }, 180_000);

  it('SIGINT stops at a step boundary, says where to resume, and --resume finishes the run', async () => {
    const config = writeConfig('interrupted', { train: { epochs: 40, lr: 0.01, warmupSteps: 1, swag: { epochs: 2, lr: 0.005, collectEvery: 1 } } });
    const child = start('train', config);
    await until('training', () => /run 1: \d+\/\d+/.test(child.err()), child);
    child.child.kill('SIGINT');
    const done = await child.done;
    expect(done.code, done.err).toBe(130);
    const stopped = /stopped at step (\d+) of 84/.exec(done.err);
    expect(stopped, done.err).not.toBeNull();
    expect(done.err).toMatch(/swaglet train .*interrupted\.json --resume/);
    expect(done.err).not.toMatch(/at .*\.ts:\d+/);
    const latest = JSON.parse(readFileSync(join(dir, 'results', 'interrupted', 'runs', 'run-0', 'checkpoints', 'latest.json'), 'utf8')) as { step: number };
    expect(latest.step).toBe(Number(stopped![1]));
    const resumed = spawnSync(process.execPath, [bin, 'train', config, '--resume'], { encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resumed run 1 at step ${stopped![1]}`));
  }, 180_000);
});
