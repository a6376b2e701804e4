/**
 * A raw LZMA2 decoder (no .xz container): what R writes for lazy-load entries of type 'Z' — R's
 * default for package data (`compressed = 3`, xz) — via liblzma's lzma_raw_encoder. node:zlib has
 * no LZMA, so this implements it: the LZMA2 chunk framing around LZMA1's range-coded
 * literal/match model (after Igor Pavlov's reference decoder, LzmaSpec.cpp, public domain).
 *
 * The whole output size is known up front (R stores it), so the output buffer doubles as the
 * sliding dictionary.
 */
import { RFormatError } from './errors.ts';

const PROB_INIT = 1024;
const NUM_STATES = 12;
const POS_STATES_MAX = 16;
const END_POS_MODEL_INDEX = 14;
const NUM_FULL_DISTANCES = 128;
const MATCH_MIN_LEN = 2;

/** Decodes a raw LZMA2 stream that must expand to exactly `outputSize` bytes. */
export function decodeLzma2(input: Uint8Array, outputSize: number): Uint8Array {
  const out = new Uint8Array(outputSize);
  const dec = new LzmaDecoder(input, out);
  let p = 0;
  let needDictReset = true;
  let needProps = true;
  for (;;) {
    if (p >= input.length) throw new RFormatError('LZMA2 stream ends without an end marker');
    const control = input[p++]!;
    if (control === 0x00) break;
    if (control === 0x01 || control === 0x02) {
      // Uncompressed chunk; 0x01 also resets the dictionary.
      if (control === 0x02 && needDictReset) throw new RFormatError('LZMA2: first chunk does not reset the dictionary');
      if (control === 0x01) dec.resetDictionary();
      needDictReset = false;
      const size = (((input[p] ?? 0) << 8) | (input[p + 1] ?? 0)) + 1;
      p += 2;
      if (p + size > input.length) throw new RFormatError('LZMA2: uncompressed chunk runs past the input');
      dec.copyUncompressed(input.subarray(p, p + size));
      p += size;
      continue;
    }
    if (control < 0x80) throw new RFormatError(`LZMA2: invalid chunk control byte 0x${control.toString(16)}`);
    const unpacked = ((control & 0x1f) << 16) + (((input[p] ?? 0) << 8) | (input[p + 1] ?? 0)) + 1;
    const packed = (((input[p + 2] ?? 0) << 8) | (input[p + 3] ?? 0)) + 1;
    p += 4;
    const reset = (control >> 5) & 3; // 0 none, 1 state, 2 state + props, 3 state + props + dictionary
    if (reset === 3) dec.resetDictionary();
    else if (needDictReset) throw new RFormatError('LZMA2: first chunk does not reset the dictionary');
    needDictReset = false;
    if (reset >= 2) {
      dec.setProperties(input[p++] ?? 0xff);
      needProps = false;
    } else if (needProps) {
      throw new RFormatError('LZMA2: LZMA chunk before any properties');
    }
    if (reset >= 1) dec.resetState();
    if (p + packed > input.length) throw new RFormatError('LZMA2: compressed chunk runs past the input');
    dec.decodeChunk(p, p + packed, unpacked);
    p += packed;
  }
  if (dec.position !== outputSize) {
    throw new RFormatError(`LZMA2: decoded ${dec.position} bytes, expected ${outputSize}`);
  }
  return out;
}

class LzmaDecoder {
  private outPos = 0;
  private dictStart = 0;
  // Range coder.
  private range = 0;
  private code = 0;
  private inPos = 0;
  private inEnd = 0;
  // Model.
  private lc = 0;
  private lp = 0;
  private pb = 0;
  private literal = new Uint16Array(0);
  private readonly isMatch = new Uint16Array(NUM_STATES << 4);
  private readonly isRep = new Uint16Array(NUM_STATES);
  private readonly isRepG0 = new Uint16Array(NUM_STATES);
  private readonly isRepG1 = new Uint16Array(NUM_STATES);
  private readonly isRepG2 = new Uint16Array(NUM_STATES);
  private readonly isRep0Long = new Uint16Array(NUM_STATES << 4);
  private readonly posSlot = new Uint16Array(4 << 6);
  private readonly posDecoders = new Uint16Array(1 + NUM_FULL_DISTANCES - END_POS_MODEL_INDEX);
  private readonly align = new Uint16Array(1 << 4);
  private readonly lenCoder = new LengthDecoder();
  private readonly repLenCoder = new LengthDecoder();
  private state = 0;
  private rep0 = 0;
  private rep1 = 0;
  private rep2 = 0;
  private rep3 = 0;

  constructor(
    private readonly input: Uint8Array,
    private readonly out: Uint8Array,
  ) {}

