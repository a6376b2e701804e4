import { ShapeError, formatShape } from '../../runtime/errors.ts';

/** The shapes of a matmul's operands, as given (before transposes). */
export interface MatmulShapes {
  a: readonly number[];
  b: readonly number[];
  transA?: boolean;
  transB?: boolean;
  /** The C read when β ≠ 0. */
  c?: readonly number[];
  /** A given output tensor. */
  out?: readonly number[];
  biasN?: readonly number[];
  biasM?: readonly number[];
  a2?: readonly number[];
  b2?: readonly number[];
}

/** Sizes and per-operand batch strides (0 where one matrix is broadcast over the batch). */
export interface ResolvedMatmul {
  M: number;
  N: number;
  K: number;
  K2: number;
  batch: number;
  strideA: number;
  strideB: number;
  strideC: number;
  strideA2: number;
  strideB2: number;
  outShape: number[];
}

interface Matrix {
  batch: number;
  rows: number;
  cols: number;
  batched: boolean;
}

function matrix(name: string, shape: readonly number[], dims: string): Matrix {
  if (shape.length === 2) return { batch: 1, rows: shape[0]!, cols: shape[1]!, batched: false };
  if (shape.length === 3) return { batch: shape[0]!, rows: shape[1]!, cols: shape[2]!, batched: true };
  throw new ShapeError(`matmul: ${name} must be a matrix [${dims}] or a batch of them [batch, ${dims}], got ${formatShape(shape)}`);
}

/**
 * Checks that the operands agree and works out M, N, K, K2, the batch and the batch strides.
 * Throws a ShapeError naming both shapes of any pair that disagrees.
 */
export function resolveMatmul(s: MatmulShapes): ResolvedMatmul {
  const transA = s.transA ?? false;
  const transB = s.transB ?? false;
  const A = matrix('A', s.a, transA ? 'K, M' : 'M, K');
  const B = matrix('B', s.b, transB ? 'N, K' : 'K, N');
  const [M, K] = transA ? [A.cols, A.rows] : [A.rows, A.cols];
  const [KB, N] = transB ? [B.cols, B.rows] : [B.rows, B.cols];
  if (K !== KB) {
    throw new ShapeError(`matmul: op(A) is ${formatShape([M, K])} but op(B) is ${formatShape([KB, N])}; inner dimensions ${K} ≠ ${KB}`);
  }
  const named: Array<[string, Matrix]> = [['A', A], ['B', B]];
  let K2 = 0;
  let A2: Matrix | undefined;
  let B2: Matrix | undefined;
  if (s.a2 || s.b2) {
    if (!s.a2 || !s.b2) throw new ShapeError('matmul: the concatenated pair needs both a2 [M, K2] and b2 [N, K2]');
    A2 = matrix('A2', s.a2, 'M, K2');
    B2 = matrix('B2', s.b2, 'N, K2');
    if (A2.rows !== M) throw new ShapeError(`matmul: A2 is ${formatShape(s.a2)} but op(A) is ${formatShape([M, K])}; rows ${A2.rows} ≠ ${M}`);
    if (B2.rows !== N) throw new ShapeError(`matmul: B2 is ${formatShape(s.b2)} but op(B) is ${formatShape([KB, N])}; B2 needs ${N} rows (one per output column), has ${B2.rows}`);
    if (A2.cols !== B2.cols) {
      throw new ShapeError(`matmul: A2 is ${formatShape(s.a2)} but B2 is ${formatShape(s.b2)}; inner dimensions ${A2.cols} ≠ ${B2.cols}`);
    }
    K2 = A2.cols;
    named.push(['A2', A2], ['B2', B2]);
  }
  let batch = 1;
  let batched = false;
  for (const [, m] of named) {
    batched ||= m.batched;
    if (m.batch !== 1) batch = m.batch;
  }
  for (const [name, m] of named) {
    if (m.batch !== 1 && m.batch !== batch) {
      const other = named.find(([, o]) => o.batch === batch)![0];
      throw new ShapeError(`matmul: ${name} has batch ${m.batch} but ${other} has batch ${batch}; each must be 1 or the same`);
    }
  }
  const outShape = batched ? [batch, M, N] : [M, N];
  const sameAsOut = (name: string, shape: readonly number[] | undefined) => {
    if (shape && (shape.length !== outShape.length || shape.some((d, i) => d !== outShape[i]))) {
      throw new ShapeError(`matmul: ${name} is ${formatShape(shape)} but the output op(A)·op(B) is ${formatShape(outShape)}`);
    }
  };
  sameAsOut('C', s.c);
  sameAsOut('out', s.out);
  if (s.biasN && (s.biasN.length !== 1 || s.biasN[0] !== N)) {
    throw new ShapeError(`matmul: the bias along N is ${formatShape(s.biasN)} but the output ${formatShape(outShape)} has ${N} columns`);
  }
  if (s.biasM && (s.biasM.length !== 1 || s.biasM[0] !== M)) {
    throw new ShapeError(`matmul: the bias along M is ${formatShape(s.biasM)} but the output ${formatShape(outShape)} has ${M} rows`);
  }
  const stride = (m: Matrix | undefined) => (m && m.batch > 1 ? m.rows * m.cols : 0);
  return {
    M, N, K, K2, batch,
    strideA: stride(A),
    strideB: stride(B),
    strideC: batch > 1 ? M * N : 0,
    strideA2: stride(A2),
    strideB2: stride(B2),
    outShape,
  };
}
