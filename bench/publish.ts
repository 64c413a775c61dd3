/**
 * Publish throughput, latency and CPU, side by side in one run: the router (its own process, as
 * `deno task start` runs it), the floors (a bare server answering 202, and a one-hop proxy
 * making the same API request a publish makes, each on `Deno.serve` and on the router's own
 * server, `serveNative()` with its limits) and the upstream approach (`Mustache.render` + `kubectl apply -f -` per
 * manifest), at 1, 16 and 64 callers, with the simulator answering at once and with 5 ms of
 * added latency, over HTTPS and plain HTTP to the API server.
 *
 * Every cell measures the CPU time (utime + stime from `/proc/<pid>/stat`) of each process
 * involved, the server (router, floor or upstream), the API simulator and the load generator
 * (its own process, `load_child.ts`), over the same window, divided by the requests answered
 * in it.
 *
 * Per transport, one router runs (started on a simulator cleared of the previous router's Jobs,
 * since the router lists and watches its Jobs), next to both proxy floors. HTTPS runs the whole
 * matrix; plain HTTP runs the one-Job topic at once-answering simulator and the paced cells
 * (the comparison issue 19 asks for). `kubectl` runs over HTTPS only: it sends no credentials
 * to a plain-HTTP server.
 * @module
 */

import { RouterProcess } from "../tests/support/router_process.ts";
import { onPath } from "../tests/support/on_path.ts";
import { BenchChild } from "./lib/child.ts";
import { type BenchContext, routerEnv } from "./lib/context.ts";
import type { LoadOptions, LoadResult } from "./lib/load.ts";
import { cpuMsOf, findChild, type Memory, memoryOf } from "./lib/proc.ts";
import { FILES, PUBLISH } from "./lib/templates.ts";

/** How a target reaches the API server (`none`: it does not). */
export type Transport = "https" | "http" | "none";

/** What served the publishes of a cell. */
export type PublishTarget =
  | "router"
  | "floor-bare"
  | "floor-bare-own"
  | "floor-proxy"
  | "floor-proxy-own"
  | "upstream";

/** One measured cell of the matrix. */
export interface PublishCell extends LoadResult {
  target: PublishTarget;
  transport: Transport;
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
  /**
   * CPU time of each process over the cell (warm-up included), in ms per answered request
   * (`answered`). `server`: the router, floor or upstream server (with the `kubectl` processes
   * it waited for).
   */
  cpuMsPerRequest: { server: number; sim: number; loadGenerator: number };
}

/** Router ÷ one-hop proxy for one transport and concurrency (one-Job topic, sim at once). */
export interface PublishRatio {
  transport: Transport;
  concurrency: number;
  /** Router CPU per publish ÷ the `Deno.serve` proxy's. */
  cpu: number;
  /** Router CPU per publish ÷ the own-server proxy's (what is left after the server choice). */
  cpuVsOwnServerProxy: number;
  /**
   * The part of the router's extra CPU per publish over the `Deno.serve` proxy that the
   * own-server proxy pays too: (own-server proxy − proxy) ÷ (router − proxy).
   */
  serverShareOfGap: number;
  /** Router publishes per second ÷ the proxy's. */
  throughput: number;
}

