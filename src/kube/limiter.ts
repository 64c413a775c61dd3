/**
 * A cap on requests in flight to the API server (like client-go's QPS and burst), so a burst
 * of publishes waits its turn here instead of flooding the API server.
 * @module
 */

/** Counts requests in flight and makes the rest wait in order. */
export class Limiter {
  readonly #max: number;
  #inflight = 0;
  readonly #waiting: (() => void)[] = [];

  /** A limiter letting `max` holders in at once. */
  constructor(max: number) {
    this.#max = max;
  }

  /** Requests waiting for a turn. */
  get queued(): number {
    return this.#waiting.length;
  }

  /** Requests holding a turn. */
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
