import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from '../../io/index.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swaglet-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

for (const [label, write] of [
  ['writeFileAtomic', writeFileAtomic],
  ['writeFileAtomicSync', async (p: string, d: Uint8Array | string) => writeFileAtomicSync(p, d)],
] as const) {
  describe(label, () => {
    it('creates a new file from bytes or a string, leaving no temp files', async () => {
      await write(join(dir, 'a.bin'), new Uint8Array([1, 2, 3]));
      await write(join(dir, 'b.txt'), 'héllo');
      expect((await readdir(dir)).sort()).toEqual(['a.bin', 'b.txt']);
      expect(new Uint8Array(await readFile(join(dir, 'a.bin')))).toEqual(new Uint8Array([1, 2, 3]));
      expect(await readFile(join(dir, 'b.txt'), 'utf8')).toBe('héllo');
    });

    it('replaces an existing target whole (longer and shorter content) and keeps its mode', async () => {
      const path = join(dir, 'ckpt.safetensors');
      await writeFile(path, 'x'.repeat(1000));
      await chmod(path, 0o640);
      await write(path, 'short');
      expect(await readFile(path, 'utf8')).toBe('short');
      if (process.platform !== 'win32') expect((await stat(path)).mode & 0o777).toBe(0o640);
      const big = new Uint8Array(1 << 20);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
      await write(path, big);
      const back = await readFile(path);
      expect(back.length).toBe(big.length);
      expect(Buffer.compare(back, big)).toBe(0);
      expect(await readdir(dir)).toEqual(['ckpt.safetensors']);
    });

    it('fails on a directory target, leaving the directory contents intact and no temp file', async () => {
      const target = join(dir, 'isdir');
      await mkdir(target);
      await writeFile(join(target, 'old.txt'), 'old');
      await expect(write(target, 'new')).rejects.toThrow();
      expect((await stat(target)).isDirectory()).toBe(true);
      expect(await readFile(join(target, 'old.txt'), 'utf8')).toBe('old');
      expect(await readdir(dir)).toEqual(['isdir']);
    });

    it('fails mid-write, leaving the old file intact and no temp file', async () => {
      const path = join(dir, 'keep.bin');
      await writeFile(path, 'old contents');
      await expect(write(path, { not: 'bytes' } as unknown as string)).rejects.toThrow(/must be a Uint8Array or a string/);
      expect(await readFile(path, 'utf8')).toBe('old contents');
      expect(await readdir(dir)).toEqual(['keep.bin']);
    });

    it('fails cleanly when the directory does not exist', async () => {
      await expect(write(join(dir, 'missing', 'f.bin'), 'x')).rejects.toThrow(/ENOENT/);
      expect(await readdir(dir)).toEqual([]);
    });
  });
}

describe('concurrent atomic writes', () => {
  it('leave one complete version and no temp files', async () => {
    const path = join(dir, 'race.bin');
    const versions = Array.from({ length: 8 }, (_, k) => new Uint8Array(64 * 1024).fill(k + 1));
    await Promise.all(versions.map((v) => writeFileAtomic(path, v)));
    const got = new Uint8Array(await readFile(path));
    expect(got.length).toBe(64 * 1024);
    expect(got.every((b) => b === got[0])).toBe(true);
    expect(await readdir(dir)).toEqual(['race.bin']);
  });
});
