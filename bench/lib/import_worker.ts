/**
 * A worker for `rss_probe.ts`: imports the module it is sent, answers, and waits to be ended.
 * @module
 */

/// <reference lib="deno.worker" />

self.onmessage = async (event: MessageEvent<string>) => {
  await import(event.data);
  self.postMessage("imported");
};
