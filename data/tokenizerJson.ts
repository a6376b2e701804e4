/**
 * A Hugging Face `tokenizer.json` (BPE, WordPiece or Unigram model) as a TextTokenizer, run by
 * `@huggingface/tokenizers` (normalizer, pre-tokenizer, model, post-processor as the file says).
 *
 * The pad id is the file's `padding.pad_id` when it sets padding, else the id of `tokenizer_config.json`'s
 * `pad_token` (read from beside the file when present), else of a `[PAD]`/`<pad>`/`<|pad|>` token,
 * else 0: the mask marks padding, so the pad id matters only to models that embed it.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { type EncodeOptions, type TextTokenizer, TokenizerError, checkMaxTokens } from './textTokenizer.ts';

/** The model types read here. */
export const TOKENIZER_MODELS = ['BPE', 'WordPiece', 'Unigram'] as const;

const PAD_TOKENS = ['[PAD]', '<pad>', '<|pad|>'];

/** Reads `path` (a tokenizer.json) and, when it exists, the tokenizer_config.json beside it. */
export async function loadTokenizerJson(path: string, options: { configPath?: string } = {}): Promise<TextTokenizer> {
  const json = await readJson(path, true);
  const configPath = options.configPath ?? join(dirname(path), 'tokenizer_config.json');
  const config = (await readJson(configPath, options.configPath !== undefined)) ?? {};
  return tokenizerFromJson(json, path, config);
}

/** Builds the tokenizer from parsed tokenizer.json (and tokenizer_config.json) objects; `source` names them in errors. */
export function tokenizerFromJson(json: unknown, source: string, config: Record<string, unknown> = {}): TextTokenizer {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new TokenizerError(`${source}: a tokenizer.json holds one JSON object`);
  const spec = json as Record<string, unknown>;
  const model = spec['model'] as Record<string, unknown> | undefined;
  if (model === null || typeof model !== 'object') throw new TokenizerError(`${source}: no "model" object`);
  const kind = model['type'];
  if (typeof kind !== 'string' || !(TOKENIZER_MODELS as readonly string[]).includes(kind)) {
    throw new TokenizerError(`${source}: unknown tokenizer model type ${JSON.stringify(kind ?? null)}; supported: ${TOKENIZER_MODELS.join(', ')}`);
  }
  // Components the file leaves out mean "none" (as in the Rust library); the JS library wants the keys present.
  const complete = {
    normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [],
    ...spec,
  };
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(complete, config);
  } catch (e) {
    throw new TokenizerError(`${source}: cannot build the ${kind} tokenizer (${(e as Error).message})`);
  }
  const vocab = tokenizer.get_vocab(true);
  let vocabSize = 0;
  for (const id of vocab.values()) vocabSize = Math.max(vocabSize, id + 1);
  const padId = padIdOf(spec, config, tokenizer);
  const postProcessor = tokenizer.post_processor;

  // As Tokenizer.encode maps tokens: the vocabulary (added tokens included), else the unknown id.
  const unknownId = (tokenizer.model as { unk_token_id?: number } | null)?.unk_token_id;
  const idOf = (token: string): number => {
    const id = tokenizer.token_to_id(token) ?? unknownId;
    if (id === undefined) {
      throw new TokenizerError(`${source}: token ${JSON.stringify(token)} has no id (the ${kind} model has no unk_token to stand for it)`);
    }
    return id;
  };

  return {
    kind,
    source,
    padId,
    vocabSize,
    encode(text: string, options: EncodeOptions = {}): number[] {
      const special = options.specialTokens ?? true;
      const ids = checked(tokenizer.encode(text, { add_special_tokens: special }).ids, text);
      const { maxTokens } = options;
      if (maxTokens === undefined) return ids;
      checkMaxTokens(maxTokens, source);
      if (ids.length <= maxTokens) return ids;
      // Cut the text's tokens so that, special tokens added back, the encoding fits.
      const body = tokenizer.tokenize(text, { add_special_tokens: false });
      const finish = (tokens: string[]): string[] => (special && postProcessor ? postProcessor(tokens, null, true).tokens : tokens);
      const specials = finish([]).length;
      if (specials > maxTokens) throw new TokenizerError(`${source}: maxTokens ${maxTokens} is fewer than the ${specials} special tokens`);
      return finish(body.slice(0, maxTokens - specials)).map(idOf);
    },
    tokenId: (token) => tokenizer.token_to_id(token),
  };

  function checked(ids: number[], text: string): number[] {
    if (ids.some((id) => id === undefined)) {
      throw new TokenizerError(`${source}: ${JSON.stringify(text.slice(0, 40))} has a token with no id (the ${kind} model has no unk_token)`);
    }
    return ids;
  }
}

function padIdOf(spec: Record<string, unknown>, config: Record<string, unknown>, tokenizer: Tokenizer): number {
  const padding = spec['padding'] as { pad_id?: unknown } | null | undefined;
  if (padding && typeof padding.pad_id === 'number') return padding.pad_id;
  const configured = config['pad_token'];
  const configuredText = typeof configured === 'string' ? configured : (configured as { content?: unknown } | null)?.content;
  for (const token of [configuredText, ...PAD_TOKENS]) {
    if (typeof token !== 'string') continue;
    const id = tokenizer.token_to_id(token);
    if (id !== undefined) return id;
  }
  return 0;
}

async function readJson(path: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TokenizerError(`${path}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new TokenizerError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}
