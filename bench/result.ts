/** One benchmark figure, as written to the JSON report. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

export function gflops(flops: number, ms: number): number {
  return flops / (ms * 1e-3) / 1e9;
}
