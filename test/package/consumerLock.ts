import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  devOptional?: boolean;
  dependencies?: Record<string, string>;
  [key: string]: unknown;
}

interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}

/**
 * A package-lock.json for a fresh project that depends on the packed tarball alone: swaglet's
 * entry points at the tarball (with its integrity), and its dependencies are the repository's own
 * locked production entries. `npm ci --offline` then installs from the npm cache that the
 * repository's own `npm ci` filled, so the test downloads nothing.
 */
export function consumerLock(repoLockPath: string, repoPackagePath: string, tarballPath: string, tarballSpec: string): Lockfile {
  const repoLock = JSON.parse(readFileSync(repoLockPath, 'utf8')) as Lockfile;
  const pkg = JSON.parse(readFileSync(repoPackagePath, 'utf8')) as { name: string; version: string; dependencies?: Record<string, string>; bin?: Record<string, string>; engines?: Record<string, string>; license?: string };
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarballPath)).digest('base64')}`;
  const packages: Record<string, LockEntry> = {
    '': { name: 'swaglet-consumer', dependencies: { [pkg.name]: tarballSpec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: tarballSpec,
      integrity,
      ...(pkg.license ? { license: pkg.license } : {}),
      ...(pkg.dependencies ? { dependencies: pkg.dependencies } : {}),
      ...(pkg.bin ? { bin: pkg.bin } : {}),
      ...(pkg.engines ? { engines: pkg.engines } : {}),
    },
  };
  for (const [path, entry] of Object.entries(repoLock.packages)) {
    if (path === '' || !path.startsWith('node_modules/') || entry.dev) continue;
    packages[path] = entry;
  }
  return { lockfileVersion: 3, requires: true, packages, name: 'swaglet-consumer' } as unknown as Lockfile;
}
