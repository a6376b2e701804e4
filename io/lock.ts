/**
 * An exclusive lock on a directory, held by one process: `<dir>/.lock` holds the holder's pid,
 * host, command and start time. Without it two commands writing the same experiment race (one
 * dies on a raw ENOENT, or a run ends with a result of neither config).
 *
 * Taking it is atomic: the lock's JSON is written whole to a temporary file, then hard-linked to
 * `.lock`, which fails if `.lock` exists, so a reader never sees a half-written lock. A lock whose
 * holder is gone (same host, no such process) is stale: it is taken over, with a warning.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as nodePath from 'node:path';

export const LOCK_FILE = '.lock';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export class DirectoryLockedError extends Error {
  override name = 'DirectoryLockedError';
  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
  ) {
    super(`${dir} is in use by process ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.since}); wait for it to finish${holder.host === hostname() ? '' : `, or if that process is gone, delete ${nodePath.join(dir, LOCK_FILE)}`}`);
  }
}

export interface DirectoryLock {
  readonly path: string;
  /** Removes the lock if this process still holds it; safe to call twice. */
  release(): void;
}

/** True unless the process certainly does not exist on this machine. */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function readHolder(path: string): LockHolder | 'missing' | 'garbled' {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string') return { pid: h.pid, host: h.host, command: String(h.command ?? '?'), since: String(h.since ?? '?') };
  } catch {
    /* garbled below */
  }
  return 'garbled';
}

/**
 * Takes `<dir>/.lock` (creating `dir`), or throws {@link DirectoryLockedError} naming the holder.
 * `onWarning` hears about a stale lock taken over.
 */
export function acquireDirectoryLock(dir: string, command: string, onWarning: (message: string) => void = () => undefined): DirectoryLock {
  const root = nodePath.resolve(dir);
  fs.mkdirSync(root, { recursive: true });
  const path = nodePath.join(root, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  const tmp = nodePath.join(root, `.lock.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(me));
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(tmp, path);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 5) throw e;
      }
      const holder = readHolder(path);
      if (holder === 'missing') continue; // released meanwhile
      if (holder !== 'garbled' && (holder.host !== me.host || processAlive(holder.pid))) throw new DirectoryLockedError(root, holder);
      // Stale: move it aside under a unique name (only one contender wins the rename), then retry.
      const aside = `${path}.stale.${randomBytes(6).toString('hex')}`;
      try {
        fs.renameSync(path, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      // Between reading the holder and the rename another process may have taken the lock: if
      // what was moved aside is not the stale holder, put it back and look again.
      const moved = readHolder(aside);
      if (JSON.stringify(moved) !== JSON.stringify(holder)) {
        try {
          fs.linkSync(aside, path);
        } catch {
          /* a third process holds it now; the loop reads it */
        }
        fs.rmSync(aside, { force: true });
        continue;
      }
      fs.rmSync(aside, { force: true });
      onWarning(holder === 'garbled' ? `removed an unreadable lock file ${path}` : `removed a stale lock on ${root}: process ${holder.pid} (${holder.command}, since ${holder.since}) is gone`);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      const holder = readHolder(path);
      if (typeof holder === 'object' && holder.pid === me.pid && holder.host === me.host && holder.since === me.since) fs.rmSync(path, { force: true });
    },
  };
}
