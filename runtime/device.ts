import { type AdapterReport, type AdapterRequest, gpuConstants, openAdapter } from './adapters.ts';
import { DeviceLostError, KernelError, LimitError, ShapeError, formatBytes, formatShape } from './errors.ts';
import { type BindingKind, type KernelSpec, kernelCacheKey } from './kernel.ts';
import { type DType, Tensor, type TensorOwner, type TypedArrayFor, checkShape, sizeOf } from './tensor.ts';

const { GPUBufferUsage, GPUMapMode, GPUShaderStage } = gpuConstants;

const STORAGE_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** A pipeline ready to dispatch, with the spec it came from. */
export interface CompiledKernel {
  readonly id: number;
  readonly spec: KernelSpec;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

/** Distinct uniform blocks kept alive for reuse before the cache is emptied. */
export const UNIFORM_CACHE_LIMIT = 4096;

/** One argument per binding: a tensor for storage bindings, raw bytes for the uniform. */
export type KernelArg = Tensor | ArrayBufferView;

export type Workgroups = readonly [number, number?, number?];

/** One dispatch as recorded in profiling mode: enough to replay it alone and time it. */
export interface RecordedDispatch {
  readonly kernel: CompiledKernel;
  readonly args: readonly KernelArg[];
  readonly workgroups: Workgroups;
}

export interface OpenDeviceOptions extends AdapterRequest {
  /** Print Dawn's uncaptured errors as they happen (they are always collected and thrown). */
  verbose?: boolean;
}

export interface DeviceStats {
  dispatches: number;
  submits: number;
  readbacks: number;
  pipelines: number;
  pooledBuffers: number;
  liveBytes: number;
}

/** Rounds a byte size up to its pool bucket: powers of two up to 1 MiB, then 1 MiB steps. */
function bucketBytes(bytes: number): number {
  const minimum = Math.max(bytes, 16);
  if (minimum <= 1 << 20) return 2 ** Math.ceil(Math.log2(minimum));
  return Math.ceil(minimum / (1 << 20)) * (1 << 20);
}

function bytesKey(view: ArrayBufferView): string {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
}

/**
 * swaglet's handle on one WebGPU device: tensors, a pipeline cache, batched dispatch and
 * readback. Knows nothing of LoRA or of the compiler; kernels arrive as `KernelSpec`s.
 */
export class Device implements TensorOwner {
  private readonly pipelineCache = new Map<string, Promise<CompiledKernel>>();
  private readonly layoutCache = new Map<string, GPUBindGroupLayout>();
  private readonly uniformCache = new Map<string, GPUBuffer>();
  private readonly bindGroupCache = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private readonly pool = new Map<number, GPUBuffer[]>();
  private readonly pendingChecks: Promise<KernelError | undefined>[] = [];
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private batchLabels: string[] = [];
  private nextId = 1;
  private lostReason: string | undefined;
  private destroyed = false;
  private liveBytes = 0;
  readonly stats: DeviceStats = { dispatches: 0, submits: 0, readbacks: 0, pipelines: 0, pooledBuffers: 0, liveBytes: 0 };
  /** Dispatches recorded since `startRecording` (the profiling mode; see runtime/profile.ts). */
  private recording: RecordedDispatch[] | undefined;

  constructor(
    /** Kept referenced for the device's whole life: dawn.node crashes if it is collected. */
    private readonly gpu: GPU,
    readonly adapter: GPUAdapter,
    readonly gpuDevice: GPUDevice,
    readonly report: AdapterReport,
    private readonly verbose = false,
  ) {
    void this.gpuDevice.lost.then((info) => {
      if (!this.destroyed) this.lostReason = `${info.reason}: ${info.message}`;
    });
    this.gpuDevice.addEventListener('uncapturederror', (event) => {
      const message = (event as GPUUncapturedErrorEvent).error.message;
      if (this.verbose) process.stderr.write(`swaglet: uncaptured GPU error: ${message}\n`);
    });
  }

  get limits(): GPUSupportedLimits {
    return this.gpuDevice.limits;
  }

