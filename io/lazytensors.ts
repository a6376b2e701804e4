/**
 * A safetensors file read lazily: the header at open, then one tensor at a time on request, as
 * f32. What a multi-gigabyte base checkpoint needs: nothing but the tensors asked for is read, and
 * each is read once into its final Float32Array (F32 directly, F16/BF16/F64 through one small
 * staging buffer per tensor), never the whole file into memory.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { type SafetensorsHeader, type SafetensorsHeaderEntry, SafetensorsError, f16Lookup, parseSafetensorsHeader, safetensorsHeaderLength } from './safetensors.ts';

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The dtypes that convert to f32 on read. */
export const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

/** Reads `length` bytes at `position` into `target` (a single read() may return fewer). */
async function readFully(fh: FileHandle, target: Uint8Array, position: number, source: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    // read(2) returns at most ~2 GiB at once on Linux: ask in chunks below that.
    const want = Math.min(target.length - done, 1 << 30);
    const { bytesRead } = await fh.read(target, done, want, position + done);
    if (bytesRead === 0) throw new SafetensorsError(source, `file ended after ${position + done} bytes while reading ${target.length} bytes at ${position}`);
    done += bytesRead;
  }
}

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly header: SafetensorsHeader,
    readonly byName: ReadonlyMap<string, SafetensorsHeaderEntry>,
  ) {}

  /** Opens `path` and parses its header; errors are SafetensorsErrors naming the file. */
  static async open(path: string): Promise<SafetensorsFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new SafetensorsError(path, code === 'ENOENT' ? 'no such file' : `cannot open (${code ?? String(e)})`);
    }
    try {
      const { size } = await fh.stat();
      const lengthBytes = new Uint8Array(8);
      if (size >= 8) await readFully(fh, lengthBytes, 0, path);
      const n = safetensorsHeaderLength(lengthBytes, size, path);
      const prefix = new Uint8Array(8 + n);
      await readFully(fh, prefix, 0, path);
      const header = parseSafetensorsHeader(prefix, size, path);
      return new SafetensorsFile(path, fh, header, new Map(header.entries.map((e) => [e.name, e])));
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Reads one tensor as row-major f32 (F32, F16, BF16, F64; other dtypes are an error). */
  async readFloat32(name: string): Promise<Float32Array> {
    const e = this.byName.get(name);
    if (!e) throw new SafetensorsError(this.path, `no tensor '${name}'`);
    const at = this.header.dataStart + e.begin;
    const bytes = e.end - e.begin;
    switch (e.dtype) {
      case 'F32': {
        const out = new Float32Array(bytes / 4);
        await readFully(this.fh, new Uint8Array(out.buffer), at, this.path);
        if (!HOST_LE) {
          const dv = new DataView(out.buffer);
          for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
        }
        return out;
      }
      case 'F16':
      case 'BF16': {
        const raw = new Uint8Array(bytes);
        await readFully(this.fh, raw, at, this.path);
        const n = bytes / 2;
        const out = new Float32Array(n);
        const halves = HOST_LE ? new Uint16Array(raw.buffer) : Uint16Array.from({ length: n }, (_, i) => raw[2 * i]! | (raw[2 * i + 1]! << 8));
        if (e.dtype === 'F16') {
          const table = f16Lookup();
          for (let i = 0; i < n; i++) out[i] = table[halves[i]!]!;
        } else {
          const bits = new Uint32Array(out.buffer);
          for (let i = 0; i < n; i++) bits[i] = halves[i]! << 16;
        }
        return out;
      }
      case 'F64': {
        const raw = new Float64Array(bytes / 8);
        await readFully(this.fh, new Uint8Array(raw.buffer), at, this.path);
        if (!HOST_LE) {
          const dv = new DataView(raw.buffer);
          for (let i = 0; i < raw.length; i++) raw[i] = dv.getFloat64(i * 8, true);
        }
        return Float32Array.from(raw);
      }
      default:
        throw new SafetensorsError(this.path, `tensor '${name}' is ${e.dtype}, not a floating-point dtype (F32, F16, BF16, F64)`);
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
