/**
 * Resident memory of an idle Deno process after importing some modules, to tell what the
 * router's idle RSS is made of. Prints `{rssMB, heapUsedMB}` after a garbage collection settle.
 *
 * Run: `deno run -A bench/rss_probe.ts [module ...]` (specifiers as the router imports them).
 * @module
 */

import { reply } from "./lib/child.ts";
import { memoryOf } from "./lib/proc.ts";

for (const specifier of Deno.args) await import(specifier);
await new Promise((r) => setTimeout(r, 500));
reply({
  modules: Deno.args,
  rssMB: memoryOf().rssMB,
  heapUsedMB: Math.round(Deno.memoryUsage().heapUsed / 2 ** 20 * 10) / 10,
});
