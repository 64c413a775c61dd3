/**
 * The load generator in its own process, so its CPU time is its own: the bench process also
 * reads the router's log lines and drives the other helpers, which would otherwise count as
 * load generation (and only in the router's cells).
 *
 * Prints `{pid}` when ready, then runs one load per command line, a JSON `LoadOptions` of
 * `lib/load.ts`, and prints its `LoadResult`.
 * Run: `deno run -A bench/load_child.ts`.
 * @module
 */

import { commands, reply } from "./lib/child.ts";
import { type LoadOptions, runLoad } from "./lib/load.ts";

reply({ pid: Deno.pid });
for await (const line of commands()) {
  try {
    reply(await runLoad(JSON.parse(line) as LoadOptions));
  } catch (error) {
    reply({ error: String((error as Error)?.stack ?? error) });
  }
}
