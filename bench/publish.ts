/**
 * Publish throughput and latency, side by side in one run: the router (its own process, as
 * `deno task start` runs it), the floors (a bare `Deno.serve`, and a one-hop proxy making the
 * same API request a publish makes) and the upstream approach (`Mustache.render` +
 * `kubectl apply -f -` per manifest), at 1, 16 and 64 callers, with the simulator answering at
 * once and with 5 ms of added latency.
 * @module
 */

import { RouterProcess } from "../tests/support/router_process.ts";
import { onPath } from "../tests/support/on_path.ts";
import { BenchChild } from "./lib/child.ts";
import { type BenchContext, routerEnv } from "./lib/context.ts";
import { type LoadResult, runLoad } from "./lib/load.ts";
import { cpuMsOf, findChild, type Memory, memoryOf } from "./lib/proc.ts";
import { FILES, PUBLISH } from "./lib/templates.ts";

/** One measured cell of the matrix. */
export interface PublishCell extends LoadResult {
  target: "router" | "floor-bare" | "floor-proxy" | "upstream";
  /** `job` (one manifest) or `three`; the proxy makes as many API requests. */
  topic: "job" | "three";
  latencyMs: number;
  /**
   * `closed`: callers send back to back; `paced`: at PACED_PER_SECOND over all callers, below
   * saturation; `large-message`: closed, with LARGE_BODY as the message.
   */
  variant: "closed" | "paced" | "large-message";
  /** Size of the published message (the request body). */
  bodyBytes: number;
  /** API requests the simulator saw during the cell, by verb (warm-up included). */
  simRequests: Record<string, number>;
  /** CPU time per answered request (warm-up included) of each process, in ms. */
  cpuMsPerRequest: { server: number; sim: number; loadGenerator: number };
}

/** Everything the publish section measured. */
export interface PublishResults {
  cells: PublishCell[];
  /** Router process memory after all the publishing. */
  routerMemory: Memory;
  kubectl?: string;
  /** Why the upstream comparison did not run, when it did not. */
  upstreamSkipped?: string;
}

export const CONCURRENCY = [1, 16, 64];
/** Publishes per second of the paced cells: well below what the router and the floor reach. */
export const PACED_PER_SECOND = 400;
/** A 1.5 KB message (its base64 makes the Job about 2.9 KB). */
export const LARGE_BODY = JSON.stringify({ source: "bench", records: "r".repeat(1_450) });
export const LATENCIES = [0, 5];

