/**
 * Promise helpers shared by every part that waits: timers that an `AbortSignal` can end, one
 * exponential backoff, and a {@linkcode Limiter} on work in flight.
 *
 * `delay`, `abortable`, `deadline` and `debounce` have the names, signatures and behaviour of
 * the Deno standard library's `@std/async` (MIT), written out here because JSR, where std is published,
 * cannot be reached from every machine that builds gitfaas. Code written against std works the
 * same against these. `backoffDelay` is std's retry backoff, with std's option names.
 * @module
 */

/** Options for {@linkcode delay}. */
export interface DelayOptions {
  /** Signal used to abort the delay: the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Whether the process should keep running as long as the timer exists.
   * @default {true}
   */
  persistent?: boolean;
}

/**
 * Resolves after `ms` milliseconds, or rejects with the signal's reason once it aborts.
 *
 * @example
 * ```ts
 * await delay(100, { signal: AbortSignal.timeout(50) }); // rejects with a TimeoutError
 * ```
 * @param ms Milliseconds to wait.
 * @param options The abort signal, and whether the timer keeps the process alive.
 * @returns A promise that resolves after `ms`.
 */
export function delay(ms: number, options: DelayOptions = {}): Promise<void> {
  const { signal, persistent = true } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const abort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", abort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", abort, { once: true });
    if (!persistent) Deno.unrefTimer(timer);
  });
}

/**
 * `p`, or a rejection with `signal.reason` as soon as `signal` aborts. `p` itself runs on: this
 * stops the waiting, not the work.
 *
 * @example
 * ```ts
 * const listing = abortable(discovery, AbortSignal.timeout(1000));
 * ```
 * @param p The promise to wait for.
 * @param signal Ends the wait when it aborts.
 * @returns `p`'s outcome, or the abort reason.
 */
export function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  const { promise, reject } = Promise.withResolvers<never>();
  const abort = () => reject(signal.reason);
  if (signal.aborted) abort();
  signal.addEventListener("abort", abort, { once: true });
  return Promise.race([promise, p]).finally(() => {
    signal.removeEventListener("abort", abort);
  });
}

/** Options for {@linkcode deadline}. */
export interface DeadlineOptions {
  /** Signal that also ends the wait. */
  signal?: AbortSignal;
}

/**
 * `p`, or a rejection with a `DOMException` named `TimeoutError` when it has not settled within
 * `ms` milliseconds (or with `options.signal`'s reason when that aborts first). Like
 * {@linkcode abortable}, it stops the waiting, not the work.
 *
 * @example
 * ```ts
 * const finished = await deadline(server.shutdown(), 20_000).then(() => true, () => false);
 * ```
 * @param p The promise to wait for.
 * @param ms Milliseconds to wait at most.
 * @param options Another signal that ends the wait.
 * @returns `p`'s outcome, or the timeout or abort reason.
 */
export async function deadline<T>(
  p: Promise<T>,
  ms: number,
  options: DeadlineOptions = {},
): Promise<T> {
  const signals: AbortSignal[] = [];
  if (ms < Number.MAX_SAFE_INTEGER) signals.push(AbortSignal.timeout(ms));
  if (options.signal) signals.push(options.signal);
  return await abortable(p, AbortSignal.any(signals));
}

/** Whether `error` is the rejection of a {@linkcode deadline} (or `AbortSignal.timeout`). */
export function isTimeout(error: unknown): boolean {
  return error instanceof DOMException && error.name === "TimeoutError";
}

/** A function whose calls are put off until none has come for a while; see {@linkcode debounce}. */
export interface DebouncedFunction<T extends Array<unknown>> {
  (...args: T): void;
  /** Drops the pending call. */
  clear(): void;
  /** Makes the pending call now. */
  flush(): void;
  /** Whether a call is pending. */
  readonly pending: boolean;
}

/** Options for {@linkcode debounce}. */
export interface DebounceOptions {
  /** Drops the pending call when it aborts. */
  signal?: AbortSignal;
}