  get position(): number {
    return this.outPos;
  }

  resetDictionary(): void {
    this.dictStart = this.outPos;
  }

  setProperties(props: number): void {
    if (props >= 9 * 5 * 5) throw new RFormatError(`LZMA2: invalid properties byte ${props}`);
    this.lc = props % 9;
    this.lp = Math.floor(props / 9) % 5;
    this.pb = Math.floor(props / 45);
    if (this.lc + this.lp > 4) throw new RFormatError('LZMA2: lc + lp exceeds 4');
    this.literal = new Uint16Array(0x300 << (this.lc + this.lp));
  }

  resetState(): void {
    for (const probs of [
      this.literal, this.isMatch, this.isRep, this.isRepG0, this.isRepG1, this.isRepG2,
      this.isRep0Long, this.posSlot, this.posDecoders, this.align,
    ]) {
      probs.fill(PROB_INIT);
    }
    this.lenCoder.reset();
    this.repLenCoder.reset();
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
  }

  copyUncompressed(bytes: Uint8Array): void {
    if (this.outPos + bytes.length > this.out.length) throw new RFormatError('LZMA2: output longer than announced');
    this.out.set(bytes, this.outPos);
    this.outPos += bytes.length;
  }

  /** One LZMA chunk: a fresh range coder over input[start, end) producing exactly `unpacked` bytes. */
  decodeChunk(start: number, end: number, unpacked: number): void {
    this.inPos = start;
    this.inEnd = end;
    if (this.nextByte() !== 0) throw new RFormatError('LZMA: range coder must start with a zero byte');
    this.range = 0xffffffff;
    this.code = 0;
    for (let i = 0; i < 4; i++) this.code = ((this.code << 8) | this.nextByte()) >>> 0;
    if (this.code === this.range) throw new RFormatError('LZMA: corrupt range coder start');
    const stop = this.outPos + unpacked;
    if (stop > this.out.length) throw new RFormatError('LZMA2: output longer than announced');
    const out = this.out;
    const pbMask = (1 << this.pb) - 1;
    while (this.outPos < stop) {
      const posState = this.outPos & pbMask;
      const s = this.state;
      if (this.bit(this.isMatch, (s << 4) + posState) === 0) {
        this.decodeLiteral();
        continue;
      }
      let len: number;
      if (this.bit(this.isRep, s) === 0) {
        len = this.lenCoder.decode(this, posState);
        this.state = s < 7 ? 7 : 10;
        const dist = this.decodeDistance(len);
        if (dist === 0xffffffff) throw new RFormatError('LZMA2: end marker inside a chunk');
        this.rep3 = this.rep2;
        this.rep2 = this.rep1;
        this.rep1 = this.rep0;
        this.rep0 = dist;
      } else {
        if (this.outPos === this.dictStart) throw new RFormatError('LZMA: repeated match with an empty dictionary');
        if (this.bit(this.isRepG0, s) === 0) {
          if (this.bit(this.isRep0Long, (s << 4) + posState) === 0) {
            // Short rep: one byte from distance rep0.
            this.state = s < 7 ? 9 : 11;
            if (this.rep0 >= this.outPos - this.dictStart) throw new RFormatError('LZMA: match distance beyond the dictionary');
            out[this.outPos] = out[this.outPos - this.rep0 - 1]!;
            this.outPos++;
            continue;
          }
        } else {
          let dist: number;
          if (this.bit(this.isRepG1, s) === 0) {
            dist = this.rep1;
          } else {
            if (this.bit(this.isRepG2, s) === 0) {
              dist = this.rep2;
            } else {
              dist = this.rep3;
              this.rep3 = this.rep2;
            }
            this.rep2 = this.rep1;
          }
          this.rep1 = this.rep0;
          this.rep0 = dist;
        }
        len = this.repLenCoder.decode(this, posState);
        this.state = s < 7 ? 8 : 11;
      }
      len += MATCH_MIN_LEN;
      const dist = this.rep0 + 1;
      if (dist > this.outPos - this.dictStart) throw new RFormatError('LZMA: match distance beyond the dictionary');
      if (this.outPos + len > stop) throw new RFormatError('LZMA: match runs past the chunk');
      for (let i = 0; i < len; i++, this.outPos++) out[this.outPos] = out[this.outPos - dist]!;
    }
    if (this.inPos !== this.inEnd) {
      throw new RFormatError(`LZMA2: chunk left ${this.inEnd - this.inPos} compressed bytes unread`);
    }
  }

