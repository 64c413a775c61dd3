/**
 * Footprint: time from start to ready (`/readyz` 200) and idle RSS of the router process
 * (`VmRSS` from `/proc/<pid>/status`), with an empty and with a warm DATA_DIR, for the publish
 * repository (4 files) and repositories of 1,000 and 10,000 manifests; idle RSS with each login
 * (a kubeconfig file, the in-cluster service account), with and without a large template (which
 * starts the template worker); and the RSS of idle Deno processes that import only parts of the
 * router, to say where the memory goes.
 *
 * Run alone: `deno run -A bench/run.ts --only=footprint`.
 * @module
 */

import { configJson } from "../tests/support/fixtures.ts";
import { RouterProcess } from "../tests/support/router_process.ts";
import { BenchChild } from "./lib/child.ts";
import { type BenchContext, routerEnv } from "./lib/context.ts";
import { findChild, memoryOf } from "./lib/proc.ts";
import { median, round } from "./lib/stats.ts";
import { FILES, TOPICS } from "./lib/templates.ts";
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

/** Idle RSS of the router with one login and one kind of repository. */
export interface IdleResult {
  /** How the router signs in to the API server. */
  login: "kubeconfig" | "in-cluster";
  /** `small`: the publish repository; `large`: the same plus a 12 KB template (template worker). */
  templates: "small" | "large";
  /** RSS after the first index and 2 s of quiet. */
  idleRssMB: number;
  /**
   * RSS after 10 s more of quiet: by then the template worker has ended (5 s after its last
   * compile) and the router has asked V8 for its memory-reducing collection (2 s after the index).
   */
  laterRssMB: number;
  peakRssMB: number;
}

/** What idle Deno processes importing parts of the router hold. */
export interface RssProbe {
  label: string;
  rssMB: number;
  heapUsedMB: number;
}

const CLIENT_NODE = "npm:@kubernetes/client-node@2.0.1";
/** The V8 flag of the start command that lets an ended worker's heap go (README, "Permissions"). */
const WORKER_MEMORY_FLAG = "--v8-flags=--no-memory-pool-share-memory-on-teardown";

const PROBES: [string, string[], string[]?][] = [
  ["bare Deno", []],
  ["+ npm:@kubernetes/client-node", [CLIENT_NODE]],
  ["+ client-node imported in a worker, then ended (V8's defaults)", [`worker:${CLIENT_NODE}`]],
  [
    `+ client-node imported in a worker, then ended (${WORKER_MEMORY_FLAG})`,
    [`worker:${CLIENT_NODE}`],
    [WORKER_MEMORY_FLAG],
  ],
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
): Promise<{ starts: FootprintResult[]; probes: RssProbe[]; idle: IdleResult[] }> {
  // Every router lists the Jobs it finds: measure on an empty cluster, not on the Jobs the
  // publish section left behind (its ~40,000 Jobs would be measured instead of the router).
  await context.sim.command("clear");
  const probes: RssProbe[] = [];
  for (const [label, modules, denoFlags] of PROBES) {
    const probe = await BenchChild.start("rss_probe.ts", modules, { denoFlags });
    await probe.finished();
    probes.push({
      label,
      rssMB: Number(probe.ready.rssMB),
      heapUsedMB: Number(probe.ready.heapUsedMB),
    });
    context.progress(`idle RSS, ${label}: ${probe.ready.rssMB} MB`);
  }
  const idle = await runIdleBench(context);
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
  return { starts, probes, idle };
}

/** A ConfigMap template over the template worker's 8 KB threshold. */
function largeTemplate(): string {
  const lines = [
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata:",
    "  name: large-{{RANDOM}}",
    "data:",
  ];
  for (let i = 0; i < 400; i++) lines.push(`  key-${i}: "value {{RANDOM}} ${i}"`);
  return lines.join("\n") + "\n";
}

/**
 * Idle RSS with each login and with and without the template worker, each from an empty
 * DATA_DIR, so the large template is compiled (a warm start takes it from the template store
 * and starts no worker).
 */