  /** A one-line description: backend, device name, and whether it is the CPU fallback. */
  describe(): string {
    const r = this.report;
    const name = r.device || r.description || 'unknown device';
    const kind = r.isCpu ? 'CPU (llvmpipe)' : r.isFallbackAdapter ? 'fallback adapter' : 'GPU';
    return `${name} via ${r.backend === 'default' ? 'default backend' : r.backend} [${r.featureLevel}], ${kind}`;
  }

  private assertUsable(): void {
    if (this.destroyed) throw new DeviceLostError('the device was destroyed');
    if (this.lostReason) throw new DeviceLostError(`the GPU device was lost (${this.lostReason}); reopen it with openDevice()`);
  }

  private bufferId(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) {
      id = this.nextId++;
      this.bufferIds.set(buffer, id);
    }
    return id;
  }

  // ---- tensors ------------------------------------------------------------------------------

  private checkBindable(bytes: number, shape: readonly number[]): void {
    const max = this.limits.maxStorageBufferBindingSize;
    if (bytes > max) {
      throw new LimitError(
        `tensor ${formatShape(shape)} needs ${formatBytes(bytes)}, over this device's maxStorageBufferBindingSize of ${formatBytes(max)}; split it into smaller tensors`,
      );
    }
  }

  private acquire(bytes: number): GPUBuffer {
    const size = bucketBytes(bytes);
    const free = this.pool.get(size);
    const reused = free?.pop();
    if (reused) {
      this.stats.pooledBuffers--;
      return reused;
    }
    this.liveBytes += size;
    this.stats.liveBytes = this.liveBytes;
    return this.gpuDevice.createBuffer({ size, usage: STORAGE_USAGE, label: `tensor#${this.nextId}` });
  }

  /** TensorOwner: a released tensor's buffer goes back to the pool. */
  recycle(buffer: GPUBuffer): void {
    if (this.destroyed) return;
    const list = this.pool.get(buffer.size) ?? [];
    list.push(buffer);
    this.pool.set(buffer.size, list);
    this.stats.pooledBuffers++;
  }

  /** An uninitialised tensor (contents are whatever the pooled buffer held). */
  empty<D extends DType = 'f32'>(shape: readonly number[], dtype: D = 'f32' as D): Tensor<D> {
    this.assertUsable();
    checkShape(shape);
    const bytes = sizeOf(shape) * 4;
    this.checkBindable(bytes, shape);
    return new Tensor(this, this.acquire(bytes), [...shape], dtype);
  }

  /** A tensor filled with zeros. */
  zeros<D extends DType = 'f32'>(shape: readonly number[], dtype: D = 'f32' as D): Tensor<D> {
    const t = this.empty(shape, dtype);
    this.recordCopy((encoder) => encoder.clearBuffer(t.buffer, 0, t.buffer.size), 'zeros');
    return t;
  }

