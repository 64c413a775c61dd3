/**
 * Does the router's memory grow with the publishes it has answered? The router (its own process,
 * as `deno task start` runs it, plus `--inspect` on loopback) publishes one Job per request to
 * the API simulator in successive batches from 16 callers; after each batch it idles, and this
 * reads its resident memory (`/proc/<pid>/smaps_rollup`) and V8 heap (through the inspector:
 * `Deno.memoryUsage()` and `node:v8`'s heap spaces, used/committed MB) four ways:
 * - `idle`: as the router left it (V8 collects nothing in an idle Deno process);
 * - `afterGc`: after full collections: the heap kept alive (a leak grows it batch after batch);
 * - `afterRelease`: after the memory-reducing collection `src/app/memory_release.ts` asks for,
 *   which also gives back the young generation and V8's pooled pages;
 * - `afterTrim` (`--trim`, adds `--allow-ffi`): after glibc's `malloc_trim(0)`, which hands back
 *   every free page malloc kept, so what remains is memory in use.
 *
 * `--clear` deletes the simulator's Jobs after each batch (the runs view drops what its watch
 * sees deleted), to tell the view's share from the rest. `--snapshot=DIR` writes a V8 heap
 * snapshot after each batch (DevTools, Memory tab, "Comparison"); taking one leaves ~300 MB of
 * malloc resident, so later batches' RSS means nothing then.
 *
 * Run: `deno run -A bench/publish_memory.ts [--batches=4] [--per-batch=15000] [--callers=16]
 * [--idle-ms=5000] [--clear] [--http] [--trim] [--snapshot=DIR]
 * [--v8-flags=--max-semi-space-size=4] [--env=MALLOC_ARENA_MAX=2 ...]` (V8 flags added to the
 * start command's, environment variables given to the router process). Prints one JSON line per
 * batch, with the router's CPU per publish.
 * @module
 */

import { Inspector } from "./lib/inspector.ts";
import { parseArgs } from "node:util";
import { GitServer } from "../tests/support/git_server.ts";
import { RouterProcess } from "../tests/support/router_process.ts";
import { BenchChild } from "./lib/child.ts";
import type { BenchContext } from "./lib/context.ts";
import { routerEnv } from "./lib/context.ts";
import type { LoadOptions, LoadResult } from "./lib/load.ts";
import { cpuMsOf, findChild } from "./lib/proc.ts";
import { FILES, PUBLISH } from "./lib/templates.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    batches: { type: "string", default: "4" },
    "per-batch": { type: "string", default: "15000" },
    callers: { type: "string", default: "16" },
    "idle-ms": { type: "string", default: "5000" },
    clear: { type: "boolean", default: false },
    http: { type: "boolean", default: false },
    snapshot: { type: "string" },
    "v8-flags": { type: "string" },
    env: { type: "string", multiple: true, default: [] },
    trim: { type: "boolean", default: false },
  },
});

/** Memory of the router at one moment, in MB. */
interface MemoryReading {
  rss: number;
  /** Of the RSS: anonymous pages (heap, malloc, stacks), the rest is mapped files (the binary). */
  anonymous: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** V8 heap spaces: used / committed. */
  spaces: Record<string, string>;
}

const MB = 2 ** 20;
const round = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

/** What the router holds now; `gc` first runs full collections (V8's `gc` is exposed). */
async function read(
  inspector: Inspector,
  pid: number,
  gc?: "major" | "last-resort" | "trim",
): Promise<MemoryReading> {
  const collect = gc === "trim"
    ? 'Deno.dlopen("libc.so.6", { malloc_trim: { parameters: ["usize"], result: "i32" } })' +
      ".symbols.malloc_trim(0);"
    : gc === "major"
    ? 'for (let i = 0; i < 3; i++) gc({ type: "major", execution: "sync" });'
    : gc === "last-resort"
    ? 'gc({ type: "major", execution: "sync", flavor: "last-resort" });'
    : "";
  const v8 = await inspector.evaluate<string>(`(async () => {
    ${collect}
    const v8 = await import("node:v8");
    return JSON.stringify({ memory: Deno.memoryUsage(), spaces: v8.getHeapSpaceStatistics() });
  })()`);
  const { memory, spaces } = JSON.parse(v8) as {
    memory: Deno.MemoryUsage;
    spaces: { space_name: string; space_used_size: number; physical_space_size: number }[];
  };
  const rollup = await Deno.readTextFile(`/proc/${pid}/smaps_rollup`);
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1]);
  return {
    rss: round(kb("Rss") * 1024),
    anonymous: round(kb("Anonymous") * 1024),
    heapUsed: round(memory.heapUsed),
    heapTotal: round(memory.heapTotal),
    external: round(memory.external),
    spaces: Object.fromEntries(
      spaces.filter((s) => s.physical_space_size > 0).map((s) => [
        s.space_name,
        `${round(s.space_used_size)}/${round(s.physical_space_size)}`,
      ]),
    ),
  };
}