/** Runs the publish matrix. */
export async function runPublishBench(context: BenchContext): Promise<PublishResults> {
  const { sim, quick } = context;
  await context.git.createRepo("publish", { files: FILES });
  const router = await RouterProcess.start(
    routerEnv(context, "publish", `${context.work}/publish-data`),
  );
  await router.waitFor(async () => (await router.call("/readyz")).status === 200, 60_000);
  const routerPid = findChild("main.ts")!;
  const simEnv = {
    SIM_URL: String(sim.ready.url),
    SIM_TOKEN: String(sim.ready.token),
    SIM_CA: String(sim.ready.caFile),
  };
  const bare = await BenchChild.start("floor_server.ts", ["bare"]);
  const proxy = await BenchChild.start("floor_server.ts", ["proxy"], { env: simEnv });
  const kubectl = onPath("kubectl");
  const upstream = kubectl
    ? await BenchChild.start("upstream_server.ts", [
      kubectl,
      String(sim.ready.kubeconfig),
      await Deno.makeTempDir({ dir: context.work, prefix: "kubectl-" }),
    ])
    : undefined;

  const fast = {
    warmupMs: quick ? 200 : 500,
    durationMs: quick ? 800 : 2500,
    maxRequests: 200_000,
  };
  const slow = { warmupMs: 0, durationMs: quick ? 1000 : 3000, maxRequests: 400, graceMs: 60_000 };
  const base = (port: unknown) => `http://127.0.0.1:${port}`;
  const cells: PublishCell[] = [];
  const pids = {
    "floor-bare": bare.pid,
    "floor-proxy": proxy.pid,
    router: routerPid,
    upstream: upstream?.pid ?? 0,
  };
  const measure = async (
    target: PublishCell["target"],
    topic: PublishCell["topic"],
    latencyMs: number,
    concurrency: number,
    url: string,
    bounds: typeof fast | typeof slow,
    variant: PublishCell["variant"] = "closed",
  ) => {
    const body = variant === "large-message" ? LARGE_BODY : PUBLISH.body;
    await sim.command("stats"); // clear the request log
    const cpu = () => [cpuMsOf(pids[target]), cpuMsOf(sim.pid), cpuMsOf()];
    const cpuBefore = cpu();
    const result = await runLoad({
      url,
      body,
      headers: PUBLISH.headers,
      concurrency,
      ...bounds,
      ...(variant === "paced" ? { ratePerSecond: PACED_PER_SECOND } : {}),
    });
    const [server, simCpu, loadGenerator] = cpu().map((ms, i) =>
      Math.round((1000 * (ms - cpuBefore[i])) / Math.max(1, total(result.statuses))) / 1000
    );
    const stats = await sim.command("stats");
    cells.push({
      target,
      topic,
      latencyMs,
      variant,
      bodyBytes: body.length,
      ...result,
      simRequests: stats.byVerb as Record<string, number>,
      cpuMsPerRequest: { server, sim: simCpu, loadGenerator },
    });
    context.progress(
      `publish ${target}/${topic} ${variant}, latency ${latencyMs} ms, ${concurrency} callers: ` +
        `${result.perSecond}/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ` +
        `CPU ms/request: server ${server}, sim ${simCpu}, load ${loadGenerator}` +
        (result.errors ? `, ${result.errors} errors (${result.firstError})` : ""),
    );
  };

  try {
    if (upstream) {
      // kubectl's first run fills its discovery cache; later runs read it, as in a long-lived
      // upstream container.
      const warm = await fetch(`${base(upstream.ready.port)}/publish/job`, {
        method: "POST",
        body: PUBLISH.body,
      });
      await warm.body?.cancel();
    }
    for (const latencyMs of LATENCIES) {
      await sim.command(`latency ${latencyMs}`);
      for (const c of CONCURRENCY) {
        if (latencyMs === 0) {
          await measure("floor-bare", "job", 0, c, `${base(bare.ready.port)}/`, fast);
        }
        await measure("floor-proxy", "job", latencyMs, c, `${base(proxy.ready.port)}/`, fast);
        await measure(
          "router",
          "job",
          latencyMs,
          c,
          `${router.url}/publish/job${PUBLISH.query}`,
          fast,
        );
        await measure(
          "floor-proxy",
          "three",
          latencyMs,
          c,
          `${base(proxy.ready.port)}/?hops=3`,
          fast,
        );
        await measure(
          "router",
          "three",
          latencyMs,
          c,
          `${router.url}/publish/three${PUBLISH.query}`,
          fast,
        );
        if (upstream) {
          for (const topic of ["job", "three"] as const) {
            await measure(
              "upstream",
              topic,
              latencyMs,
              c,
              `${base(upstream.ready.port)}/publish/${topic}${PUBLISH.query}`,
              slow,
            );
          }
        }
      }
    }
    const routerJob = `${router.url}/publish/job${PUBLISH.query}`;
    // Paced below saturation: the latency the router adds when CPU is not the bottleneck.
    for (const latencyMs of LATENCIES) {
      await sim.command(`latency ${latencyMs}`);
      await measure(
        "floor-proxy",
        "job",
        latencyMs,
        16,
        `${base(proxy.ready.port)}/`,
        fast,
        "paced",
      );
      await measure("router", "job", latencyMs, 16, routerJob, fast, "paced");
    }
    // A larger message: the Job sent to the API server grows past 1 KB (see transport.ts).
    await sim.command("latency 0");
    for (const c of [1, 16]) {
      const proxyUrl = `${base(proxy.ready.port)}/`;
      await measure("floor-proxy", "job", 0, c, proxyUrl, fast, "large-message");
      await measure("router", "job", 0, c, routerJob, fast, "large-message");
    }
    const pid = findChild("main.ts");
    return {
      cells,
      routerMemory: pid ? memoryOf(pid) : { rssMB: NaN, peakRssMB: NaN },
      ...(kubectl ? { kubectl } : { upstreamSkipped: "kubectl is not on PATH" }),
    };
  } finally {
    await Promise.all([router.stop(), bare.stop(), proxy.stop(), upstream?.stop()]);
  }
}

function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
