/** What a task builder makes of a table: inputs (texts or a feature matrix) and class ids, row by row. */
import type { LabelMap } from './labels.ts';

export interface Examples {
  /** The file the examples were read from. */
  source: string;
  /** 0-based row in that file of each example. */
  rows: Int32Array;
  /** One text per example (classification on text, or multiple-choice prompts). */
  texts?: string[];
  /** Row-major [n, featureCount] inputs of a tabular model. */
  features?: Float32Array;
  featureCount?: number;
  /** Class id of each example, in [0, labelMap.classCount). */
  labels: Int32Array;
  labelMap: LabelMap;
}

/** The examples at `indices`, in that order (the label map is shared). */
export function selectExamples(examples: Examples, indices: ArrayLike<number>): Examples {
  const n = indices.length;
  const out: Examples = {
    source: examples.source,
    rows: new Int32Array(n),
    labels: new Int32Array(n),
    labelMap: examples.labelMap,
  };
  for (let i = 0; i < n; i++) {
    out.rows[i] = examples.rows[indices[i]!]!;
    out.labels[i] = examples.labels[indices[i]!]!;
  }
  if (examples.texts !== undefined) out.texts = Array.from({ length: n }, (_, i) => examples.texts![indices[i]!]!);
  if (examples.features !== undefined) {
    const k = examples.featureCount!;
    const features = new Float32Array(n * k);
    for (let i = 0; i < n; i++) features.set(examples.features.subarray(indices[i]! * k, (indices[i]! + 1) * k), i * k);
    out.features = features;
    out.featureCount = k;
  }
  return out;
}

/** How many examples `examples` holds. */
export function exampleCount(examples: Examples): number {
  return examples.labels.length;
}
