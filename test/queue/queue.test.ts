/**
 * MultiSWAG's runs as jobs on a real Redis (Debian's redis-server on a loopback port of the
 * test's own) taken by three `swaglet worker` processes. One worker is SIGKILLed mid-job: its job
 * is found stalled, taken by another worker, resumed from the last checkpoint, and the experiment
 * ends with the same report as a local run, to the last digit. A restart of Redis mid-sweep loses
 * no job; a job whose config is bad fails once, with its message shown by `swaglet train`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { type TestRedis, startRedis } from '../helpers/redis.ts';
import { writeTabularExperiment } from './fixture.ts';

const BIN = resolve('bin/swaglet.js');
const dir = mkdtempSync(join(tmpdir(), 'swaglet-queue-'));
let redis: TestRedis;
let configOf: Awaited<ReturnType<typeof writeTabularExperiment>>;
const children: ChildProcess[] = [];

function swaglet(args: string[]): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWAGLET_BACKEND: 'opengles' } });
  children.push(child);
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => text, exit };
}

const workers = (url: string, n: number) => Array.from({ length: n }, () => swaglet(['worker', '--queue', url, '--lock-ms', '2000']));
const stopAll = async (ws: ReturnType<typeof swaglet>[]) => {
  for (const w of ws) w.child.kill('SIGTERM');
  await Promise.all(ws.map((w) => w.exit));
};

/** The report's numbers (its notes carry wall times, which differ run to run). */
const numbers = (path: string) => {
  const report = JSON.parse(readFileSync(path, 'utf8')) as { results: unknown; comparisons: unknown };
  return { results: report.results, comparisons: report.comparisons };
};

beforeAll(async () => {
  redis = await startRedis();
  configOf = await writeTabularExperiment(dir);
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('MultiSWAG on a Redis-backed queue', () => {
  it('three workers, one killed mid-job: the same report as a local run, to the last digit', async () => {
    const local = configOf('local');
    expect((await runCli('train', local)).code).toBe(0);
    const localEval = await runCli('eval', local);
    expect(localEval.code, localEval.err).toBe(0);

    const queued = configOf('queued');
    const ws = workers(redis.url, 3);
    const submit = swaglet(['train', queued, '--queue', redis.url]);
    // Wait until some run is mid-training (a checkpoint, no result), then kill the worker holding it.
    const runs = join(dir, 'out-queued', 'tabular', 'runs');
    let victim: number | undefined;
    for (let tries = 0; tries < 1200 && victim === undefined; tries++) {
      for (let m = 0; m < 3 && victim === undefined; m++) {
        const latest = join(runs, `run-${m}`, 'checkpoints', 'latest.json');
        if (!existsSync(latest) || existsSync(join(runs, `run-${m}`, 'manifest.json'))) continue;
        try {
          const step = (JSON.parse(readFileSync(latest, 'utf8')) as { step: number }).step;
          const holder = JSON.parse(readFileSync(join(runs, `run-${m}`, '.lock'), 'utf8')) as { pid: number };
          if (step >= 5 && ws.some((w) => w.child.pid === holder.pid)) victim = holder.pid;
        } catch {
          // A file between writes: look again.
        }
      }
      if (victim === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(victim, 'a worker was caught mid-job').toBeDefined();
    const killed = ws.find((w) => w.child.pid === victim)!;
    killed.child.kill('SIGKILL');
    expect(await submit.exit, submit.output()).toBe(0);
    const survivors = ws.filter((w) => w !== killed);
    const log = survivors.map((w) => w.output()).join('\n');
    expect(log).toMatch(/resumed run \d+ at step \d+/);
    await stopAll(survivors);

    const queuedEval = await runCli('eval', queued);
    expect(queuedEval.code, queuedEval.err).toBe(0);
    expect(numbers(join(dir, 'out-queued', 'tabular.json'))).toEqual(numbers(join(dir, 'out-local', 'tabular.json')));
  }, 240_000);

  it('a Redis restart mid-sweep loses no job and runs none twice to completion', async () => {
    const sweep = configOf('restart', { train: { seed: 9, epochs: 20, lr: 0.05, warmupSteps: 4, swag: { epochs: 4, lr: 0.02, collectEvery: 3 } } });
    const ws = workers(redis.url, 2);
    const submit = swaglet(['train', sweep, '--queue', redis.url]);
    const runs = join(dir, 'out-restart', 'tabular', 'runs');
    for (let tries = 0; tries < 1200 && ![0, 1, 2].some((m) => existsSync(join(runs, `run-${m}`, 'checkpoints', 'latest.json'))); tries++) await new Promise((r) => setTimeout(r, 25));
    await redis.restart();
    expect(await submit.exit, submit.output()).toBe(0);
    await stopAll(ws);
    const log = ws.map((w) => w.output()).join('\n');
    for (let m = 0; m < 3; m++) {
      // Trained to completion exactly once across the workers. A job whose completion the restart
      // swallowed may be taken again, and then finds its run finished (0 steps, "finished earlier").
      expect(log.match(new RegExp(`run ${m + 1}: \\d+ steps in`, 'g'))?.length ?? 0, log).toBe(1);
      expect(log).toMatch(new RegExp(`run-${m}: done`));
      expect(existsSync(join(runs, `run-${m}`, 'manifest.json'))).toBe(true);
    }
  }, 240_000);

  it('a job whose config fails is failed once, its message shown by swaglet train', async () => {
    const bad = configOf('bad', { data: { train: 'missing.csv', validation: 'validation.csv', test: 'test.csv', features: ['f0'], label: 'label' } });
    const ws = workers(redis.url, 1);
    const submit = swaglet(['train', bad, '--queue', redis.url]);
    expect(await submit.exit).toBe(1);
    expect(submit.output()).toMatch(/3 of 3 job\(s\) failed/);
    expect(submit.output()).toMatch(/missing\.csv/);
    expect(submit.output()).not.toMatch(/at .*\.ts:\d+/);
    await stopAll(ws);
    // Failed for good at the first attempt: tried once, not retried.
    expect(ws[0]!.output().match(/started \(attempt/g)?.length).toBe(3);
  }, 120_000);
});
