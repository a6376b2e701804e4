/**
 * Matmul tile configurations: plain data, chosen per shape (and per device) rather than baked
 * into the kernel. Two kinds, because the fastest tiling differs by an order of magnitude between
 * llvmpipe and a real GPU:
 *
 * - `register`: no workgroup memory, no barriers. Each thread keeps a tileM×tileN block of C in
 *   registers and reads A and B straight from storage, 4 values of K at a time. On llvmpipe every
 *   storage load is a loop over the 8 SIMD lanes (≈90 cycles for a vec4), so the only lever is more
 *   multiply-adds per load: big per-thread tiles (16×16 … 32×32).
 * - `shared`: the classic GPU tiling. The workgroup stages a (wgY·tileM)×tileK slab of A and a
 *   tileK×(wgX·tileN) slab of B in workgroup memory, then each thread works on its block from
 *   there. Barriers make it slow on llvmpipe; on a GPU it is what saves bandwidth.
 *
 * Threads map to output columns in groups of four (one vec4 of C), interleaved across the x lanes
 * of a workgroup so neighbouring lanes touch neighbouring memory; each thread's rows are contiguous.
 */

export type MatmulKind = 'register' | 'shared';

export interface MatmulConfig {
  kind: MatmulKind;
  /** Threads per workgroup along N (x) and along M (y). */
  workgroupX: number;
  workgroupY: number;
  /** Outputs per thread along M, and along N (a multiple of 4: columns go in vec4 groups). */
  tileM: number;
  tileN: number;
  /**
   * K depth: for `register`, how many k are unrolled per loop step (a multiple of 4); for
   * `shared`, the depth of the K tile staged in workgroup memory.
   */
  tileK: number;
  /** Use vec4 loads and stores along whichever dimensions are contiguous and divisible by 4. */
  vec4: boolean;
}

/** The device limits a config must respect (a GPUSupportedLimits satisfies this). */
export interface MatmulLimits {
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupSizeY: number;
  maxComputeWorkgroupStorageSize: number;
}

/** The problem size a config is chosen for (after transposes: op(A) is M×K, op(B) is K×N). */
export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  /** Inner dimension of the concatenated (LoRA) pair, 0 when there is none. */
  K2?: number;
  batch?: number;
}

/** What a device is: llvmpipe (CPU) prefers register tiles, a GPU shared-memory tiles. */
export type MatmulTarget = 'cpu' | 'gpu';

/** A short name that says what a config is, e.g. `reg32x32.w8x2.k4.v4` or `smem4x4.w16x16.k16`. */
export function configName(c: MatmulConfig): string {
  const prefix = c.kind === 'register' ? 'reg' : 'smem';
  return `${prefix}${c.tileM}x${c.tileN}.w${c.workgroupX}x${c.workgroupY}.k${c.tileK}${c.vec4 ? '.v4' : ''}`;
}

/** Rows and columns of C one workgroup computes. */
export function workgroupTile(c: MatmulConfig): { rows: number; cols: number } {
  return { rows: c.workgroupY * c.tileM, cols: c.workgroupX * c.tileN };
}

/** Bytes of workgroup memory a config stages (0 for register tiles). */
export function sharedBytes(c: MatmulConfig): number {
  if (c.kind !== 'shared') return 0;
  const { rows, cols } = workgroupTile(c);
  return (rows + cols) * c.tileK * 4;
}

