/**
 * The npm package as a user gets it: `npm pack` (its prepack builds dist/), the tarball installed
 * into a fresh project outside the repository, then plain JavaScript runs a LoRA forward through
 * `import { compile } from 'swaglet'`, a TypeScript file using bindings that the installed
 * `swaglet compile` generated type-checks against the installed declarations (and a wrong shape is
 * rejected, so the types are real), and `npx swaglet check` runs from dist/ without tsx.
 *
 * The install is `npm ci --prefer-offline` against a lock made from the repository's own, so it
 * takes the dependencies from the npm cache the repository's `npm ci` filled.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerLock } from './consumerLock.ts';

const run = promisify(execFile);
const REPO = resolve('.');
const TSC = join(REPO, 'node_modules/typescript/bin/tsc');
const DIMS = { out: 6, in: 10, r: 2, n: 5 };
const ALPHA = 16; // examples/lora.swag's default

let work = '';
let project = '';

async function sh(cmd: string, args: string[], cwd: string): Promise<{ out: string; err: string; code: number }> {
  try {
    const r = await run(cmd, args, { cwd, maxBuffer: 64 << 20, env: { ...process.env, npm_config_update_notifier: 'false' } });
    return { out: r.stdout, err: r.stderr, code: 0 };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; code?: number };
    return { out: x.stdout ?? '', err: x.stderr ?? '', code: typeof x.code === 'number' ? x.code : 1 };
  }
}

function values(count: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.round((s / 2 ** 31 - 1) * 1000) / 1000;
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'swaglet-pack-'));
  const packed = await sh('npm', ['pack', '--silent', '--pack-destination', work], REPO);
  expect(packed.code, packed.err).toBe(0);
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  expect(tarball).toBeDefined();
  project = join(work, 'consumer');
  mkdirSync(project);
  const spec = `file:../${tarball}`;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'swaglet-consumer', private: true, type: 'module', dependencies: { swaglet: spec } }, null, 2));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(consumerLock(join(REPO, 'package-lock.json'), join(REPO, 'package.json'), join(work, tarball!), spec), null, 2));
  const installed = await sh('npm', ['ci', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], project);
  expect(installed.code, installed.err).toBe(0);
  writeFileSync(join(project, 'lora.swag'), readFileSync(join(REPO, 'examples/lora.swag')));
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed npm package, installed into a fresh project', () => {
  it('ships dist/ with declarations and no TypeScript sources', () => {
    const root = join(project, 'node_modules/swaglet');
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { types: string };
    expect(readFileSync(join(root, manifest.types), 'utf8')).toContain('export declare function compile(');
    expect(readdirSync(root).sort()).toEqual(['README.md', 'bin', 'dist', 'package.json']);
  });

  it('runs a LoRA forward from plain JavaScript, matching the CPU reference', async () => {
    const { out, in: inDim, r, n } = DIMS;
    const feeds = { A: values(r * inDim, 1), B: values(out * r, 2), W: values(out * inDim, 3), x: values(n * inDim, 4) };
    writeFileSync(join(project, 'feeds.json'), JSON.stringify(feeds));
    writeFileSync(
      join(project, 'forward.mjs'),
      `import { readFileSync } from 'node:fs';
import { compile } from 'swaglet';
import { openDevice } from 'swaglet/runtime';
const feeds = JSON.parse(readFileSync('feeds.json', 'utf8'));
const device = await openDevice();
const [lora] = await compile(readFileSync('lora.swag', 'utf8'), { device, file: 'lora.swag', dims: ${JSON.stringify(DIMS)}, weights: { W: feeds.W } });
for (const name of ['A', 'B']) lora.set(name, feeds[name]);
const { y } = lora.forward({ x: feeds.x });
const result = { adapter: device.describe(), shape: y.shape, y: Array.from(await device.read(y)) };
lora.destroy();
device.destroy();
process.stdout.write(JSON.stringify(result));
process.exit(0);
`,
    );
    const r1 = await sh(process.execPath, ['forward.mjs'], project);
    expect(r1.code, r1.err).toBe(0);
    const got = JSON.parse(r1.out) as { shape: number[]; y: number[] };
    expect(got.shape).toEqual([n, out]);
    // y = x Wᵀ + (alpha / r)·(x Aᵀ) Bᵀ, in f64.
    const want: number[] = [];
    for (let i = 0; i < n; i++) {
      const u = Array.from({ length: r }, (_, k) => feeds.x.slice(i * inDim, (i + 1) * inDim).reduce((s, v, j) => s + v * feeds.A[k * inDim + j]!, 0));
      for (let o = 0; o < out; o++) {
        let y = 0;
        for (let j = 0; j < inDim; j++) y += feeds.x[i * inDim + j]! * feeds.W[o * inDim + j]!;
        for (let k = 0; k < r; k++) y += (ALPHA / r) * u[k]! * feeds.B[o * r + k]!;
        want.push(y);
      }
    }
    const worst = Math.max(...want.map((w, i) => Math.abs(got.y[i]! - w) / Math.max(1, Math.abs(w))));
    expect(worst).toBeLessThan(1e-4);
  });

  it('type-checks TypeScript that uses generated bindings against the installed types, and rejects a wrong shape', async () => {
    const dims = Object.entries(DIMS).flatMap(([k, v]) => ['--dim', `${k}=${v}`]);
    const compiled = await sh('npx', ['--offline', 'swaglet', 'compile', 'lora.swag', '--out', 'gen', ...dims], project);
    expect(compiled.code, compiled.err).toBe(0);
    expect(readFileSync(join(project, 'gen/lora.ts'), 'utf8')).toContain("from 'swaglet/runtime'");
    const use = (shape: string) => `import { openDevice } from 'swaglet/runtime';
import { LoRA } from './gen/lora.js';
export async function forwardShape(): Promise<readonly number[]> {
  const device = await openDevice();
  const lora = await LoRA.create(device, { weights: { W: new Float32Array(${DIMS.out * DIMS.in}) }, seed: 1 });
  const { y } = lora.forward({ x: new Float32Array(${DIMS.n * DIMS.in}) });
  const shape: ${shape} = y.shape;
  lora.destroy();
  return shape;
}
`;
    writeFileSync(join(project, 'use.ts'), use(`readonly [${DIMS.n}, ${DIMS.out}]`));
    writeFileSync(join(project, 'wrong.ts'), use(`readonly [${DIMS.out}, ${DIMS.n}]`));
    const tsconfig = (file: string) => ({
      compilerOptions: {
        strict: true,
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        noEmit: true,
        allowImportingTsExtensions: true,
        skipLibCheck: true,
        types: ['node', '@webgpu/types'],
        // @webgpu/types comes with webgpu; @types/node from the repository (a consumer brings its own).
        typeRoots: [join(project, 'node_modules'), join(REPO, 'node_modules/@types')],
      },
      files: [file],
    });
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig('use.ts')));
    writeFileSync(join(project, 'tsconfig.wrong.json'), JSON.stringify(tsconfig('wrong.ts')));
    const good = await sh(process.execPath, [TSC, '-p', 'tsconfig.json'], project);
    expect(good.out + good.err).toBe('');
    expect(good.code).toBe(0);
    const bad = await sh(process.execPath, [TSC, '-p', 'tsconfig.wrong.json'], project);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/wrong\.ts\(7,9\): error TS2322: .*readonly \[5, 6\].*readonly \[6, 5\]/);
  });

  it('runs `npx swaglet check` from dist/ (no tsx installed)', async () => {
    expect(readdirSync(join(project, 'node_modules')).includes('tsx')).toBe(false);
    const clean = await sh('npx', ['--offline', 'swaglet', 'check', 'lora.swag'], project);
    expect(clean.code, clean.err).toBe(0);
    expect(clean.out).toContain('1 file checked, no errors');
    writeFileSync(join(project, 'bad.swag'), readFileSync(join(REPO, 'test/fixtures/bad/matmul_shape.swag')));
    const bad = await sh('npx', ['--offline', 'swaglet', 'check', 'bad.swag'], project);
    expect(bad.code).toBe(1);
    expect(bad.err + bad.out).toMatch(/bad\.swag:7:37: error: x @ A: \[n, in\] @ \[r, in\]/);
  });
});
