/**
 * A closed-loop load generator: `concurrency` callers, each sending its next request as soon as
 * the previous one is answered (or, paced, at its turn on a fixed schedule), over kept-alive
 * connections. Every run is bounded twice, by
 * time and by request count, and stops by itself.
 * @module
 */

import { summarize, type Summary } from "./stats.ts";

/** One load run. */
export interface LoadOptions {
  url: string;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  /** Callers sending at once. */
  concurrency: number;
  /** Time callers keep starting requests, after the warm-up. */
  durationMs: number;
  /** Most requests started in all, warm-up included. */
  maxRequests: number;
  /** Requests started in this first period are not counted (default 0). */
  warmupMs?: number;
  /** Requests still unanswered this long after the end are aborted (default 30 s). */
  graceMs?: number;
  /** The status a request must get to count (default 202). */
  expectStatus?: number;
  /**
   * Paced: requests start on a schedule of this many per second over all callers (a caller
   * whose turn comes while its previous request runs starts late); unpaced when absent.
   */
  ratePerSecond?: number;
}

/** What a load run measured. */
export interface LoadResult extends Summary {
  concurrency: number;
  /** Statuses seen, with counts (`0`: no answer). */
  statuses: Record<string, number>;
  /** Requests that got an HTTP answer, whatever its status, warm-up included. */
  answered: number;
  /** The first unexpected answer, to tell what went wrong. */
  firstError?: string;
}

/** Runs the load and summarises the measured window. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const client = Deno.createHttpClient({});
  const abort = new AbortController();
  const warmupMs = options.warmupMs ?? 0;
  const expect = options.expectStatus ?? 202;
  const started = performance.now();
  const measureFrom = started + warmupMs;
  const stopAt = measureFrom + options.durationMs;
  const hardStop = setTimeout(
    () => abort.abort(),
    warmupMs + options.durationMs +
      (options.graceMs ?? 30_000),
  );
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let issued = 0;
  let errors = 0;
  let firstError: string | undefined;
  let lastEnd = measureFrom;

  const caller = async () => {
    while (performance.now() < stopAt && issued < options.maxRequests && !abort.signal.aborted) {
      const turn = issued++;
      if (options.ratePerSecond) {
        const wait = started + (1000 * turn) / options.ratePerSecond - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const t0 = performance.now();
      let status = 0;
      let text = "";
      try {
        const response = await fetch(options.url, {
          method: options.method ?? "POST",
          body: options.body,
          headers: options.headers,
          client,
          signal: abort.signal,
        });
        status = response.status;
        text = await response.text();
      } catch (error) {
        text = String(error);
      }
      const t1 = performance.now();
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (t0 < measureFrom) continue;
      lastEnd = Math.max(lastEnd, t1);
      if (status === expect) latencies.push(t1 - t0);
      else {
        errors++;
        firstError ??= `${status}: ${text.slice(0, 300)}`;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, caller));
  } finally {
    clearTimeout(hardStop);
    client.close();
  }
  const seconds = Math.max(lastEnd - measureFrom, 1) / 1000;
  return {
    concurrency: options.concurrency,
    ...summarize(latencies, errors, seconds),
    statuses,
    answered: Object.entries(statuses).reduce((sum, [s, n]) => sum + (s === "0" ? 0 : n), 0),
    ...(firstError ? { firstError } : {}),
  };
}