/** Why a config is malformed or does not fit the limits, or undefined when it is fine. */
export function configProblem(c: MatmulConfig, limits?: MatmulLimits): string | undefined {
  const positive = (v: number) => Number.isInteger(v) && v >= 1;
  if (c.kind !== 'register' && c.kind !== 'shared') return `unknown kind '${String(c.kind)}'`;
  if (![c.workgroupX, c.workgroupY, c.tileM, c.tileN, c.tileK].every(positive)) return 'sizes must be positive integers';
  if (c.tileN % 4 !== 0) return `tileN ${c.tileN} is not a multiple of 4`;
  if (c.kind === 'register' && c.tileK % 4 !== 0) return `tileK ${c.tileK} is not a multiple of 4`;
  if (c.tileM * c.tileN > 4096) return `a ${c.tileM}×${c.tileN} tile per thread is too large to unroll`;
  if (limits) {
    const threads = c.workgroupX * c.workgroupY;
    if (threads > limits.maxComputeInvocationsPerWorkgroup) return `${threads} threads exceed maxComputeInvocationsPerWorkgroup ${limits.maxComputeInvocationsPerWorkgroup}`;
    if (c.workgroupX > limits.maxComputeWorkgroupSizeX) return `workgroupX ${c.workgroupX} exceeds maxComputeWorkgroupSizeX`;
    if (c.workgroupY > limits.maxComputeWorkgroupSizeY) return `workgroupY ${c.workgroupY} exceeds maxComputeWorkgroupSizeY`;
    const bytes = sharedBytes(c);
    if (bytes > limits.maxComputeWorkgroupStorageSize) return `${bytes} bytes of workgroup memory exceed maxComputeWorkgroupStorageSize ${limits.maxComputeWorkgroupStorageSize}`;
  }
  return undefined;
}

const reg = (tileM: number, tileN: number, workgroupX: number, workgroupY: number): MatmulConfig => ({
  kind: 'register', workgroupX, workgroupY, tileM, tileN, tileK: 4, vec4: true,
});
const smem = (tileM: number, tileN: number, workgroupX: number, workgroupY: number, tileK: number): MatmulConfig => ({
  kind: 'shared', workgroupX, workgroupY, tileM, tileN, tileK, vec4: true,
});

/**
 * The configs swaglet knows, best-first per target. Register tiles come in sizes from 32×32
 * (most multiply-adds per load: fastest on llvmpipe for big outputs, though its first compile
 * takes ≈9 s cold; Mesa caches it on disk) down to 4×4 (more workgroups for small outputs);
 * `reg4x4.w1x64` puts the SIMD lanes along M for skinny outputs (N ≤ 8).
 */
const CPU_REGISTER: readonly MatmulConfig[] = [
  reg(32, 32, 8, 2),
  reg(32, 16, 8, 4),
  reg(16, 16, 8, 4),
  reg(8, 8, 8, 8),
  reg(4, 4, 8, 8),
  reg(4, 4, 1, 64),
  // Big per-thread tiles in 64×64 and 64×128 workgroup tiles, for batches of small products
  // (attention's per-head 64×64 scores and contexts): the tiles above pad them, and 8 threads
  // still fill llvmpipe's 8 SIMD lanes. Measured 1.5–2.5× faster there than reg16x16.w8x4.
  reg(32, 16, 4, 2),
  reg(16, 32, 2, 4),
  reg(16, 16, 4, 4),
  reg(32, 32, 4, 2),
  // A 32×512 workgroup tile: the whole of a 512-wide output row per workgroup.
  reg(32, 32, 16, 1),
];
const GPU_SHARED: readonly MatmulConfig[] = [
  smem(4, 4, 16, 16, 16),
  smem(4, 8, 8, 8, 32),
  smem(4, 4, 8, 8, 32),
];
/** Register tiles with many threads per workgroup: what a GPU runs well without shared memory. */
const GPU_REGISTER: readonly MatmulConfig[] = [reg(4, 4, 16, 16), reg(8, 8, 8, 8)];

/** Every config swaglet knows for a target, best-first, before any shape's filtering. */
export function targetConfigs(target: MatmulTarget): MatmulConfig[] {
  return configsFor(target).map((c) => ({ ...c }));
}

/**
 * Each target's own configs first, then one or two of the other kind, so tuning still compares
 * both kinds without timing every slow candidate (a shared-memory tile runs ≈10× slower on
 * llvmpipe; big register tiles spill on a GPU).
 */
