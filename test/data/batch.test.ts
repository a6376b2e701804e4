import { describe, expect, it } from 'vitest';
import { BatchError, PADDING_ID, encodeBatch, packTokenized, tokenizeAll } from '../../data/batch.ts';
import { SentencePieceTokenizer, type VocabularyPiece } from '../../data/tokenizer.ts';

const PIECES: VocabularyPiece[] = [
  ['\uFFFD', 0], ['<s>', 0], ['</s>', 0], ['x1', 0], ['x2', 0], ['x3', 0],
  ['▁a', -1], ['b', -2], ['▁', -3], ['▁c', -1],
];
const tokenizer = SentencePieceTokenizer.fromPieces(PIECES);

describe('encodeBatch', () => {
  // Worked out by hand: "a" → [▁a]; "a b c" → [▁a, ▁, b, ▁c]; "" → [].
  const texts = ['a', 'a b c', ''];

  it('lays ids out row-major [b, t] with padding id 0 and mask 0 after each row', () => {
    const batch = encodeBatch(tokenizer, texts, 5);
    expect([batch.b, batch.t]).toEqual([3, 5]);
    expect(Array.from(batch.ids)).toEqual([6, 0, 0, 0, 0, 6, 8, 7, 9, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(batch.mask)).toEqual([1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect(batch.lengths).toEqual([1, 4, 0]);
    expect(PADDING_ID).toBe(0);
  });

  it('keeps the first maxTokens ids of the full encoding', () => {
    const batch = encodeBatch(tokenizer, texts, 2);
    expect(Array.from(batch.ids)).toEqual([6, 0, 6, 8, 0, 0]);
    expect(batch.lengths).toEqual([1, 2, 0]);
    expect(tokenizer.encode('a b c').slice(0, 2)).toEqual([6, 8]);
  });

  it('has mask row sums equal to the lengths', () => {
    const long = ['a b c a b c', 'b', 'c a'];
    const batch = encodeBatch(tokenizer, long, 4);
    for (let r = 0; r < batch.b; r++) {
      const row = batch.mask.subarray(r * batch.t, (r + 1) * batch.t);
      expect(row.reduce((a, x) => a + x, 0)).toBe(batch.lengths[r]);
      expect(batch.lengths[r]).toBe(Math.min(4, tokenizer.encode(long[r]!).length));
    }
  });

  it('equals packing the cached per-text ids', () => {
    const cached = tokenizeAll(tokenizer, texts, 3);
    expect(cached.map((r) => Array.from(r))).toEqual([[6], [6, 8, 7], []]);
    expect(cached.every((r) => r instanceof Int32Array)).toBe(true);
    expect(packTokenized(cached, 3)).toEqual(encodeBatch(tokenizer, texts, 3));
  });

  it('rejects a maxTokens that is not a positive integer', () => {
    expect(() => encodeBatch(tokenizer, texts, 0)).toThrow(BatchError);
    expect(() => tokenizeAll(tokenizer, texts, 2.5)).toThrow(/positive integer/);
  });
});
