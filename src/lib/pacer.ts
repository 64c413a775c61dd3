/**
 * Long synchronous work cut into turns of the event loop.
 * @module
 */

/**
 * A function to await between steps of a long computation: it resolves at once until `everyMs`
 * have passed since the last pause, then after one turn of the event loop (a timer, not a
 * microtask: only a turn lets I/O, and so requests, in).
 */
export function pacer(everyMs: number): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < everyMs) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    since = performance.now();
  };
}