function configsFor(target: MatmulTarget): MatmulConfig[] {
  return target === 'cpu' ? [...CPU_REGISTER, GPU_SHARED[0]!] : [...GPU_SHARED, ...GPU_REGISTER, CPU_REGISTER[2]!];
}

/**
 * Sensible candidates for a shape, as a pure function of plain numbers: configs that fit the
 * limits and whose workgroup tile does not mostly pad the output, best-first for the target,
 * a config of the other kind last. Never empty.
 */
export function candidateConfigs(shape: MatmulShape, limits: MatmulLimits, target: MatmulTarget = 'cpu'): MatmulConfig[] {
  const ordered = configsFor(target);
  const unique = new Map<string, MatmulConfig>();
  for (const c of ordered) if (!unique.has(configName(c))) unique.set(configName(c), c);
  const fitting = [...unique.values()].filter((c) => configProblem(c, limits) === undefined);
  // Drop tiles that would mostly compute padding: keep those whose share of useful outputs is at
  // least half the best share. Lanes along M only pay for skinny outputs.
  const share = (c: MatmulConfig) => {
    const { rows, cols } = workgroupTile(c);
    return (shape.M / (Math.ceil(shape.M / rows) * rows || 1)) * (shape.N / (Math.ceil(shape.N / cols) * cols || 1));
  };
  const shaped = fitting.filter((c) => c.workgroupX !== 1 || shape.N <= 8);
  const best = Math.max(...shaped.map(share));
  const useful = shaped.filter((c) => share(c) >= best / 2);
  const list = useful.length > 0 ? useful : fitting;
  return list.length > 0 ? list.map((c) => ({ ...c })) : [reg(1, 4, 8, 8)];
}

/**
 * The candidates worth timing for a shape: `candidateConfigs`, less, on the CPU when the output
 * is big (≥ 256² elements), the shared-memory tiles and the register tiles with under a quarter
 * of the biggest candidate's outputs per thread. Both run several times slower than a 32×32
 * register tile on llvmpipe (barriers; one load per few multiply-adds), and timing one costs
 * seconds there. Pure; never empty.
 */
export function tuningCandidates(shape: MatmulShape, limits: MatmulLimits, target: MatmulTarget = 'cpu'): MatmulConfig[] {
  const candidates = candidateConfigs(shape, limits, target);
  const work = shape.M * shape.N * Math.max(shape.batch ?? 1, 1);
  const registers = candidates.filter((c) => c.kind === 'register');
  if (target !== 'cpu' || work < 256 * 256 || registers.length === 0) return candidates;
  const biggest = Math.max(...registers.map((c) => c.tileM * c.tileN));
  return registers.filter((c) => c.tileM * c.tileN * 4 >= biggest);
}

/**
 * The config used when tuning is off: deterministic, from the shape alone. On the CPU the
 * largest register tile that the output fills; on a GPU the 64×64 shared-memory tile.
 */
export function defaultConfig(shape: MatmulShape, limits: MatmulLimits, target: MatmulTarget = 'cpu'): MatmulConfig {
  const candidates = candidateConfigs(shape, limits, target);
  if (target === 'gpu') return candidates[0]!;
  if (shape.N <= 4) {
    const skinny = candidates.find((c) => c.workgroupX === 1);
    if (skinny) return skinny;
  }
  const work = shape.M * shape.N * Math.max(shape.batch ?? 1, 1);
  // Big outputs: the biggest tile. Smaller ones: a tile that still leaves several workgroups
  // for llvmpipe's threads.
  const wanted = work >= 512 * 512 ? 'reg32x32.w8x2.k4.v4' : work >= 128 * 128 ? 'reg16x16.w8x4.k4.v4' : 'reg4x4.w8x8.k4.v4';
  return candidates.find((c) => configName(c) === wanted) ?? candidates[0]!;
}
