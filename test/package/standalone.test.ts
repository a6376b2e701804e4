/**
 * The standalone build (`npm run standalone`) as a GPU node gets it: the tarball unpacked into an
 * empty folder outside the repository, run with no node_modules anywhere above it and no Node on
 * the PATH (the bundled one runs by absolute path, from a launcher that needs no other program):
 * `selfcheck` passes every kernel check and a small `compile` writes bindings and WGSL. Built with
 * gzip here (fast); the shipped xz tarball is smaller still, so the size bound holds for both.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const MIB = 1 << 20;

let work = '';
let home = '';
let launcher = '';

async function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ out: string; err: string; code: number }> {
  try {
    const r = await run(cmd, args, { cwd, env, maxBuffer: 64 << 20 });
    return { out: r.stdout, err: r.stderr, code: 0 };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; code?: number };
    return { out: x.stdout ?? '', err: x.stderr ?? '', code: typeof x.code === 'number' ? x.code : 1 };
  }
}

/** No Node on the PATH and nothing inherited but what a login shell on a GPU node would have. */
function bareEnv(): NodeJS.ProcessEnv {
  return { HOME: home, PATH: join(work, 'no-such-bin') };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'swaglet-standalone-'));
  const built = await sh('bash', ['scripts/standalone.sh'], resolve('.'), { ...process.env, OUT_DIR: join(work, 'build'), STANDALONE_COMPRESS: 'gzip' });
  expect(built.code, built.err).toBe(0);
  const tarball = join(work, 'build', 'swaglet-linux-x64.tar.gz');
  expect(statSync(tarball).size).toBeLessThan(60 * MIB);
  home = join(work, 'node');
  mkdirSync(home);
  const unpacked = await sh('tar', ['-xzf', tarball, '-C', home], work, process.env);
  expect(unpacked.code, unpacked.err).toBe(0);
  launcher = join(home, 'swaglet-linux-x64', 'bin', 'swaglet');
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the standalone build, unpacked on a machine without Node', () => {
  it('carries Node, the bundle, dawn.node and the Vulkan loader, and no node_modules', () => {
    const root = join(home, 'swaglet-linux-x64');
    for (const f of ['bin/node', 'bin/swaglet', 'lib/swaglet.mjs', 'lib/dist/linux-x64/dawn.node', 'lib/libvulkan.so.1']) expect(existsSync(join(root, f)), f).toBe(true);
    for (let d = root; d !== dirname(d); d = dirname(d)) expect(existsSync(join(d, 'node_modules')), d).toBe(false);
    expect(readdirSync(join(home, 'swaglet-linux-x64'))).not.toContain('node_modules');
  });

  it('finds no node on its PATH', async () => {
    const r = await sh('/bin/sh', ['-c', 'command -v node'], home, bareEnv());
    expect(r.code).not.toBe(0);
  });

  it('runs selfcheck: every kernel against its CPU reference', async () => {
    const r = await sh(launcher, ['selfcheck'], home, bareEnv());
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toMatch(/^selfcheck on .+/m);
    expect(r.out).toMatch(/all \d+ checks passed/);
    expect(r.out).not.toMatch(/^\s+FAIL/m);
  });

  it('compiles a small LoRA to bindings, IR and WGSL', async () => {
    const example = join(home, 'swaglet-linux-x64', 'examples', 'lora.swag');
    const r = await sh(launcher, ['compile', example, '--out', 'out', '--target', 'cpu', '--dim', 'out=6', '--dim', 'in=10', '--dim', 'r=2', '--dim', 'n=5'], home, bareEnv());
    expect(r.code, r.err).toBe(0);
    const bindings = readFileSync(join(home, 'out', 'lora.ts'), 'utf8');
    expect(bindings).toContain('export class LoRA {');
    expect(bindings).toContain('forward(feeds: { x: ProgramFeed }): { y: Tensor<"f32", readonly [5, 6]> }');
    const wgsl = readdirSync(join(home, 'out', 'wgsl'));
    expect(wgsl.length).toBeGreaterThan(0);
    expect(readFileSync(join(home, 'out', 'wgsl', wgsl[0]!), 'utf8')).toMatch(/@compute @workgroup_size\(/);
  });

  it('reports a bad source file as a diagnostic, not a stack trace', async () => {
    const r = await sh(launcher, ['check', join(resolve('.'), 'test/fixtures/bad/matmul_shape.swag')], home, bareEnv());
    expect(r.code).toBe(1);
    expect(r.err + r.out).toMatch(/matmul_shape\.swag:7:37: error: x @ A/);
    expect(r.err + r.out).not.toMatch(/\n\s+at /);
  });
});
