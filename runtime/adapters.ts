import { existsSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { NoAdapterError } from './errors.ts';

/** Which Dawn backend to ask for. `auto`: a hardware adapter first, llvmpipe after. */
export type BackendChoice = 'auto' | 'vulkan' | 'metal' | 'd3d12' | 'opengles' | 'null';

export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'vulkan', 'metal', 'd3d12', 'opengles', 'null'];

/** What the runtime tells a person about the adapter it chose. */
export interface AdapterReport {
  backend: Exclude<BackendChoice, 'auto'> | 'default';
  featureLevel: 'core' | 'compatibility';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** True when this is Mesa's llvmpipe (CPU) rather than a GPU. */
  isCpu: boolean;
  limits: Record<string, number>;
  features: string[];
}

/** A live adapter together with the object that keeps dawn.node alive. */
export interface OpenedAdapter {
  /** dawn.node crashes if this is garbage-collected while the device lives: keep it referenced. */
  gpu: GPU;
  adapter: GPUAdapter;
  report: AdapterReport;
}

/** WebGPU constants (GPUBufferUsage, GPUMapMode, ...) from dawn.node, without touching globalThis. */
export const gpuConstants = globals as unknown as {
  GPUBufferUsage: typeof GPUBufferUsage;
  GPUMapMode: typeof GPUMapMode;
  GPUShaderStage: typeof GPUShaderStage;
};

export const INSTALL_HINT = [
  'No WebGPU adapter could be opened.',
  '  - With a GPU: install its driver with Vulkan support (Debian/Ubuntu: `apt-get install libvulkan1`',
  '    plus the vendor driver, e.g. NVIDIA\'s, or `mesa-vulkan-drivers` for AMD/Intel).',
  '  - Without a GPU (CPU through Mesa llvmpipe): `apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri`.',
  '  Force a backend with SWAGLET_BACKEND=vulkan|opengles|metal|d3d12 to see that backend\'s own error.',
].join('\n');

function limitsRecord(limits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  // Limits are prototype getters on dawn.node objects, so enumerate with for..in.
  for (const key in limits) {
    const value = (limits as unknown as Record<string, unknown>)[key];
    if (typeof value === 'number') out[key] = value;
  }
  return out;
}

function describe(
  adapter: GPUAdapter,
  backend: AdapterReport['backend'],
  featureLevel: AdapterReport['featureLevel'],
): AdapterReport {
  const info = adapter.info;
  const text = `${info.vendor} ${info.device} ${info.description}`.toLowerCase();
  return {
    backend,
    featureLevel,
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    isCpu: /llvmpipe|lavapipe|swiftshader|softpipe/.test(text),
    limits: limitsRecord(adapter.limits),
    features: [...adapter.features].map(String).sort(),
  };
}

/** Dawn only reaches the CPU via EGL when told there is no display; must be set before create(). */
function ensureSurfacelessEgl(): void {
  process.env.EGL_PLATFORM ??= 'surfaceless';
}

async function tryOpen(
  backend: Exclude<BackendChoice, 'auto'> | 'default',
  featureLevel: 'core' | 'compatibility',
  dawnToggles: string[],
): Promise<OpenedAdapter | undefined> {
  if (backend === 'opengles') ensureSurfacelessEgl();
  const flags = backend === 'default' ? [...dawnToggles] : [`backend=${backend}`, ...dawnToggles];
  const gpu = create(flags);
  const adapter = await gpu.requestAdapter({ featureLevel, powerPreference: 'high-performance' });
  if (!adapter) return undefined;
  return { gpu, adapter, report: describe(adapter, backend, featureLevel) };
}

export interface AdapterRequest {
  backend?: BackendChoice;
  /** Extra dawn.node flags, e.g. `enable-dawn-features=disable_robustness`. */
  dawnFlags?: string[];
}

/** Resolves the backend from the option, then SWAGLET_BACKEND, then `auto`. */
export function resolveBackend(option?: BackendChoice): BackendChoice {
  const fromEnv = process.env.SWAGLET_BACKEND as BackendChoice | undefined;
  const choice = option ?? (fromEnv && fromEnv.length > 0 ? fromEnv : 'auto');
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new NoAdapterError(`Unknown backend '${choice}' (from ${option ? 'options' : 'SWAGLET_BACKEND'}); expected one of ${BACKEND_CHOICES.join(', ')}.`);
  }
  return choice;
}