/**
 * `fn`, called `wait` ms after the last of a burst of calls, with that call's arguments.
 *
 * @example
 * ```ts
 * const changed = debounce(() => syncer.sync(), 100);
 * for await (const _event of watcher) changed();
 * ```
 * @param fn The function to call.
 * @param wait Quiet time in ms before the call is made.
 * @param options A signal that drops the pending call.
 * @returns The debounced function.
 */
export function debounce<T extends Array<unknown>>(
  fn: (...args: T) => void,
  wait: number,
  options: DebounceOptions = {},
): DebouncedFunction<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pendingCall: (() => void) | undefined;
  const debounced = ((...args: T) => {
    debounced.clear();
    pendingCall = () => {
      debounced.clear();
      fn(...args);
    };
    timer = setTimeout(pendingCall, wait);
  }) as DebouncedFunction<T>;
  debounced.clear = () => {
    clearTimeout(timer);
    timer = undefined;
    pendingCall = undefined;
  };
  debounced.flush = () => pendingCall?.();
  Object.defineProperty(debounced, "pending", { get: () => timer !== undefined });
  options.signal?.addEventListener("abort", () => debounced.clear(), { once: true });
  return debounced;
}

/** Options for {@linkcode backoffDelay}, named as in std's `retry`. */
export interface BackoffOptions {
  /** The wait before the first retry, in ms. */
  minTimeout: number;
  /** The longest wait, in ms. */
  maxTimeout: number;
  /**
   * Each wait is the previous one times this.
   * @default {2}
   */
  multiplier?: number;
  /**
   * Share of the wait that is random: 0 waits the full time, 0.5 between half and all of it,
   * 1 anything up to it. Jitter keeps many clients that failed together from retrying together.
   * @default {0}
   */
  jitter?: number;
}

/**
 * The wait before retry number `attempt` (0 for the first retry): `minTimeout` times
 * `multiplier` to the power of `attempt`, capped at `maxTimeout`, less up to `jitter` of it.
 * The same formula as std's `retry`.
 *
 * @example
 * ```ts
 * backoffDelay(3, { minTimeout: 250, maxTimeout: 2000 }); // 2000 (250 · 2³)
 * ```
 * @param attempt Retries made so far.
 * @param options Bounds, growth and jitter.
 * @returns Milliseconds to wait.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const { minTimeout, maxTimeout, multiplier = 2, jitter = 0 } = options;
  const exponential = Math.min(maxTimeout, minTimeout * multiplier ** attempt);
  return (1 - jitter * Math.random()) * exponential;
}

/**
 * A cap on work in flight (like client-go's QPS and burst for API requests): `max` holders at
 * once, the rest wait in order. std's `pooledMap` caps an iterable's items; this caps calls made
 * from anywhere, which is what a shared connection needs.
 */
export class Limiter {
  readonly #max: number;
  #inflight = 0;
  readonly #waiting: (() => void)[] = [];

  /** A limiter letting `max` holders in at once. */
  constructor(max: number) {
    this.#max = max;
  }

  /** Tasks waiting for a turn. */
  get queued(): number {
    return this.#waiting.length;
  }

  /** Tasks holding a turn. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Runs `task` when a turn is free; gives up waiting when `signal` aborts. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquire(signal);
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #acquire(signal?: AbortSignal): Promise<void> {
    if (this.#inflight < this.#max) {
      this.#inflight++;
      return Promise.resolve();
    }
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const turn = () => {
        signal?.removeEventListener("abort", abort);
        this.#inflight++;
        resolve();
      };
      const abort = () => {
        const at = this.#waiting.indexOf(turn);
        if (at !== -1) this.#waiting.splice(at, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", abort, { once: true });
      this.#waiting.push(turn);
    });
  }

  #release(): void {
    this.#inflight--;
    this.#waiting.shift()?.();
  }
}

/**
 * A function to await between steps of a long computation: it resolves at once until `everyMs`
 * have passed since the last pause, then after one turn of the event loop (a timer, not a
 * microtask: only a timer turn lets I/O, and so requests, in; a `MessageChannel` or
 * `setImmediate` turn does not).
 */
export function pacer(everyMs: number): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < everyMs) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    since = performance.now();
  };
}