const batches = Number(flags.batches);
const perBatch = Number(flags["per-batch"]);
const callers = Number(flags.callers);
const idleMs = Number(flags["idle-ms"]);
const progress = (message: string) => console.error(message);

const work = await Deno.makeTempDir({ prefix: "gitfaas-publish-memory-" });
const git = await GitServer.start();
const sim = await BenchChild.start("sim_server.ts", [work]);
const load = await BenchChild.start("load_child.ts");
const context: BenchContext = { git, sim, work, quick: false, progress };
const inspectPort = await freePort();
let router: RouterProcess | undefined;
let inspector: Inspector | undefined;
try {
  await git.createRepo("publish", { files: FILES });
  router = await RouterProcess.start({
    ...routerEnv(context, "publish", `${work}/data`),
    ...(flags.http ? { KUBECONFIG: String(sim.ready.httpKubeconfig) } : {}),
    ...Object.fromEntries(flags.env.map((pair) => pair.split(/=(.*)/s, 2))),
  }, {
    denoFlags: [
      `--inspect=127.0.0.1:${inspectPort}`,
      ...(flags.trim ? ["--allow-ffi"] : []),
      ...(flags["v8-flags"] ? [`--v8-flags=${flags["v8-flags"]}`] : []),
    ],
  });
  await router.waitFor(async () => (await router!.call("/readyz")).status === 200, 60_000);
  const pid = findChild("main.ts")!;
  inspector = await Inspector.connect(inspectPort);
  await new Promise((r) => setTimeout(r, idleMs));
  console.log(JSON.stringify({ batch: 0, published: 0, idle: await read(inspector, pid) }));
  let published = 0;
  for (let batch = 1; batch <= batches; batch++) {
    const options: LoadOptions = {
      url: `${router.url}/publish/job${PUBLISH.query}`,
      body: PUBLISH.body,
      headers: PUBLISH.headers,
      concurrency: callers,
      durationMs: 600_000,
      maxRequests: perBatch,
    };
    const cpuBefore = cpuMsOf(pid);
    const result = await load.command(JSON.stringify(options), 700_000) as unknown as LoadResult;
    const cpuMsPerPublish = Math.round((1000 * (cpuMsOf(pid) - cpuBefore)) / result.answered) /
      1000;
    published += result.answered;
    if (flags.clear) await sim.command("clear");
    await new Promise((r) => setTimeout(r, idleMs));
    const idle = await read(inspector, pid);
    const afterGc = await read(inspector, pid, "major");
    // What the router's memory release asks for (src/app/memory_release.ts): V8 also gives
    // back the young generation and its pooled pages.
    const afterRelease = await read(inspector, pid, "last-resort");
    // glibc keeps the pages of freed allocations; `malloc_trim` hands back every free page, so
    // what remains is in use.
    const afterTrim = flags.trim ? await read(inspector, pid, "trim") : undefined;
    if (flags.snapshot) {
      await Deno.mkdir(flags.snapshot, { recursive: true });
      await inspector.snapshot(`${flags.snapshot}/batch-${batch}.heapsnapshot`);
    }
    console.log(JSON.stringify({
      batch,
      published,
      perSecond: result.perSecond,
      cpuMsPerPublish,
      errors: result.errors,
      idle,
      afterGc,
      afterRelease,
      ...(afterTrim ? { afterTrim } : {}),
    }));
  }
} finally {
  inspector?.socket.close();
  await router?.stop();
  await load.stop();
  await sim.stop();
  await git.close();
  await Deno.remove(work, { recursive: true }).catch(() => undefined);
}

async function freePort(): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await Promise.resolve();
  return port;
}
