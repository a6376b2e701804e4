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
    throw err;
  }
  await syncDir(nodePath.dirname(target));
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
    throw err;
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
