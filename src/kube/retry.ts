/**
 * Retrying API requests that failed for reasons that pass (429, 5xx, no answer) with
 * exponential backoff and jitter, honouring Retry-After, within a deadline. Answers that
 * retrying cannot fix (400, 403, 404, 409, 422) are returned at once.
 * @module
 */

import { backoffDelay, delay } from "../lib/async.ts";
import { KubeApiError, type KubeApiErrorOptions } from "./errors.ts";

/** Options for {@linkcode withRetries}. */
export interface RetryOptions {
  /** Aborts when the time for the whole publish is up. */
  deadline: AbortSignal;
  /** Time left until the deadline, in ms. */
  remainingMs: () => number;
  /** First backoff delay (default 100 ms); doubles each time up to `maxDelayMs`. */
  baseDelayMs?: number;
  /** Largest backoff delay (default 2 s); a longer Retry-After is still honoured. */
  maxDelayMs?: number;
  /** Called before each retry (metrics). */
  onRetry?: (error: KubeApiError, attempt: number, delayMs: number) => void;
}

/** Options for {@linkcode GaveUpError}: the last failure's, and how often it was tried. */
export interface GaveUpErrorOptions extends KubeApiErrorOptions {
  attempts: number;
}

/** A request that kept failing until the deadline; `attempts` says how often it was tried. */
export class GaveUpError extends KubeApiError {
  override name = "GaveUpError";
  /** How often the request was tried. */
  readonly attempts: number;

  /** The last failure's status and reason, after `options.attempts` tries. */
  constructor(message: string, options: GaveUpErrorOptions) {
    super(message, options);
    this.attempts = options.attempts;
  }
}

/** The error for giving up after `attempts` tries, `last` being the last failure. */
function gaveUp(last: KubeApiError, attempts: number): GaveUpError {
  return new GaveUpError(
    `gave up after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${last.message}`,
    {
      status: last.status,
      reason: last.reason,
      retryAfterSeconds: last.retryAfterSeconds,
      attempts,
      cause: last,
    },
  );
}

/** Runs `attempt` until it succeeds, fails for good, or the deadline leaves no time to retry. */
export async function withRetries<T>(
  attempt: (try_: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const base = options.baseDelayMs ?? 100;
  const max = options.maxDelayMs ?? 2000;
  let previous: KubeApiError | undefined;
  for (let n = 1;; n++) {
    try {
      return await attempt(n);
    } catch (failure) {
      if (!(failure instanceof KubeApiError) || !failure.retryable) throw failure;
      // A retry still waiting for its answer when the deadline ends it says nothing about the
      // server: what it last answered (a 503, say) is why the request failed, not a timeout.
      const cutShort = options.deadline.aborted && failure.reason === "Timeout";
      const error = cutShort && previous ? previous : failure;
      previous = error;
      const wait = error.retryAfterSeconds !== undefined
        ? error.retryAfterSeconds * 1000
        : backoffDelay(n - 1, { minTimeout: base, maxTimeout: max, jitter: 0.5 });
      if (options.deadline.aborted || wait >= options.remainingMs()) {
        throw gaveUp(error, n);
      }
      options.onRetry?.(error, n, wait);
      await delay(wait, { signal: options.deadline }).catch(() => undefined);
      if (options.deadline.aborted) throw gaveUp(error, n);
    }
  }
}
