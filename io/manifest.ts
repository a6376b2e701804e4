/**
 * A manifest of files in a folder: each file's size and SHA-256, plus what the writer records
 * about them (`about`). Written last, atomically, so its presence says the files listed were all
 * complete; checking it says whether they still are (a crash, a full disk or a flipped byte since
 * shows as a named problem, never as silently different numbers).
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import { writeFileAtomic } from './atomic.ts';

const FORMAT = 'swaglet-files';
const VERSION = 1;

export interface FileManifest {
  format: typeof FORMAT;
  version: number;
  about: Record<string, unknown>;
  files: { file: string; bytes: number; sha256: string }[];
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Hashes `files` (paths relative to `dir`) as they are on disk and writes `dir/name` last. */
export async function writeFileManifest(dir: string, name: string, files: readonly string[], about: Record<string, unknown>): Promise<void> {
  const entries: FileManifest['files'] = [];
  for (const file of files) {
    const bytes = await fsp.readFile(nodePath.join(dir, file));
    entries.push({ file, bytes: bytes.length, sha256: sha256(bytes) });
  }
  const manifest: FileManifest = { format: FORMAT, version: VERSION, about, files: entries };
  await writeFileAtomic(nodePath.join(dir, name), `${JSON.stringify(manifest, null, 1)}\n`);
}

/** The manifest `dir/name`, or why there is no usable one. */
export async function readFileManifest(dir: string, name: string): Promise<FileManifest | string> {
  const path = nodePath.join(dir, name);
  let m: FileManifest;
  try {
    m = JSON.parse(await fsp.readFile(path, 'utf8')) as FileManifest;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return `${path} is missing`;
    return `${path} is unreadable (${(e as Error).message})`;
  }
  if (m === null || typeof m !== 'object' || m.format !== FORMAT || m.version !== VERSION || !Array.isArray(m.files)) return `${path} is not a ${FORMAT} v${VERSION} manifest`;
  return m;
}

/** What is wrong with one listed file now (missing, another size, another hash), or undefined. */
export async function checkManifestFile(dir: string, manifestName: string, entry: FileManifest['files'][number]): Promise<string | undefined> {
  const path = nodePath.join(dir, entry.file);
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(path);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${path} is missing` : `${path} is unreadable (${(e as Error).message})`;
  }
  if (bytes.length !== entry.bytes) return `${path} is ${bytes.length} bytes, ${nodePath.join(dir, manifestName)} says ${entry.bytes} (truncated?)`;
  if (sha256(bytes) !== entry.sha256) return `${path} does not match its checksum in ${nodePath.join(dir, manifestName)}`;
  return undefined;
}

/** Every problem with the files `m` lists; empty when all are as written. */
export async function checkFileManifest(dir: string, name: string, m: FileManifest): Promise<string[]> {
  const problems: string[] = [];
  for (const e of m.files) {
    const p = await checkManifestFile(dir, name, e);
    if (p) problems.push(p);
  }
  return problems;
}