/** Everything the publish section measured. */
export interface PublishResults {
  cells: PublishCell[];
  /** Router ÷ proxy, computed from the cells (the tables' numbers). */
  ratios: PublishRatio[];
  /** Router process memory after all its publishing, per transport. */
  routerMemory: Partial<Record<Transport, Memory>>;
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
export const TRANSPORTS: Transport[] = ["https", "http"];

/** Runs the publish matrix. */
export async function runPublishBench(context: BenchContext): Promise<PublishResults> {
  const { sim, quick } = context;
  await context.git.createRepo("publish", { files: FILES });
  const fast = {
    warmupMs: quick ? 200 : 500,
    durationMs: quick ? 800 : 2500,
    maxRequests: 200_000,
  };
  // Paced cells: a p99 of 400/s needs more than the ~1,000 publishes of 2.5 s to be more than
  // the tenth-slowest publish of a window.
  const steady = { ...fast, durationMs: quick ? 1000 : 8000 };
  const slow = { warmupMs: 0, durationMs: quick ? 1000 : 3000, maxRequests: 400, graceMs: 60_000 };
  const base = (port: unknown) => `http://127.0.0.1:${port}`;
  const cells: PublishCell[] = [];
  const routerMemory: PublishResults["routerMemory"] = {};
  const kubectl = onPath("kubectl");
  const load = await BenchChild.start("load_child.ts");
  const bare = await BenchChild.start("floor_server.ts", ["bare", "deno"]);
  const bareOwn = await BenchChild.start("floor_server.ts", ["bare", "native"]);
  const upstream = kubectl
    ? await BenchChild.start("upstream_server.ts", [
      kubectl,
      String(sim.ready.kubeconfig),
      await Deno.makeTempDir({ dir: context.work, prefix: "kubectl-" }),
    ])
    : undefined;

  const measure = async (
    cell: Pick<PublishCell, "target" | "transport" | "topic" | "latencyMs"> & {
      variant?: PublishCell["variant"];
    },
    pid: number,
    concurrency: number,
    url: string,
    bounds: typeof fast | typeof slow,
  ) => {
    const variant = cell.variant ?? "closed";
    const body = variant === "large-message" ? LARGE_BODY : PUBLISH.body;
    await sim.command("stats"); // clear the request log
    const cpu = () => [cpuMsOf(pid), cpuMsOf(sim.pid), cpuMsOf(load.pid)];
    const options: LoadOptions = {
      url,
      body,
      headers: PUBLISH.headers,
      concurrency,
      ...bounds,
      ...(variant === "paced" ? { ratePerSecond: PACED_PER_SECOND } : {}),
    };
    // The load's own bound (its grace included), and a margin to report it.
    const timeoutMs = bounds.warmupMs + bounds.durationMs +
      ((bounds as { graceMs?: number }).graceMs ?? 30_000) + 30_000;
    const cpuBefore = cpu();
    const result = await load.command(JSON.stringify(options), timeoutMs) as unknown as
      & LoadResult
      & { error?: string };
    const cpuAfter = cpu();
    if (result.error) throw new Error(`the load generator failed: ${result.error}`);
    const [server, simCpu, loadGenerator] = cpuAfter.map((ms, i) =>
      Math.round((1000 * (ms - cpuBefore[i])) / Math.max(1, result.answered)) / 1000
    );
    const stats = await sim.command("stats");
    cells.push({
      ...cell,
      variant,
      bodyBytes: body.length,
      ...result,
      simRequests: stats.byVerb as Record<string, number>,
      cpuMsPerRequest: { server, sim: simCpu, loadGenerator },
    });
    context.progress(
      `publish ${cell.target}/${cell.topic} ${cell.transport} ${variant}, latency ` +
        `${cell.latencyMs} ms, ${concurrency} callers: ${result.perSecond}/s, ` +
        `p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, CPU ms/request: server ${server}, ` +
        `sim ${simCpu}, load ${loadGenerator}` +
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
    for (const transport of TRANSPORTS) {
      const https = transport === "https";
      // Each router lists and caches the Jobs it finds: start each on an empty namespace.
      await sim.command("clear");
      const kubeconfig = String(https ? sim.ready.kubeconfig : sim.ready.httpKubeconfig);
      const simEnv = {
        SIM_URL: String(https ? sim.ready.url : sim.ready.httpUrl),
        SIM_TOKEN: String(sim.ready.token),
        ...(https ? { SIM_CA: String(sim.ready.caFile) } : {}),
      };
      const router = await RouterProcess.start({
        ...routerEnv(context, "publish", `${context.work}/publish-data-${transport}`),
        KUBECONFIG: kubeconfig,
      });
      const proxy = await BenchChild.start("floor_server.ts", ["proxy", "deno"], { env: simEnv });
      const proxyOwn = await BenchChild.start("floor_server.ts", ["proxy", "native"], {
        env: simEnv,
      });
      try {
        await router.waitFor(async () => (await router.call("/readyz")).status === 200, 60_000);
        const routerPid = findChild("main.ts")!;
        const routerJob = `${router.url}/publish/job${PUBLISH.query}`;
        const proxyUrl = `${base(proxy.ready.port)}/`;
        const proxyOwnUrl = `${base(proxyOwn.ready.port)}/`;
        const at = (latencyMs: number, variant?: PublishCell["variant"]) => ({
          transport,
          latencyMs,
          variant,
        });
        // The 5 ms cells show overlap with API latency, a question of HTTPS alone (and not of
        // a smoke run).
        for (const latencyMs of https && !quick ? LATENCIES : [0]) {
          await sim.command(`latency ${latencyMs}`);
          for (const c of CONCURRENCY) {
            const job = { ...at(latencyMs), topic: "job" as const };
            if (latencyMs === 0 && https) {
              const none = { ...job, transport: "none" as const };
              await measure(
                { ...none, target: "floor-bare" },
                bare.pid,
                c,
                base(bare.ready.port),
                fast,
              );
              await measure(
                { ...none, target: "floor-bare-own" },
                bareOwn.pid,
                c,
                base(bareOwn.ready.port),
                fast,
              );
            }
            await measure({ ...job, target: "floor-proxy" }, proxy.pid, c, proxyUrl, fast);
            if (latencyMs === 0) {
              await measure(
                { ...job, target: "floor-proxy-own" },
                proxyOwn.pid,
                c,
                proxyOwnUrl,
                fast,
              );
            }
            await measure({ ...job, target: "router" }, routerPid, c, routerJob, fast);
            if (!https) continue;
            const three = { ...at(latencyMs), topic: "three" as const };
            await measure(
              { ...three, target: "floor-proxy" },
              proxy.pid,
              c,
              `${proxyUrl}?hops=3`,
              fast,
            );
            await measure(
              { ...three, target: "router" },
              routerPid,
              c,
              `${router.url}/publish/three${PUBLISH.query}`,
              fast,
            );
            if (!upstream) continue;
            for (const topic of ["job", "three"] as const) {
              await measure(
                { ...at(latencyMs), topic, target: "upstream" },
                upstream.pid,
                c,
                `${base(upstream.ready.port)}/publish/${topic}${PUBLISH.query}`,
                slow,
              );
            }
          }
        }
        // Paced below saturation: the latency the router adds when CPU is not the bottleneck.
        for (const latencyMs of LATENCIES) {
          await sim.command(`latency ${latencyMs}`);
          const paced = { ...at(latencyMs, "paced"), topic: "job" as const };
          await measure({ ...paced, target: "floor-proxy" }, proxy.pid, 16, proxyUrl, steady);
          await measure({ ...paced, target: "router" }, routerPid, 16, routerJob, steady);
        }
        await sim.command("latency 0");
        if (https) {
          // A larger message: the Job sent to the API server grows past 1 KB (see transport.ts).
          for (const c of [1, 16]) {
            const large = { ...at(0, "large-message"), topic: "job" as const };
            await measure({ ...large, target: "floor-proxy" }, proxy.pid, c, proxyUrl, fast);
            await measure({ ...large, target: "router" }, routerPid, c, routerJob, fast);
          }
        }
        routerMemory[transport] = memoryOf(routerPid);
      } finally {
        await Promise.all([router.stop(), proxy.stop(), proxyOwn.stop()]);
      }
    }
    return {
      cells,
      ratios: publishRatios(cells),
      routerMemory,
      ...(kubectl ? { kubectl } : { upstreamSkipped: "kubectl is not on PATH" }),
    };
  } finally {
    await Promise.all([load.stop(), bare.stop(), bareOwn.stop(), upstream?.stop()]);
  }
}

/** The cell of `target` with these coordinates (closed loop unless `variant` says). */
export function findCell(
  cells: readonly PublishCell[],
  where: Pick<PublishCell, "target" | "topic" | "latencyMs" | "concurrency"> & {
    transport?: Transport;
    variant?: PublishCell["variant"];
  },
): PublishCell | undefined {
  const transport = where.target.startsWith("floor-bare") ? "none" : where.transport ?? "https";
  const variant = where.variant ?? "closed";
  return cells.find((c) =>
    c.target === where.target && c.topic === where.topic && c.latencyMs === where.latencyMs &&
    c.concurrency === where.concurrency && c.variant === variant && c.transport === transport
  );
}

/** Router ÷ one-hop proxy, per transport and concurrency (one Job, simulator at once). */
export function publishRatios(cells: readonly PublishCell[]): PublishRatio[] {
  const out: PublishRatio[] = [];
  for (const transport of TRANSPORTS) {
    for (const concurrency of CONCURRENCY) {
      const where = { topic: "job", latencyMs: 0, concurrency, transport } as const;
      const router = findCell(cells, { ...where, target: "router" });
      const proxy = findCell(cells, { ...where, target: "floor-proxy" });
      const node = findCell(cells, { ...where, target: "floor-proxy-own" });
      if (!router || !proxy) continue;
      const r = router.cpuMsPerRequest.server;
      const p = proxy.cpuMsPerRequest.server;
      const n = node?.cpuMsPerRequest.server ?? NaN;
      out.push({
        transport,
        concurrency,
        cpu: round3(r / p),
        cpuVsOwnServerProxy: round3(r / n),
        serverShareOfGap: round3((n - p) / (r - p)),
        throughput: round3(router.perSecond / proxy.perSecond),
      });
    }
  }
  return out;
}

function round3(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 1000) / 1000 : NaN;
}
