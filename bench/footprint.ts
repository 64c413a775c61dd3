/**
 * Footprint: time from start to ready (`/readyz` 200) and idle RSS of the router process
 * (`VmRSS` from `/proc/<pid>/status`), with an empty and with a warm DATA_DIR, for the publish
 * repository (4 files) and repositories of 1,000 and 10,000 manifests; and the RSS of idle Deno
 * processes that import only parts of the router, to say where the memory goes.
 * @module
 */

import { RouterProcess } from "../tests/support/router_process.ts";
import { BenchChild } from "./lib/child.ts";
import { type BenchContext, routerEnv } from "./lib/context.ts";
import { findChild, memoryOf } from "./lib/proc.ts";
import { median, round } from "./lib/stats.ts";
import { manyManifestsRepo } from "./sync.ts";

/** One start of the router. */
export interface StartResult {
  /** From spawning the process to its "listening" log line being read. */
  listeningMs: number;
  /** From spawning the process to the first `/readyz` answering 200. */
  readyMs: number;
  /** After 2 s idle once ready. */
  idleRssMB: number;
  peakRssMB: number;
}

/** Footprint of the router for one repository. */
export interface FootprintResult {
  repo: string;
  manifests: number;
  cold: StartResult;
  /** Three restarts with the DATA_DIR of the cold start. */
  warm: StartResult[];
  warmMedianReadyMs: number;
}

/** What idle Deno processes importing parts of the router hold. */
export interface RssProbe {
  label: string;
  rssMB: number;
  heapUsedMB: number;
}

const PROBES: [string, string[]][] = [
  ["bare Deno", []],
  ["+ npm:@kubernetes/client-node", ["npm:@kubernetes/client-node@2.0.1"]],
  ["+ isomorphic-git, yaml, mustache, zod, prom-client", [
    "npm:isomorphic-git@1.44.17",
    "npm:yaml@2.9.1",
    "npm:mustache@4.2.0",
    "npm:zod@4.6.7",
    "npm:prom-client@15.1.3",
  ]],
  ["the router's module graph (src/app/router.ts), nothing started", [
    new URL("../src/app/router.ts", import.meta.url).href,
  ]],
];

/** Measures start-up and idle memory. */
export async function runFootprintBench(
  context: BenchContext,
): Promise<{ starts: FootprintResult[]; probes: RssProbe[] }> {
  const probes: RssProbe[] = [];
  for (const [label, modules] of PROBES) {
    const probe = await BenchChild.start("rss_probe.ts", modules);
    await probe.finished();
    probes.push({
      label,
      rssMB: Number(probe.ready.rssMB),
      heapUsedMB: Number(probe.ready.heapUsedMB),
    });
    context.progress(`idle RSS, ${label}: ${probe.ready.rssMB} MB`);
  }
  const starts: FootprintResult[] = [];
  const repos: [string, number][] = [
    ["publish", 4],
    [await manyManifestsRepo(context, 1_000), 1_000],
    [await manyManifestsRepo(context, 10_000), 10_000],
  ];
  for (const [repo, manifests] of repos) {
    const dataDir = `${context.work}/footprint-${repo}`;
    const cold = await start(context, repo, dataDir);
    const warm: StartResult[] = [];
    for (let i = 0; i < (context.quick ? 1 : 3); i++) {
      warm.push(await start(context, repo, dataDir));
    }
    const result = {
      repo,
      manifests,
      cold,
      warm,
      warmMedianReadyMs: round(median(warm.map((w) => w.readyMs))),
    };
    starts.push(result);
    context.progress(
      `start ${repo}: cold ready ${cold.readyMs} ms, warm ready ${result.warmMedianReadyMs} ms, ` +
        `idle RSS ${warm[0].idleRssMB} MB (peak ${warm[0].peakRssMB} MB)`,
    );
  }
  return { starts, probes };
}

async function start(context: BenchContext, repo: string, dataDir: string): Promise<StartResult> {
  const t0 = performance.now();
  const router = await RouterProcess.start(routerEnv(context, repo, dataDir), {
    timeoutMs: 120_000,
  });
  const listeningMs = performance.now() - t0;
  const deadline = t0 + 180_000;
  for (;;) {
    const response = await router.fetch("/readyz").catch(() => undefined);
    await response?.body?.cancel();
    if (response?.status === 200) break;
    if (performance.now() > deadline) throw new Error(`${repo}: not ready in time`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const readyMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 2000));
  const pid = findChild("main.ts");
  const memory = pid ? memoryOf(pid) : { rssMB: NaN, peakRssMB: NaN };
  await router.stop();
  return {
    listeningMs: round(listeningMs),
    readyMs: round(readyMs),
    idleRssMB: memory.rssMB,
    peakRssMB: memory.peakRssMB,
  };
}