/**
 * Opens the best adapter: with `auto`, Dawn's default backends at core feature level (a real
 * GPU), then the CPU through llvmpipe on OpenGL ES at compatibility level.
 */
export async function openAdapter(request: AdapterRequest = {}): Promise<OpenedAdapter> {
  const backend = resolveBackend(request.backend);
  const flags = request.dawnFlags ?? [];
  const attempts: Array<[Exclude<BackendChoice, 'auto'> | 'default', 'core' | 'compatibility']> =
    backend === 'auto'
      ? [['default', 'core'], ['opengles', 'compatibility']]
      : backend === 'opengles'
        ? [['opengles', 'compatibility']]
        : [[backend, 'core'], [backend, 'compatibility']];
  const failures: string[] = [];
  for (const [b, level] of attempts) {
    // With no Vulkan loader at all, Dawn's default backends only print a warning that looks like a
    // stack trace (BackendVk.cpp) on every command: skip them and say why.
    const absent = backend === 'auto' && b === 'default' && process.platform === 'linux' ? missingLibraryHint('vulkan') : undefined;
    if (absent) {
      failures.push(`${b}/${level}: ${absent}`);
      continue;
    }
    try {
      const opened = await tryOpen(b, level, flags);
      if (opened) return opened;
      const hint = missingLibraryHint(b === 'default' ? 'vulkan' : b);
      failures.push(`${b}/${level}: ${hint ?? 'no adapter'}`);
    } catch (e) {
      failures.push(`${b}/${level}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new NoAdapterError(`${INSTALL_HINT}\n  Tried: ${failures.join('; ')}.`);
}

const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu'];

/** Why a backend found nothing, when the cause is a missing system library we can name. */
function missingLibraryHint(backend: string): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const needs: Record<string, Array<[string, string]>> = {
    vulkan: [['libvulkan.so.1', 'libvulkan1 (and a Vulkan driver)']],
    // libEGL is the vendor-neutral loader; Mesa's EGL and its DRI swrast driver are llvmpipe itself.
    opengles: [['libEGL.so.1', 'libegl1'], ['libEGL_mesa.so.0', 'libegl-mesa0'], ['dri/swrast_dri.so', 'libgl1-mesa-dri']],
  };
  // LD_LIBRARY_PATH first: the standalone build carries its own Vulkan loader there.
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...LIB_DIRS];
  const missing = (needs[backend] ?? []).filter(([lib]) => !dirs.some((dir) => existsSync(`${dir}/${lib}`)));
  if (missing.length === 0) return undefined;
  return `${missing.map(([lib]) => lib).join(', ')} not found: apt-get install ${missing.map(([, pkg]) => pkg).join(' ')}`;
}

/** Every adapter reachable, one per backend, for `swaglet devices`. Never throws. */
export async function listAdapters(dawnFlags: string[] = []): Promise<Array<AdapterReport | { backend: string; error: string }>> {
  const out: Array<AdapterReport | { backend: string; error: string }> = [];
  const candidates: Array<[Exclude<BackendChoice, 'auto'>, 'core' | 'compatibility']> = [
    ['vulkan', 'core'],
    ['metal', 'core'],
    ['d3d12', 'core'],
    ['opengles', 'compatibility'],
  ];
  const platformBackends: Record<string, string[]> = {
    linux: ['vulkan', 'opengles'],
    darwin: ['metal'],
    win32: ['d3d12', 'vulkan'],
  };
  const allowed = platformBackends[process.platform] ?? ['vulkan', 'opengles'];
  for (const [backend, level] of candidates) {
    if (!allowed.includes(backend)) continue;
    try {
      const opened = await tryOpen(backend, level, dawnFlags);
      out.push(opened ? opened.report : { backend, error: missingLibraryHint(backend) ?? 'no adapter' });
    } catch (e) {
      out.push({ backend, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}
