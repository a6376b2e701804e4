/**
 * The runtime's view of abi/grid.ts: the same folding, with a grid the device cannot hold
 * reported as the runtime's `LimitError`.
 */
import { GridLimitError, ceilDiv, foldGrid as foldGridAbi } from '../abi/grid.ts';
import { LimitError } from './errors.ts';

export { ceilDiv };

/** `foldGrid` of abi/grid.ts, throwing `LimitError`. */
export function foldGrid(groups: number, maxPerDim = 65535): [number, number, number] {
  try {
    return foldGridAbi(groups, maxPerDim);
  } catch (e) {
    if (e instanceof GridLimitError) throw new LimitError(e.message);
    throw e;
  }
}
