/**
 * Latency statistics for the benchmarks: percentiles by nearest rank, and a summary of one
 * measured run.
 * @module
 */

/** One measured run of requests. */
export interface Summary {
  /** Requests that were answered with the expected status inside the measured window. */
  count: number;
  /** Requests answered with another status, or not answered. */
  errors: number;
  /** Length of the measured window. */
  seconds: number;
  /** `count / seconds`. */
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/** The `p`th percentile (0–100) of ascending `sorted` values, by nearest rank; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Summarises latencies (ms) of `seconds` of measurement. */
export function summarize(latenciesMs: number[], errors: number, seconds: number): Summary {
  const sorted = Float64Array.from(latenciesMs).sort();
  const values = Array.from(sorted);
  const total = values.reduce((a, b) => a + b, 0);
  return {
    count: values.length,
    errors,
    seconds: round(seconds, 3),
    perSecond: round(values.length / seconds, 1),
    p50Ms: round(percentile(values, 50), 3),
    p99Ms: round(percentile(values, 99), 3),
    meanMs: round(values.length ? total / values.length : NaN, 3),
    maxMs: round(values.at(-1) ?? NaN, 3),
  };
}

/** The median of some numbers (NaN when there are none). */
export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** `value` rounded to `digits` decimals. */
export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** The spread of some measured times (ms): count and percentiles by nearest rank. */
export interface Distribution {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The {@linkcode Distribution} of `valuesMs`. */
export function distribution(valuesMs: readonly number[]): Distribution {
  const sorted = [...valuesMs].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? NaN),
  };
}
