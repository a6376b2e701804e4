import { afterAll } from 'vitest';
import { type Device, openDevice } from '../../runtime/index.ts';

let shared: Promise<Device> | undefined;

/**
 * One device per test file, destroyed after the file's tests. Tests run wherever the
 * runtime's adapter choice lands (llvmpipe here, a GPU where there is one).
 */
export function testDevice(): Promise<Device> {
  if (!shared) {
    shared = openDevice();
    afterAll(async () => {
      const d = await shared!;
      d.destroy();
      shared = undefined;
    });
  }
  return shared;
}
