/** What every figure gets from the run. */
export interface BenchContext {
  /** Where child processes write their logs (kept with the results). */
  logDir: string;
  /** Scratch space, removed after the run. */
  tmpDir: string;
  /** Persistent cache between runs (the generated heavy repository). */
  cacheDir: string;
  /** A progress line on stderr. */
  progress(message: string): void;
}
