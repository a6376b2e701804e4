/**
 * Token batches in the layout the compiled programs take: row-major [b, t] int32 ids with a float mask.
 *
 * Padding: padded slots hold the tokenizer's `padId` with mask 0; the mask, not the id, says what is
 * padding. USE-Lite itself takes ragged (sparse) ids and has no padding id, so its padded slots hold
 * id 0 (the unknown piece). A text longer than `maxTokens` is cut by the tokenizer when it knows how
 * (a tokenizer.json keeps its special tokens and cuts the text between them); otherwise it keeps its
 * first `maxTokens` ids, exactly the full text's. An empty text gives an all-zero mask row when the
 * tokenizer adds no special tokens: callers that mean-pool should not feed one.
 */
import { UNKNOWN_ID } from './tokenizer.ts';

/**
 * Anything that turns text into ids: a TextTokenizer (data/textTokenizer.ts), or the bare SentencePiece
 * tokenizer, which ignores the options and has no padId (PADDING_ID is used).
 */
export interface TokenEncoder {
  encode(text: string, options?: { maxTokens?: number }): number[];
  readonly padId?: number;
}

/** Id written into padded slots (masked out) when the tokenizer names none. */
export const PADDING_ID = UNKNOWN_ID;

export interface TokenBatch {
  /** [b, t] row-major token ids; padding holds the tokenizer's padId (PADDING_ID when it has none). */
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
    const ids = tokenizer.encode(text, { maxTokens });
    return Int32Array.from(ids.length > maxTokens ? ids.slice(0, maxTokens) : ids);
  });
}

/** Packs already tokenized rows into a [rows.length, maxTokens] batch (rows longer than that are cut). */
export function packTokenized(rows: readonly ArrayLike<number>[], maxTokens: number, padId: number = PADDING_ID): TokenBatch {
  checkMaxTokens(maxTokens);
  const b = rows.length;
  const t = maxTokens;
  const ids = new Int32Array(b * t).fill(padId);
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
  return packTokenized(tokenizeAll(tokenizer, texts, maxTokens), maxTokens, tokenizer.padId ?? PADDING_ID);
}
