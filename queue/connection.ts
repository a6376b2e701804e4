/**
 * Where the job queue lives: a `redis://[user:password@]host:port[/db]` URL, parsed into the
 * connection options BullMQ (through ioredis) takes. Workers and submitters keep retrying a lost
 * connection forever (`maxRetriesPerRequest: null`), so a restarted Redis is reconnected to, not
 * fatal.
 */
import type { ConnectionOptions } from 'bullmq';

export class QueueError extends Error {
  override name = 'QueueError';
}

export function parseRedisUrl(url: string): ConnectionOptions & { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueError(`--queue: '${url}' is not a URL; expected redis://HOST:PORT`);
  }
  if (u.protocol !== 'redis:') throw new QueueError(`--queue: '${url}' is not a redis:// URL; expected redis://HOST:PORT`);
  if (!u.hostname) throw new QueueError(`--queue: '${url}' names no host; expected redis://HOST:PORT`);
  const port = u.port ? Number(u.port) : 6379;
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new QueueError(`--queue: '${url}': the database '${u.pathname.slice(1)}' is not a whole number`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    maxRetriesPerRequest: null,
    // A restarted server comes back within seconds; retry quickly, then every second.
    retryStrategy: (times: number) => Math.min(100 * times, 1000),
  };
}
