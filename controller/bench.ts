// The row every benchmark module returns, so that one runner prints them side by side.
export interface BenchRow {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The goal as people read it, e.g. "≥ 100k/s". */
  readonly goal?: string;
  /** A ratio measured in the same run (e.g. against a baseline), when the row has one. */
  readonly ratio?: number;
}