  private decodeLiteral(): void {
    const out = this.out;
    const pos = this.outPos;
    const prev = pos > this.dictStart ? out[pos - 1]! : 0;
    const litState = ((pos & ((1 << this.lp) - 1)) << this.lc) + (prev >>> (8 - this.lc));
    const base = 0x300 * litState;
    let symbol = 1;
    if (this.state >= 7) {
      if (this.rep0 >= pos - this.dictStart) throw new RFormatError('LZMA: match distance beyond the dictionary');
      let matchByte = out[pos - this.rep0 - 1]!;
      do {
        const matchBit = (matchByte >>> 7) & 1;
        matchByte <<= 1;
        const bit = this.bit(this.literal, base + ((1 + matchBit) << 8) + symbol);
        symbol = (symbol << 1) | bit;
        if (matchBit !== bit) break;
      } while (symbol < 0x100);
    }
    while (symbol < 0x100) symbol = (symbol << 1) | this.bit(this.literal, base + symbol);
    out[pos] = symbol - 0x100;
    this.outPos = pos + 1;
    const s = this.state;
    this.state = s < 4 ? 0 : s < 10 ? s - 3 : s - 6;
  }

  private decodeDistance(len: number): number {
    const lenState = len < 3 ? len : 3;
    const slot = this.bitTree(this.posSlot, lenState << 6, 6);
    if (slot < 4) return slot;
    const numDirectBits = (slot >>> 1) - 1;
    let dist = ((2 | (slot & 1)) << numDirectBits) >>> 0;
    if (slot < END_POS_MODEL_INDEX) {
      dist += this.reverseBitTree(this.posDecoders, dist - slot, numDirectBits);
    } else {
      dist += this.directBits(numDirectBits - 4) * 16;
      dist += this.reverseBitTree(this.align, 0, 4);
    }
    return dist >>> 0;
  }

  private nextByte(): number {
    if (this.inPos >= this.inEnd) throw new RFormatError('LZMA: compressed chunk ends early');
    return this.input[this.inPos++]!;
  }

  /** One adaptively-modelled bit; probs[i] is the probability (of 2048) of a 0. */
  bit(probs: Uint16Array, i: number): number {
    const prob = probs[i]!;
    const bound = (this.range >>> 11) * prob;
    let bit: number;
    if (this.code < bound) {
      this.range = bound;
      probs[i] = prob + ((2048 - prob) >>> 5);
      bit = 0;
    } else {
      this.range = (this.range - bound) >>> 0;
      this.code = (this.code - bound) >>> 0;
      probs[i] = prob - (prob >>> 5);
      bit = 1;
    }
    if (this.range < 0x1000000) {
      this.range = (this.range * 256) >>> 0;
      this.code = ((this.code * 256) + this.nextByte()) >>> 0;
    }
    return bit;
  }

  private directBits(n: number): number {
    let result = 0;
    for (let i = 0; i < n; i++) {
      this.range = this.range >>> 1;
      let bit = 0;
      if (this.code >= this.range) {
        this.code = (this.code - this.range) >>> 0;
        bit = 1;
      }
      result = result * 2 + bit;
      if (this.range < 0x1000000) {
        this.range = (this.range * 256) >>> 0;
        this.code = ((this.code * 256) + this.nextByte()) >>> 0;
      }
    }
    return result;
  }

  bitTree(probs: Uint16Array, base: number, numBits: number): number {
    let m = 1;
    for (let i = 0; i < numBits; i++) m = (m << 1) + this.bit(probs, base + m);
    return m - (1 << numBits);
  }

  private reverseBitTree(probs: Uint16Array, base: number, numBits: number): number {
    let m = 1;
    let symbol = 0;
    for (let i = 0; i < numBits; i++) {
      const bit = this.bit(probs, base + m);
      m = (m << 1) + bit;
      symbol |= bit << i;
    }
    return symbol;
  }
}

/** Match lengths 0..271 (before adding the minimum of 2): 3-bit low/mid trees per pos state, 8-bit high. */
class LengthDecoder {
  private readonly choice = new Uint16Array(2);
  private readonly low = new Uint16Array(POS_STATES_MAX << 3);
  private readonly mid = new Uint16Array(POS_STATES_MAX << 3);
  private readonly high = new Uint16Array(1 << 8);

  reset(): void {
    this.choice.fill(PROB_INIT);
    this.low.fill(PROB_INIT);
    this.mid.fill(PROB_INIT);
    this.high.fill(PROB_INIT);
  }

  decode(rc: LzmaDecoder, posState: number): number {
    if (rc.bit(this.choice, 0) === 0) return rc.bitTree(this.low, posState << 3, 3);
    if (rc.bit(this.choice, 1) === 0) return 8 + rc.bitTree(this.mid, posState << 3, 3);
    return 16 + rc.bitTree(this.high, 0, 8);
  }
}
