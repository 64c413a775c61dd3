/**
 * Gives the heap an index build left behind back to the system. V8 keeps the pages a garbage
 * collection frees, for reuse, and returns them only in a memory-reducing collection, which its
 * own memory reducer starts only once the allocation rate it last measured is low; in an idle
 * Deno process no collection measures it again, so the pages of a build stay resident for good
 * (BENCHMARKS.md, "Footprint"). After an index goes live and the process has been quiet for a
 * moment, the router asks for that collection itself, through the `gc` function
 * `--v8-flags=--expose-gc` gives (the start command sets it; without it this does nothing).
 * @module
 */

/** What V8's `gc` extension takes. */
type GcOptions = { type: "major"; execution: "sync"; flavor: "last-resort" };

/** Options for {@linkcode memoryRelease}. */
export interface MemoryReleaseOptions {
  /** Quiet time after the last {@linkcode MemoryRelease.soon} before collecting (default 2 s). */
  delayMs?: number;
  /**
   * No collection when more heap than this is in use (default 48 MiB): a memory-reducing
   * collection holds the event loop for a time that grows with the live heap (~30–130 ms below
   * this, 100–250 ms at a 10,000-manifest index).
   */
  maxHeapUsedBytes?: number;
  /** V8's `gc` (default: the global one, when exposed). */
  gc?: (options: GcOptions) => unknown;
  /** Bytes of heap in use (default: `Deno.memoryUsage().heapUsed`). */
  heapUsed?: () => number;
}

/** Asks for one memory-reducing collection once the process has been quiet. */
export interface MemoryRelease {
  /** A build ended: collect after the quiet time, unless called again before. */
  soon(): void;
  /** Cancels a pending collection. */
  stop(): void;
}

/** A memory release; a no-op when V8's `gc` is not exposed. */
export function memoryRelease(options: MemoryReleaseOptions = {}): MemoryRelease {
  const gc = options.gc ?? (globalThis as { gc?: (options: GcOptions) => unknown }).gc;
  const heapUsed = options.heapUsed ?? (() => Deno.memoryUsage().heapUsed);
  const delayMs = options.delayMs ?? 2_000;
  const maxHeapUsedBytes = options.maxHeapUsedBytes ?? 48 * 2 ** 20;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    soon() {
      if (!gc) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        if (heapUsed() <= maxHeapUsedBytes) {
          gc({ type: "major", execution: "sync", flavor: "last-resort" });
        }
      }, delayMs);
      // A pending collection never keeps the process alive.
      Deno.unrefTimer(timer);
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
