/**
 * Token batches in the layout the compiled programs take: row-major [b, t] int32 ids with a float mask.
 *
 * Padding: USE-Lite itself takes ragged (sparse) ids and has no padding id, so padded slots hold id 0
 * (the unknown piece) with mask 0; the mask, not the id, says what is padding. A text longer than
 * `maxTokens` keeps its first `maxTokens` ids (it is encoded whole first, so those ids are exactly the
 * full text's). An empty text gives an all-zero mask row: callers that mean-pool should not feed one.
 */
import { UNKNOWN_ID } from './tokenizer.ts';

/** Anything that turns text into ids (the SentencePiece tokenizer in practice). */
export interface TokenEncoder {
  encode(text: string): number[];
}

/** Id written into padded slots (masked out). */
export const PADDING_ID = UNKNOWN_ID;

export interface TokenBatch {
  /** [b, t] row-major token ids; padding holds PADDING_ID. */
  ids: Int32Array;
  /** [b, t] row-major: 1 for a real token, 0 for padding. */
  mask: Float32Array;
  /** Real (unpadded, truncated) token count of each row. */
  lengths: number[];
  b: number;
  t: number;
}

export class BatchError extends Error {
  override name = 'BatchError';
}

function checkMaxTokens(maxTokens: number): void {
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new BatchError(`maxTokens must be a positive integer, got ${maxTokens}`);
  }
}

/** Each text's ids, truncated to `maxTokens`: compact enough to cache a whole data set. */
export function tokenizeAll(tokenizer: TokenEncoder, texts: readonly string[], maxTokens: number): Int32Array[] {
  checkMaxTokens(maxTokens);
  return texts.map((text) => {
    const ids = tokenizer.encode(text);
    return Int32Array.from(ids.length > maxTokens ? ids.slice(0, maxTokens) : ids);
  });
}

/** Packs already tokenized rows into a [rows.length, maxTokens] batch (rows longer than that are cut). */
export function packTokenized(rows: readonly ArrayLike<number>[], maxTokens: number): TokenBatch {
  checkMaxTokens(maxTokens);
  const b = rows.length;
  const t = maxTokens;
  const ids = new Int32Array(b * t).fill(PADDING_ID);
  const mask = new Float32Array(b * t);
  const lengths: number[] = [];
  rows.forEach((row, r) => {
    const length = Math.min(row.length, t);
    for (let j = 0; j < length; j++) {
      ids[r * t + j] = row[j]!;
      mask[r * t + j] = 1;
    }
    lengths.push(length);
  });
  return { ids, mask, lengths, b, t };
}

/** Tokenizes and packs `texts` into one [texts.length, maxTokens] batch. */
export function encodeBatch(tokenizer: TokenEncoder, texts: readonly string[], maxTokens: number): TokenBatch {
  return packTokenized(tokenizeAll(tokenizer, texts, maxTokens), maxTokens);
}