export async function runIdleBench(context: BenchContext): Promise<IdleResult[]> {
  await ensureRepo(context, "publish", FILES);
  await ensureRepo(context, "footprint-large", {
    ...FILES,
    "config.json": configJson({ ...TOPICS, large: ["large.yaml"] }),
    "large.yaml": largeTemplate(),
  });
  const inCluster = await serviceAccount(context);
  const results: IdleResult[] = [];
  for (const login of ["kubeconfig", "in-cluster"] as const) {
    for (const templates of ["small", "large"] as const) {
      const runs: IdleResult[] = [];
      for (let i = 0; i < (context.quick ? 1 : 3); i++) {
        runs.push(await idleStart(context, login, templates, inCluster, i));
      }
      const mid = (pick: (r: IdleResult) => number) => median(runs.map(pick));
      const result = {
        login,
        templates,
        idleRssMB: mid((r) => r.idleRssMB),
        laterRssMB: mid((r) => r.laterRssMB),
        peakRssMB: mid((r) => r.peakRssMB),
      };
      results.push(result);
      context.progress(
        `idle RSS, ${login}, ${templates} templates (median of ${runs.length}): ` +
          `${result.idleRssMB} MB, 10 s later ${result.laterRssMB} MB ` +
          `(each: ${runs.map((r) => `${r.idleRssMB}/${r.laterRssMB}`).join(", ")})`,
      );
    }
  }
  return results;
}

async function idleStart(
  context: BenchContext,
  login: IdleResult["login"],
  templates: IdleResult["templates"],
  inCluster: Record<string, string>,
  run: number,
): Promise<IdleResult> {
  const repo = templates === "small" ? "publish" : "footprint-large";
  const env = routerEnv(context, repo, `${context.work}/idle-${login}-${templates}-${run}`);
  if (login === "in-cluster") {
    delete env.KUBECONFIG;
    Object.assign(env, inCluster);
  }
  const router = await RouterProcess.start(env, { timeoutMs: 120_000 });
  try {
    await waitReady(router, repo);
    await new Promise((r) => setTimeout(r, 2000));
    const pid = findChild("main.ts")!;
    const first = memoryOf(pid);
    await new Promise((r) => setTimeout(r, 10_000));
    const later = memoryOf(pid);
    return {
      login,
      templates,
      idleRssMB: first.rssMB,
      laterRssMB: later.rssMB,
      peakRssMB: later.peakRssMB,
    };
  } finally {
    await router.stop();
  }
}

/** A service account folder and the variables that make the router log in as in a pod. */
async function serviceAccount(context: BenchContext): Promise<Record<string, string>> {
  const prefix = `${context.work}/pod`;
  const dir = `${prefix}/var/run/secrets/kubernetes.io/serviceaccount`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/token`, String(context.sim.ready.token));
  await Deno.copyFile(String(context.sim.ready.caFile), `${dir}/ca.crt`);
  await Deno.writeTextFile(`${dir}/namespace`, "default");
  const url = new URL(String(context.sim.ready.url));
  return {
    SERVICE_ACCOUNT_PREFIX: prefix,
    KUBERNETES_SERVICE_HOST: url.hostname,
    KUBERNETES_SERVICE_PORT: url.port,
  };
}

/** Creates the repository unless an earlier section did. */
async function ensureRepo(
  context: BenchContext,
  name: string,
  files: Record<string, string>,
): Promise<void> {
  await context.git.createRepo(name, { files }).catch((error: Error) => {
    if (!error.message.includes("already exists")) throw error;
  });
}

async function waitReady(router: RouterProcess, repo: string): Promise<void> {
  const deadline = performance.now() + 180_000;
  for (;;) {
    const response = await router.fetch("/readyz").catch(() => undefined);
    await response?.body?.cancel();
    if (response?.status === 200) return;
    if (performance.now() > deadline) throw new Error(`${repo}: not ready in time`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function start(context: BenchContext, repo: string, dataDir: string): Promise<StartResult> {
  const t0 = performance.now();
  const router = await RouterProcess.start(routerEnv(context, repo, dataDir), {
    timeoutMs: 120_000,
  });
  const listeningMs = performance.now() - t0;
  await waitReady(router, repo);
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