  /** Uploads host data into a new tensor of the given shape. */
  tensor<D extends DType = 'f32'>(shape: readonly number[], data: ArrayLike<number>, dtype: D = 'f32' as D): Tensor<D> {
    checkShape(shape);
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError(`data of length ${data.length} does not fit shape ${formatShape(shape)} (${sizeOf(shape)} elements)`);
    }
    const t = this.empty(shape, dtype);
    this.write(t, data);
    return t;
  }

  /** Overwrites a tensor's contents from the host, in order with recorded work. */
  write(t: Tensor, data: ArrayLike<number>): void {
    this.assertUsable();
    if (data.length !== t.size) {
      throw new ShapeError(`data of length ${data.length} does not fit ${t} (${t.size} elements)`);
    }
    const array =
      t.dtype === 'f32' ? Float32Array.from(data) : t.dtype === 'i32' ? Int32Array.from(data) : Uint32Array.from(data);
    // Writes are queue operations: flush recorded work first so order is kept.
    this.flush();
    if (array.byteLength > 0) this.gpuDevice.queue.writeBuffer(t.buffer, 0, array);
  }

  /** Copies `src` into `dst` (same size), recorded in order with dispatches. */
  copy(src: Tensor, dst: Tensor): void {
    if (src.size !== dst.size) throw new ShapeError(`cannot copy ${src} into ${dst}: sizes differ`);
    if (src.byteLength === 0) return;
    this.recordCopy((encoder) => encoder.copyBufferToBuffer(src.buffer, 0, dst.buffer, 0, src.byteLength), 'copy');
  }

  /**
   * Copies `count` elements from `src` at element `srcOffset` into `dst` at `dstOffset` (same
   * element size), recorded in order with dispatches: how flat parameter vectors are packed and
   * unpacked without a trip through the host.
   */
  copyRange(src: Tensor, srcOffset: number, dst: Tensor, dstOffset: number, count: number): void {
    if (src.dtype !== dst.dtype) throw new ShapeError(`cannot copy ${src} into ${dst}: dtypes differ`);
    for (const [t, offset] of [[src, srcOffset], [dst, dstOffset]] as const) {
      if (!Number.isInteger(offset) || offset < 0 || offset + count > t.size) {
        throw new ShapeError(`copy range [${offset}, ${offset + count}) is outside ${t} (${t.size} elements)`);
      }
    }
    if (count === 0) return;
    this.recordCopy((encoder) => encoder.copyBufferToBuffer(src.buffer, srcOffset * 4, dst.buffer, dstOffset * 4, count * 4), 'copyRange');
  }

  /** Reads a tensor back to the host: one submit and one map. */
  async read<D extends DType>(t: Tensor<D>): Promise<TypedArrayFor<D>> {
    this.assertUsable();
    if (t.isReleased) throw new ShapeError(`cannot read ${t}: it was released`);
    const bytes = Math.max(t.byteLength, 4);
    const staging = this.gpuDevice.createBuffer({ size: bucketBytes(bytes), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'readback' });
    if (t.byteLength > 0) {
      this.recordCopy((encoder) => encoder.copyBufferToBuffer(t.buffer, 0, staging, 0, t.byteLength), 'readback');
    }
    this.flush();
    this.stats.readbacks++;
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
    } catch (e) {
      await this.checkErrors();
      this.assertUsable();
      throw new KernelError(`readback of ${t} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const copy = staging.getMappedRange(0, bytes).slice(0, t.byteLength);
    staging.unmap();
    staging.destroy();
    await this.checkErrors();
    const out = t.dtype === 'f32' ? new Float32Array(copy) : t.dtype === 'i32' ? new Int32Array(copy) : new Uint32Array(copy);
    return out as TypedArrayFor<D>;
  }

  // ---- kernels --------------------------------------------------------------------------------

  private layoutFor(bindings: readonly BindingKind[]): GPUBindGroupLayout {
    const key = bindings.join(',');
    let layout = this.layoutCache.get(key);
    if (!layout) {
      layout = this.gpuDevice.createBindGroupLayout({
        label: `layout(${key})`,
        entries: bindings.map((kind, binding) => ({
          binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage' },
        })),
      });
      this.layoutCache.set(key, layout);
    }
    return layout;
  }

  /**
   * Compiles a kernel (cached by its WGSL, entry point, constants and bindings). A WGSL error
   * becomes a KernelError naming the kernel and quoting the offending line.
   */
  kernel(spec: KernelSpec): Promise<CompiledKernel> {
    this.assertUsable();
    const key = kernelCacheKey(spec);
    let compiled = this.pipelineCache.get(key);
    if (!compiled) {
      compiled = this.compile(spec);
      this.pipelineCache.set(key, compiled);
      // A failed compile must not poison the cache for a corrected retry of the same text.
      compiled.catch(() => this.pipelineCache.delete(key));
    }
    return compiled;
  }

  private async compile(spec: KernelSpec): Promise<CompiledKernel> {
    const storageCount = spec.bindings.filter((b) => b !== 'uniform').length;
    const maxStorage = this.limits.maxStorageBuffersPerShaderStage;
    if (storageCount > maxStorage) {
      throw new LimitError(`kernel '${spec.label}' binds ${storageCount} storage buffers; this device allows ${maxStorage} per stage`);
    }
    this.gpuDevice.pushErrorScope('validation');
    const module = this.gpuDevice.createShaderModule({ code: spec.wgsl, label: spec.label });
    const scopeError = await this.gpuDevice.popErrorScope();
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length > 0 || scopeError) {
      const lines = spec.wgsl.split('\n');
      const detail = errors.length
        ? errors.map((m) => `  ${m.lineNum}:${m.linePos}: ${m.message}\n    ${lines[m.lineNum - 1]?.trim() ?? ''}`).join('\n')
        : `  ${scopeError?.message}`;
      throw new KernelError(`WGSL of kernel '${spec.label}' does not compile:\n${detail}`);
    }
    const layout = this.layoutFor(spec.bindings);
    try {
      const pipeline = await this.gpuDevice.createComputePipelineAsync({
        label: spec.label,
        layout: this.gpuDevice.createPipelineLayout({ bindGroupLayouts: [layout], label: spec.label }),
        compute: { module, entryPoint: spec.entryPoint ?? 'main', constants: spec.constants as Record<string, number> | undefined },
      });
      this.stats.pipelines++;
      return { id: this.nextId++, spec, pipeline, layout };
    } catch (e) {
      throw new KernelError(`kernel '${spec.label}' cannot be built: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private uniformBuffer(bytes: ArrayBufferView): GPUBuffer {
    const key = bytesKey(bytes);
    let buffer = this.uniformCache.get(key);
    if (!buffer) {
      const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
      buffer = this.gpuDevice.createBuffer({ size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, mappedAtCreation: true, label: 'params' });
      new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      buffer.unmap();
      this.uniformCache.set(key, buffer);
    }
    return buffer;
  }

  private clearUniformCache(): void {
    // Recorded-but-unsubmitted work may still reference these buffers.
    this.flush();
    for (const b of this.uniformCache.values()) b.destroy();
    this.uniformCache.clear();
    this.bindGroupCache.clear();
  }

  private bindGroup(kernel: CompiledKernel, args: readonly KernelArg[]): GPUBindGroup {
    const { spec } = kernel;
    if (args.length !== spec.bindings.length) {
      throw new KernelError(`kernel '${spec.label}' takes ${spec.bindings.length} bindings, got ${args.length}`);
    }
    // Make room before taking any uniform: clearing the cache between two uniforms of one
    // dispatch would destroy the first while this bind group still needs it.
    const uniforms = spec.bindings.filter((k) => k === 'uniform').length;
    if (this.uniformCache.size + uniforms > UNIFORM_CACHE_LIMIT) this.clearUniformCache();
    const buffers: GPUBuffer[] = [];
    const sizes: number[] = [];
    spec.bindings.forEach((kind, i) => {
      const arg = args[i]!;
      if (kind === 'uniform') {
        if (arg instanceof Tensor) throw new KernelError(`kernel '${spec.label}' binding ${i} is a uniform; pass bytes, not ${arg}`);
        const buffer = this.uniformBuffer(arg);
        buffers.push(buffer);
        sizes.push(buffer.size);
      } else {
        if (!(arg instanceof Tensor)) throw new KernelError(`kernel '${spec.label}' binding ${i} (${kind}) needs a tensor`);
        if (arg.isReleased) throw new KernelError(`kernel '${spec.label}' binding ${i}: ${arg} was released`);
        buffers.push(arg.buffer);
        // Bind at least 4 bytes: an empty tensor still needs a valid binding.
        sizes.push(Math.max(4, arg.byteLength));
      }
    });
    const key = `${kernel.id}|${buffers.map((b, i) => `${this.bufferId(b)}:${sizes[i]}`).join(',')}`;
    let group = this.bindGroupCache.get(key);
    if (!group) {
      if (this.bindGroupCache.size >= 16384) this.bindGroupCache.clear();
      group = this.gpuDevice.createBindGroup({
        label: spec.label,
        layout: kernel.layout,
        entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer, offset: 0, size: sizes[binding] } })),
      });
      this.bindGroupCache.set(key, group);
    }
    return group;
  }

  /** Records one dispatch; it runs at the next flush, read or sync. */
  dispatch(kernel: CompiledKernel, args: readonly KernelArg[], workgroups: Workgroups): void {
    this.assertUsable();
    const [x, y = 1, z = 1] = workgroups;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new LimitError(`kernel '${kernel.spec.label}' asks for ${x}×${y}×${z} workgroups; this device allows ${max} per dimension (fold the grid)`);
    }
    const group = this.bindGroup(kernel, args);
    if (x === 0 || y === 0 || z === 0) return;
    const pass = this.computePass();
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
    this.batchLabels.push(kernel.spec.label);
    this.stats.dispatches++;
    this.recording?.push({ kernel, args: [...args], workgroups: [x, y, z] });
  }

  /**
   * Profiling mode: from now on every dispatch is also recorded (it still runs as usual), until
   * `stopRecording` returns the list. runtime/profile.ts replays such a list one kernel at a time.
   */
  startRecording(): void {
    this.recording = [];
  }

  stopRecording(): RecordedDispatch[] {
    const list = this.recording ?? [];
    this.recording = undefined;
    return list;
  }

  private beginBatch(): GPUCommandEncoder {
    if (!this.encoder) {
      this.gpuDevice.pushErrorScope('out-of-memory');
      this.gpuDevice.pushErrorScope('validation');
      this.encoder = this.gpuDevice.createCommandEncoder({ label: 'swaglet batch' });
    }
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.beginBatch().beginComputePass({ label: 'swaglet pass' });
    return this.pass;
  }

  private recordCopy(record: (encoder: GPUCommandEncoder) => void, label: string): void {
    this.assertUsable();
    const encoder = this.beginBatch();
    if (this.pass) {
      this.pass.end();
      this.pass = undefined;
    }
    record(encoder);
    this.batchLabels.push(label);
  }

  /** Submits everything recorded so far. Errors surface at the next read, sync or check. */
  flush(): void {
    if (!this.encoder) return;
    if (this.pass) {
      this.pass.end();
      this.pass = undefined;
    }
    const encoder = this.encoder;
    this.encoder = undefined;
    const labels = this.batchLabels;
    this.batchLabels = [];
    this.gpuDevice.queue.submit([encoder.finish()]);
    this.stats.submits++;
    const validation = this.gpuDevice.popErrorScope();
    const memory = this.gpuDevice.popErrorScope();
    this.pendingChecks.push(
      // Resolved, never rejected: an error is thrown when someone awaits the check, not as an unhandled rejection.
      Promise.all([validation, memory]).then(([v, m]) => {
        const error = v ?? m;
        if (!error) return undefined;
        const kernels = [...new Set(labels)].join(', ');
        return new KernelError(`GPU ${v ? 'validation' : 'out-of-memory'} error in a batch running [${kernels}]: ${error.message}`);
      }),
    );
  }

  /** Throws the first GPU error of any submitted batch, naming its kernels. */
  async checkErrors(): Promise<void> {
    const errors = await Promise.all(this.pendingChecks.splice(0));
    const first = errors.find((e) => e !== undefined);
    if (first) throw first;
  }

  /** Flushes and waits until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.gpuDevice.queue.onSubmittedWorkDone();
    await this.checkErrors();
    this.assertUsable();
  }

  /** Frees every GPU object; the device cannot be used afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.flush();
    this.destroyed = true;
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    for (const b of this.uniformCache.values()) b.destroy();
    this.pool.clear();
    this.uniformCache.clear();
    this.bindGroupCache.clear();
    this.pipelineCache.clear();
    this.gpuDevice.destroy();
    void this.gpu;
  }
}

/**
 * Opens a device on the best adapter (see `openAdapter`), requesting every limit the adapter
 * offers: the defaults are far lower (128 invocations, 8 storage buffers, 16 KiB shared memory).
 */
export async function openDevice(options: OpenDeviceOptions = {}): Promise<Device> {
  const { gpu, adapter, report } = await openAdapter(options);
  const requiredLimits: Record<string, number> = {};
  for (const [key, value] of Object.entries(report.limits)) {
    // Dawn reports a few limits it will not accept back verbatim; the compute ones are what matter.
    if (key.startsWith('maxCompute') || key.startsWith('maxStorage') || key === 'maxBufferSize' || key === 'maxUniformBufferBindingSize' || key === 'maxBindGroups') {
      requiredLimits[key] = value;
    }
  }
  const gpuDevice = await adapter.requestDevice({ requiredLimits, label: 'swaglet' });
  return new Device(gpu, adapter, gpuDevice, report, options.verbose ?? false);
}
