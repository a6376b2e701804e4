/**
 * A cursor over big-endian (XDR) bytes: the primitive reads of R's "X" serialization format.
 * Vector payloads are byte-swapped straight into typed arrays (never through JS numbers), so NaN
 * payloads such as R's NA_real_ survive intact.
 */
import { endianness } from 'node:os';
import { RFormatError } from './errors.ts';

if (endianness() !== 'LE') {
  // The typed-array fast path below assumes a little-endian host, like every platform Node ships on.
  throw new Error('data/rdata: big-endian hosts are not supported');
}

export class XdrStream {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.offset + n > this.bytes.length) {
      throw new RFormatError(
        `truncated R serialization: need ${n} bytes for ${what} at offset ${this.offset}, ${this.remaining} left`,
      );
    }
  }

  int(): number {
    this.need(4, 'an integer');
    const v = this.view.getInt32(this.offset, false);
    this.offset += 4;
    return v;
  }

  /** A vector length: one int, or −1 followed by two ints (upper, lower) for long vectors. */
  length(): number {
    const n = this.int();
    if (n >= 0) return n;
    if (n !== -1) throw new RFormatError(`negative vector length ${n} at offset ${this.offset - 4}`);
    const upper = this.int();
    const lower = this.int() >>> 0;
    const len = upper * 2 ** 32 + lower;
    if (!Number.isSafeInteger(len)) throw new RFormatError(`long vector length out of range at offset ${this.offset}`);
    return len;
  }

  bytesOf(n: number): Uint8Array {
    this.need(n, `${n} raw bytes`);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  int32Array(n: number): Int32Array {
    return new Int32Array(this.swapped(n, 4).buffer);
  }

  float64Array(n: number): Float64Array {
    return new Float64Array(this.swapped(n, 8).buffer);
  }

  /** `n` big-endian words of `width` bytes, copied into a fresh little-endian buffer. */
  private swapped(n: number, width: number): Uint8Array {
    const total = n * width;
    this.need(total, `${n} values of ${width} bytes`);
    const out = new Uint8Array(total);
    const src = this.bytes;
    const base = this.offset;
    for (let i = 0; i < total; i += width) {
      for (let b = 0; b < width; b++) out[i + b] = src[base + i + width - 1 - b]!;
    }
    this.offset += total;
    return out;
  }
}
