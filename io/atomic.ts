/**
 * Crash-safe file replacement.
 *
 * `writeFileAtomic(path, data)` writes `data` to a uniquely named temporary
 * file in the target's directory, fsyncs it, renames it over the target and
 * then fsyncs the directory (where the platform allows opening directories).
 * Readers therefore see either the old file or the complete new one, never a
 * half-written file, even if the process is killed mid-write.  On any failure
 * the temporary file is removed and an existing target is left untouched.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';

export type AtomicData = Uint8Array | string;

/** `.<name>.<pid>.<12 hex>.tmp`: what {@link writeFileAtomic} writes before the rename. */
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

function tempPathFor(target: string): string {
  const dir = nodePath.dirname(target);
  const base = nodePath.basename(target);
  return nodePath.join(dir, `.${base}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Directory fsync errors that just mean "this platform/filesystem cannot do it". */
function isUnsupportedDirSync(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EISDIR' || code === 'EPERM' || code === 'EACCES' || code === 'EINVAL' || code === 'ENOTSUP' || code === 'EBADF';
}

function checkData(data: unknown): asserts data is AtomicData {
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new TypeError(`writeFileAtomic: data must be a Uint8Array or a string, got ${data === null ? 'null' : typeof data}`);
  }
}

async function existingMode(target: string): Promise<number | undefined> {
  try {
    const st = await fsp.stat(target);
    return st.isFile() ? st.mode & 0o7777 : undefined;
  } catch {
    return undefined;
  }
}

/** Atomically replace `path` with `data` (a string is written as UTF-8). */
export async function writeFileAtomic(path: string, data: AtomicData): Promise<void> {
  const target = nodePath.resolve(path);
  const tmp = tempPathFor(target);
  let fh: fsp.FileHandle | undefined;
  let created = false;
  try {
    fh = await fsp.open(tmp, 'wx', 0o666);
    created = true;
    const mode = await existingMode(target);
    if (mode !== undefined) await fh.chmod(mode);
    checkData(data);
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, target);
    created = false;
  } catch (err) {
    if (fh) await fh.close().catch(() => undefined);
    if (created) await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw withPath(err, target);
  }
  await syncDir(nodePath.dirname(target));
}

/**
 * A write error that names the file: fs reports ENOSPC and EIO from a file handle with no path,
 * which leaves the user guessing which of many outputs failed.
 */
function withPath(err: unknown, target: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(e instanceof Error) || !e.code || e.message.includes(target)) return err;
  const what = e.code === 'ENOSPC' ? 'no space left on the device' : e.code === 'EDQUOT' ? 'disk quota exceeded' : e.message;
  const wrapped = new Error(`cannot write ${target}: ${what}`, { cause: e }) as NodeJS.ErrnoException;
  wrapped.code = e.code;
  return wrapped;
}

/**
 * Removes the temporary files {@link writeFileAtomic} (and its callers) left when their process
 * was killed mid-write: those whose pid is not a live process. `recursive` walks subfolders.
 * Returns the paths removed.
 */
export function removeStaleTempFiles(dir: string, options: { recursive?: boolean; isAlive?: (pid: number) => boolean } = {}): string[] {
  const alive = options.isAlive ?? ((pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  });
  const removed: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return removed;
    throw e;
  }
  for (const e of entries) {
    const path = nodePath.join(dir, e.name);
    if (e.isDirectory()) {
      if (options.recursive) removed.push(...removeStaleTempFiles(path, options));
      continue;
    }
    const m = TEMP_NAME.exec(e.name);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) {
      fs.rmSync(path, { force: true });
      removed.push(path);
    }
  }
  return removed;
}

/** fsync a directory so a rename inside it survives power loss (a no-op where the platform cannot). */
export async function syncDir(dir: string): Promise<void> {
  let dh: fsp.FileHandle | undefined;
  try {
    dh = await fsp.open(dir, 'r');
    await dh.sync();
  } catch (err) {
    if (!isUnsupportedDirSync(err)) throw err;
  } finally {
    if (dh) await dh.close().catch(() => undefined);
  }
}

/** Synchronous twin of {@link writeFileAtomic}. */
export function writeFileAtomicSync(path: string, data: AtomicData): void {
  const target = nodePath.resolve(path);
  const tmp = tempPathFor(target);
  let fd: number | undefined;
  let created = false;
  try {
    fd = fs.openSync(tmp, 'wx', 0o666);
    created = true;
    try {
      const st = fs.statSync(target);
      if (st.isFile()) fs.fchmodSync(fd, st.mode & 0o7777);
    } catch {
      /* no existing target */
    }
    checkData(data);
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
    created = false;
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* ignore */
      }
    }
    if (created) fs.rmSync(tmp, { force: true });
    throw withPath(err, target);
  }
  let dfd: number | undefined;
  try {
    dfd = fs.openSync(nodePath.dirname(target), 'r');
    fs.fsyncSync(dfd);
  } catch (err) {
    if (!isUnsupportedDirSync(err)) throw err;
  } finally {
    if (dfd !== undefined) fs.closeSync(dfd);
  }
}
