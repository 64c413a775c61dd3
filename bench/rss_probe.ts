/**
 * Resident memory of an idle Deno process after importing some modules, to tell what the
 * router's idle RSS is made of. Prints `{rssMB, heapUsedMB}` after a garbage collection settle.
 *
 * Run: `deno run -A bench/rss_probe.ts [module ...]` (specifiers as the router imports them). A
 * specifier after `worker:` is imported in a worker that is then ended, as the kubeconfig login
 * does, to see what its end gives back.
 * @module
 */

import { reply } from "./lib/child.ts";
import { memoryOf } from "./lib/proc.ts";

for (const specifier of Deno.args) {
  if (!specifier.startsWith("worker:")) {
    await import(specifier);
    continue;
  }
  const worker = new Worker(new URL("./lib/import_worker.ts", import.meta.url), { type: "module" });
  await new Promise((resolve) => {
    worker.onmessage = resolve;
    worker.postMessage(specifier.slice("worker:".length));
  });
  worker.terminate();
}
await new Promise((r) => setTimeout(r, 500));
reply({
  modules: Deno.args,
  rssMB: memoryOf().rssMB,
  heapUsedMB: Math.round(Deno.memoryUsage().heapUsed / 2 ** 20 * 10) / 10,
});
