/**
 * Around the checkpoints of an experiment folder: temporary files a killed writer left are
 * removed (only those whose process is gone), and the directory lock admits one holder at a time,
 * names it to the next, and takes over a lock whose holder is gone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeStaleTempFiles } from '../../io/atomic.ts';
import { DirectoryLockedError, acquireDirectoryLock } from '../../io/lock.ts';

const dir = mkdtempSync(join(tmpdir(), 'swaglet-ckdir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The pid of a process that has exited. */
const deadPid = () => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

describe('leftover temporary files', () => {
  it('removes those of dead writers, in subfolders too, and keeps live ones and real files', () => {
    const root = join(dir, 'tmpfiles');
    mkdirSync(join(root, 'run-0', 'checkpoints'), { recursive: true });
    const dead = deadPid();
    const stale = [join(root, `.latest.json.${dead}.0123456789ab.tmp`), join(root, 'run-0', `.result.safetensors.${dead}.abcdefabcdef.tmp`), join(root, 'run-0', 'checkpoints', `.latest.json.${dead}.aaaaaaaaaaaa.tmp`)];
    const kept = [join(root, `.config.json.${process.pid}.0123456789ab.tmp`), join(root, 'latest.json'), join(root, 'run-0', 'x.tmp')];
    for (const f of [...stale, ...kept]) writeFileSync(f, 'x');
    const removed = removeStaleTempFiles(root, { recursive: true });
    expect(removed.sort()).toEqual([...stale].sort());
    for (const f of stale) expect(existsSync(f), f).toBe(false);
    for (const f of kept) expect(existsSync(f), f).toBe(true);
  });
});

describe('acquireDirectoryLock', () => {
  it('one holder at a time; the second is told who holds it; released, it can be taken again', () => {
    const root = join(dir, 'locked');
    const lock = acquireDirectoryLock(root, 'swaglet train');
    const holder = JSON.parse(readFileSync(join(root, '.lock'), 'utf8')) as { pid: number; host: string };
    expect(holder).toMatchObject({ pid: process.pid, host: hostname() });
    let error: unknown;
    try {
      acquireDirectoryLock(root, 'swaglet eval');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DirectoryLockedError);
    expect((error as Error).message).toMatch(new RegExp(`in use by process ${process.pid} on ${hostname()} \\(swaglet train, since `));
    lock.release();
    expect(existsSync(join(root, '.lock'))).toBe(false);
    acquireDirectoryLock(root, 'swaglet eval').release();
  });

  it('takes over a lock whose process is gone, or an unreadable one, with a warning', () => {
    const root = join(dir, 'stale');
    mkdirSync(root, { recursive: true });
    const pid = deadPid();
    writeFileSync(join(root, '.lock'), JSON.stringify({ pid, host: hostname(), command: 'swaglet train', since: 'then' }));
    const warnings: string[] = [];
    acquireDirectoryLock(root, 'swaglet train', (w) => warnings.push(w)).release();
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`stale lock .*process ${pid} \\(swaglet train, since then\\) is gone`))]);
    writeFileSync(join(root, '.lock'), '{"pid": 12');
    acquireDirectoryLock(root, 'swaglet train', (w) => warnings.push(w)).release();
    expect(warnings[1]).toMatch(/unreadable lock file/);
  });

  it('a lock held on another host is never taken over', () => {
    const root = join(dir, 'remote');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, '.lock'), JSON.stringify({ pid: deadPid(), host: 'elsewhere', command: 'swaglet train', since: 'then' }));
    expect(() => acquireDirectoryLock(root, 'swaglet train')).toThrow(/on elsewhere .*if that process is gone, delete .*\.lock/);
  });
});
