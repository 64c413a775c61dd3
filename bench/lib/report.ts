/**
 * Turns benchmark results into Markdown tables and the list of targets met or missed.
 * @module
 */

import type { MicroResult } from "./deno_bench.ts";
import type { FanoutResult } from "../fanout.ts";
import type { FootprintResult, IdleResult, RssProbe } from "../footprint.ts";
import {
  findCell,
  PACED_PER_SECOND,
  type PublishCell,
  type PublishResults,
  type Transport,
} from "../publish.ts";
import type { LargeFileResult, SyncResult } from "../sync.ts";
import type { TransportRow } from "../transport.ts";
import type { Distribution } from "./stats.ts";

/** Everything one `run.ts` run measured. */
export interface Results {
  date: string;
  command: string;
  machine: Record<string, string | number>;
  quick: boolean;
  seconds?: number;
  publish?: PublishResults;
  sync?: SyncResult[];
  largeFile?: LargeFileResult;
  footprint?: { starts: FootprintResult[]; probes: RssProbe[]; idle?: IdleResult[] };
  micro?: MicroResult[];
  webhook?: MicroResult[];
  transport?: TransportRow[];
  fanout?: FanoutResult;
  errors: Record<string, string>;
}

/** One target and how it went. */
export interface Verdict {
  target: string;
  measured: string;
  met: boolean | null;
}

const f = (value: number, digits = 1) =>
  Number.isFinite(value)
    ? value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 })
    : "–";

function table(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

function cell(
  cells: PublishCell[],
  target: PublishCell["target"],
  topic: string,
  latencyMs: number,
  concurrency: number,
  variant: PublishCell["variant"] = "closed",
  transport: Transport = "https",
): PublishCell | undefined {
  return findCell(cells, {
    target,
    topic: topic as PublishCell["topic"],
    latencyMs,
    concurrency,
    variant,
    transport,
  });
}

/** Router-added latency: the router's percentile minus the one-hop proxy's, same cell. */
export function addedLatency(
  cells: PublishCell[],
  topic: string,
  latencyMs: number,
  concurrency: number,
  variant: PublishCell["variant"] = "closed",
  transport: Transport = "https",
): { p50: number; p99: number } | undefined {
  const router = cell(cells, "router", topic, latencyMs, concurrency, variant, transport);
  const proxy = cell(cells, "floor-proxy", topic, latencyMs, concurrency, variant, transport);
  if (!router || !proxy) return undefined;
  return { p50: router.p50Ms - proxy.p50Ms, p99: router.p99Ms - proxy.p99Ms };
}

const rate = (c: PublishCell | undefined, bold = false) =>
  c
    ? `${bold ? "**" : ""}${f(c.perSecond, 0)}${bold ? "**" : ""} (${f(c.p50Ms, 2)} / ${
      f(c.p99Ms, 2)
    })`
    : "–";

/** The publish tables over HTTPS, one per topic. */
export function publishTables(results: PublishResults): string {
  const cells = results.cells.filter((c) => c.transport !== "http");
  const latencies = [...new Set(cells.map((c) => c.latencyMs))];
  const concurrencies = [...new Set(cells.map((c) => c.concurrency))];
  const out: string[] = [];
  for (const topic of ["job", "three"]) {
    const rows: (string | number)[][] = [];
    for (const latencyMs of latencies) {
      for (const c of concurrencies) {
        const bare = cell(cells, "floor-bare", "job", 0, c);
        const proxy = cell(cells, "floor-proxy", topic, latencyMs, c);
        const router = cell(cells, "router", topic, latencyMs, c);
        const kubectl = cell(cells, "upstream", topic, latencyMs, c);
        const added = addedLatency(cells, topic, latencyMs, c);
        rows.push([
          `${latencyMs} ms`,
          c,
          latencyMs === 0 && bare ? f(bare.perSecond, 0) : "",
          rate(proxy),
          rate(router, true),
          router && proxy ? `${f((100 * router.perSecond) / proxy.perSecond, 0)} %` : "–",
          kubectl
            ? `${f(kubectl.perSecond, 1)} (${f(kubectl.p50Ms, 0)} / ${f(kubectl.p99Ms, 0)})`
            : "–",
          router && kubectl ? `${f(router.perSecond / kubectl.perSecond, 0)}×` : "–",
          added ? `${f(added.p50, 2)} / ${f(added.p99, 2)}` : "–",
          router ? router.errors : "–",
        ]);
      }
    }
    const hops = topic === "job" ? "one-hop" : "three-hop";
    out.push(
      `**Topic \`${topic}\`** (${topic === "job" ? "one Job" : "a ConfigMap and two Jobs"})\n\n` +
        table([
          "sim latency",
          "callers",
          "bare 202 /s",
          `${hops} proxy /s (p50 / p99 ms)`,
          "router /s (p50 / p99 ms)",
          "router ÷ proxy",
          "kubectl /s (p50 / p99 ms)",
          "router ÷ kubectl",
          "router-added p50 / p99 ms",
          "router errors",
        ], rows),
    );
  }
  return out.join("\n\n");
}

/** Issue 19's targets: router ÷ one-hop proxy in CPU per publish and in throughput. */
export const RATIO_TARGETS = { cpu: 1.25, throughputAt16: 0.85 };

/**
 * Router against the one-hop proxy on both servers, per transport and concurrency (one Job,
 * simulator answering at once): throughput, CPU per publish of each, the ratios with their
 * targets, and how much of the CPU gap the router's own server (its limits kept around Deno's
 * server, `serve_native.ts`) explains.
 */
export function proxyComparisonTable(results: PublishResults): string {
  const rows = results.ratios.map((r) => {
    const where = { topic: "job", latencyMs: 0, concurrency: r.concurrency } as const;
    const get = (target: PublishCell["target"]) =>
      findCell(results.cells, { ...where, target, transport: r.transport });
    const [bare, bareOwn, proxy, proxyOwn, router] = [
      get("floor-bare"),
      get("floor-bare-own"),
      get("floor-proxy"),
      get("floor-proxy-own"),
      get("router"),
    ];
    const cpu = (c: PublishCell | undefined) => c ? f(c.cpuMsPerRequest.server, 3) : "–";
    const at16 = r.concurrency === 16;
    return [
      r.transport.toUpperCase(),
      r.concurrency,
      `${f(bare?.perSecond ?? NaN, 0)} / ${f(bareOwn?.perSecond ?? NaN, 0)}`,
      `${cpu(bare)} / ${cpu(bareOwn)}`,
      `${f(proxy?.perSecond ?? NaN, 0)} / ${f(proxyOwn?.perSecond ?? NaN, 0)}`,
      `${cpu(proxy)} / ${cpu(proxyOwn)}`,
      `**${f(router?.perSecond ?? NaN, 0)}**`,
      `**${cpu(router)}**`,
      `**${f(r.cpu, 2)}×** (${f(r.cpuVsOwnServerProxy, 2)}×)`,
      r.cpu <= RATIO_TARGETS.cpu ? "met" : "**missed**",
      `${f(100 * r.serverShareOfGap, 0)} %`,
      `**${f(100 * r.throughput, 0)} %**`,
      at16 ? (r.throughput >= RATIO_TARGETS.throughputAt16 ? "met" : "**missed**") : "",
    ];
  });
  return table([
    "API server",
    "callers",
    "bare 202 /s (Deno.serve / own server)",
    "bare CPU ms/request (Deno.serve / own server)",
    "proxy /s (Deno.serve / own server)",
    "proxy CPU ms/request (Deno.serve / own server)",
    "router /s",
    "router CPU ms/publish",
    `router ÷ proxy, CPU (÷ own-server proxy); target ≤ ${RATIO_TARGETS.cpu}×`,
    "verdict",
    "share of the router's extra CPU its own server explains",
    `router ÷ proxy, throughput; target ≥ ${100 * RATIO_TARGETS.throughputAt16} % at 16`,
    "verdict",
  ], rows);
}

/** Router and one-hop proxy publishing the larger message. */
export function largeTable(results: PublishResults): string {
  const rows = [1, 16].flatMap((c) => {
    const proxy = cell(results.cells, "floor-proxy", "job", 0, c, "large-message");
    const router = cell(results.cells, "router", "job", 0, c, "large-message");
    if (!proxy || !router) return [];
    return [[
      c,
      rate(proxy),
      rate(router, true),
      `${f((100 * router.perSecond) / proxy.perSecond, 0)} %`,
    ]];
  });
  return table(
    ["callers", "one-hop proxy /s (p50 / p99 ms)", "router /s (p50 / p99 ms)", "router ÷ proxy"],
    rows,
  );
}

/** Issue 19's target for the latency the router adds, paced below saturation. */
export const ADDED_LATENCY_TARGET = { p50Ms: 1, p99Ms: 5 };

/** Router and one-hop proxy at 16 callers, paced below saturation, per transport. */
export function pacedTable(results: PublishResults): string {
  const transports = [...new Set(results.cells.map((c) => c.transport))];
  const latencies = [...new Set(results.cells.map((c) => c.latencyMs))];
  const rows = transports.flatMap((transport) =>
    latencies.flatMap((latencyMs) => {
      const proxy = cell(results.cells, "floor-proxy", "job", latencyMs, 16, "paced", transport);
      const router = cell(results.cells, "router", "job", latencyMs, 16, "paced", transport);
      const added = addedLatency(results.cells, "job", latencyMs, 16, "paced", transport);
      if (!proxy || !router || !added) return [];
      const met = added.p50 < ADDED_LATENCY_TARGET.p50Ms && added.p99 < ADDED_LATENCY_TARGET.p99Ms;
      return [[
        transport.toUpperCase(),
        `${latencyMs} ms`,
        rate(proxy),
        rate(router),
        `**${f(added.p50, 2)} / ${f(added.p99, 2)}**`,
        met ? "met" : "**missed**",
      ]];
    })
  );
  return table([
    "API server",
    "sim latency",
    "one-hop proxy /s (p50 / p99 ms)",
    "router /s (p50 / p99 ms)",
    `router-added p50 / p99 ms; target < ${ADDED_LATENCY_TARGET.p50Ms} / < ${ADDED_LATENCY_TARGET.p99Ms}`,
    "verdict",
  ], rows);
}

/** Median time of one API request by body size, per client and server. */
export function transportTable(rows: TransportRow[]): string {
  const sizes = Object.keys(rows[0]?.medianMs ?? {});
  return table(
    ["client", "server", ...sizes.map((b) => `${f(Number(b), 0)} B body, ms`)],
    rows.map((r) => [r.client, r.server, ...sizes.map((b) => f(r.medianMs[b], 1))]),
  );
}

/** CPU per request of each process, by target and transport (simulator answering at once). */
export function cpuTable(results: PublishResults): string {
  const rows = results.cells.filter((c) => c.latencyMs === 0 && c.variant === "closed").map((
    c,
  ) => [
    c.transport === "none" ? "–" : c.transport.toUpperCase(),
    c.target,
    c.topic,
    c.concurrency,
    c.answered,
    f(c.cpuMsPerRequest.server, 3),
    f(c.cpuMsPerRequest.sim, 3),
    f(c.cpuMsPerRequest.loadGenerator, 3),
    f(c.cpuMsPerRequest.server + c.cpuMsPerRequest.sim + c.cpuMsPerRequest.loadGenerator, 3),
    Object.entries(c.simRequests).map(([verb, n]) => `${verb} ${n}`).join(", "),
  ]);
  return table([
    "API server",
    "target",
    "topic",
    "callers",
    "requests answered",
    "server CPU ms/request",
    "simulator CPU ms/request",
    "load generator CPU ms/request",
    "all three",
    "API requests seen",
  ], rows);
}

/** The sync table. */
export function syncTable(sync: SyncResult[]): string {
  return table(
    [
      "manifests",
      "first sync (fetch + build) ms",
      "peak RSS MB",
      "build from cache, compiling all, ms (again, same process)",
      "peak RSS MB",
      "build with compiled templates kept in DATA_DIR, ms",
      "peak RSS MB",
      "no-change poll: requests, bytes, median / max ms",
    ],
    sync.map((s) => {
      const cold = s.cold as Record<string, number> & { poll: Record<string, number> };
      const warm = s.warm as Record<string, number>;
      const stored = (s.stored ?? {}) as Record<string, number>;
      return [
        f(s.manifests, 0),
        f(cold.firstSyncMs, 0),
        f(cold.peakRssMB),
        `**${f(warm.buildMs, 0)}** (${f(warm.rebuildMs, 0)})`,
        `**${f(warm.peakRssMB)}**`,
        `**${f(stored.buildMs, 0)}**`,
        `**${f(stored.peakRssMB)}**`,
        `${cold.poll.requests}, ${f(cold.poll.bytes, 0)} B, ${f(cold.poll.medianMs, 1)} / ${
          f(cold.poll.maxMs, 1)
        }`,
      ];
    }),
  );
}

/** What a fetch after a push downloads, per repository size. */
export function fetchTable(sync: SyncResult[]): string {
  const cell = (r: Record<string, unknown> | undefined) => {
    const x = (r ?? {}) as Record<string, number>;
    return `${f(x.bytes, 0)} B, ${f(x.objects, 0)} objects, ${x.requests} requests, ${
      f(x.fetchMs, 0)
    } ms`;
  };
  return table(
    [
      "manifests",
      "first sync: bytes, requests",
      "after a one-file push",
      "after a force-push rewriting the last commit",
    ],
    sync.map((s) => {
      const cold = s.cold as Record<string, number>;
      return [
        f(s.manifests, 0),
        `${f(cold.firstSyncBytes, 0)} B, ${cold.firstSyncRequests}`,
        cell(s.push),
        cell(s.forcePush),
      ];
    }),
  );
}

/** The first sync of a repository holding a large file. */
export function largeFileTable(large: LargeFileResult): string {
  const row = (label: string, r: Record<string, unknown>) => [
    label,
    String(r.error ?? `served ${String(r.revision).slice(0, 12)}`),
    `${f(r.bytes as number, 0)} B`,
    `${f(r.syncMs as number, 0)} ms`,
    `**${f(r.peakRssMB as number)}**`,
  ];
  return table(
    ["caps", "outcome", "downloaded", "sync", "peak RSS MB"],
    [row("defaults", large.defaults), row("raised to 1 GiB", large.raised)],
  );
}

/** The footprint tables. */
export function footprintTables(footprint: NonNullable<Results["footprint"]>): string {
  const starts = table(
    [
      "repository",
      "empty DATA_DIR: ready ms",
      "warm DATA_DIR: listening ms",
      "warm DATA_DIR: ready ms (median)",
      "idle RSS MB (warm)",
      "peak RSS MB (warm)",
    ],
    footprint.starts.map((s) => [
      `${s.repo} (${f(s.manifests, 0)} manifests)`,
      f(s.cold.readyMs, 0),
      f(s.warm[0].listeningMs, 0),
      `**${f(s.warmMedianReadyMs, 0)}**`,
      `**${f(s.warm[0].idleRssMB)}**`,
      f(s.warm[0].peakRssMB),
    ]),
  );
  const probes = table(
    ["idle Deno process", "RSS MB", "JS heap used MB"],
    footprint.probes.map((p) => [p.label, f(p.rssMB), f(p.heapUsedMB)]),
  );
  const idle = table(
    ["login", "templates", "idle RSS MB (2 s)", "10 s later MB", "peak RSS MB"],
    (footprint.idle ?? []).map((r) => [
      r.login,
      r.templates === "large" ? "with a 12 KB template (template worker)" : "small",
      `**${f(r.idleRssMB)}**`,
      `**${f(r.laterRssMB)}**`,
      f(r.peakRssMB),
    ]),
  );
  return `${starts}\n\n${idle}\n\n${probes}`;
}

/** The fan-out tables: time to serve a push on every replica, its floors, and where it goes. */
export function fanoutTables(fanout: FanoutResult): string {
  const head = ["", "count", "p50 ms", "p95 ms", "p99 ms", "max ms"];
  const row = (label: string, d: Distribution, bold = false) => {
    const b = (text: string) => (bold ? `**${text}**` : text);
    return [label, d.count, f(d.p50Ms, 0), f(d.p95Ms, 0), b(f(d.p99Ms, 0)), f(d.maxMs, 0)];
  };
  const times = table(head, [
    row("every replica serves it (the last of the three, per push)", fanout.lastOfThree, true),
    row("any replica (all pushes × replicas)", fanout.overall),
    ...fanout.perReplica.map((r) =>
      row(`${r.name} (received ${r.received} of the deliveries)`, r.afterAnswer)
    ),
    row("the replica that received the delivery (floor: local follow)", fanout.receiver),
    row("the two that did not (fan-out)", fanout.followers),
    row("floor: `GET /refresh` on one replica, request to answer", fanout.refresh),
    row("the delivery itself, sent to answered", fanout.deliveryAnswer),
  ]);
  const b = fanout.breakdown;
  const parts = table(head, [
    row("request recorded → delivery answered", b.recordToAnswer),
    row("request recorded → a follower's sync starts (watch)", b.recordToFollowerSync),
    row("a follower's sync (branch head, fetch, build)", b.followerSync),
    row("the receiver's sync", b.receiverSync),
    row("a follower's sync ends → its /readyz says so", b.syncEndToSeen),
  ]);
  const p = fanout.phases;
  const phases = table(head, [
    row("ask the branch head (one request)", p.headMs),
    row("fetch the commit", p.fetchMs),
    row("build the index (unchanged blobs reused)", p.buildMs),
    row("record the serving revision", p.rememberMs),
    row("the whole sync", p.totalMs),
    row("then, in the background: pruning the cache", p.pruneMs),
  ]);
  return `Times from the delivery's answer (${fanout.beforeAnswer} replica times ended before ` +
    `it and count as 0):\n\n${times}\n\nWhere a follower's time goes:\n\n${parts}\n\n` +
    `CPU of the three routers over the measured rounds: ${f(fanout.cpu.msPerSync, 0)} ms per ` +
    `index update (${fanout.cpu.syncs} updates), ${f(fanout.cpu.msPerPush, 0)} ms per round ` +
    `(a /refresh on one replica and a delivery all three sync).\n\n` +
    `One sync after a one-file push, alone in its own process (bench/sync_phases.ts; ${p.packs} ` +
    `packs in its cache at the end):\n\n${phases}`;
}

/** A table of `Deno.bench` results. */
export function microTable(micro: MicroResult[]): string {
  return table(
    ["benchmark", "iterations", "avg ms", "min ms", "p99 ms", "max ms"],
    micro.map((m) => [m.name, m.n, f(m.avgMs, 3), f(m.minMs, 3), f(m.p99Ms, 3), f(m.maxMs, 3)]),
  );
}

/** Each target of issue #8 with what was measured. */
export function verdicts(results: Results): Verdict[] {
  const out: Verdict[] = [];
  const cells = results.publish?.cells ?? [];
  if (cells.length) {
    const ratios = cells.filter((c) =>
      c.target === "router" && c.topic === "job" && c.variant === "closed"
    )
      .map((c) => {
        const proxy = cell(
          cells,
          "floor-proxy",
          "job",
          c.latencyMs,
          c.concurrency,
          "closed",
          c.transport,
        )!;
        return { c, ratio: c.perSecond / proxy.perSecond };
      });
    const worst = ratios.reduce((a, b) => (b.ratio < a.ratio ? b : a));
    out.push({
      target:
        "publish throughput ≥ 70 % of the one-hop proxy (one-Job topic, every cell, HTTPS then HTTP)",
      measured: ratios.map((r) => `${f(100 * r.ratio, 0)} %`).join(", ") +
        ` (lowest: ${r0(worst.c)})`,
      met: worst.ratio >= 0.7,
    });
    const vsKubectl = [0, 5].flatMap((latencyMs) => {
      const router = cell(cells, "router", "job", latencyMs, 16);
      const kubectl = cell(cells, "upstream", "job", latencyMs, 16);
      return router && kubectl ? [router.perSecond / kubectl.perSecond] : [];
    });
    const router16 = cell(cells, "router", "job", 0, 16);
    const kubectl16 = cell(cells, "upstream", "job", 0, 16);
    const cpu = router16 && kubectl16
      ? `; CPU per publish ${f(router16.cpuMsPerRequest.server, 2)} ms vs ${
        f(kubectl16.cpuMsPerRequest.server, 0)
      } ms (${f(kubectl16.cpuMsPerRequest.server / router16.cpuMsPerRequest.server, 0)}× less)`
      : "";
    out.push({
      target: "≥ 100× kubectl-per-manifest at 16 callers (one-Job topic)",
      measured: vsKubectl.length
        ? vsKubectl.map((x) => `${f(x, 0)}×`).join(" (sim +0 ms), ") + " (sim +5 ms)" + cpu
        : "not measured (no kubectl)",
      met: vsKubectl.length ? Math.min(...vsKubectl) >= 100 : null,
    });
    for (const variant of ["closed", "paced"] as const) {
      const added = (["https", "http"] as const).flatMap((transport) =>
        [0, 5].flatMap((l) => {
          const a = addedLatency(cells, "job", l, 16, variant, transport);
          return a ? [{ l, transport, ...a }] : [];
        })
      );
      if (added.length === 0) continue;
      out.push({
        target: `router-added latency at 16 callers: p50 < 1 ms, p99 < 5 ms (${
          variant === "closed" ? "back to back, CPU saturated" : "paced below saturation"
        })`,
        measured: added.map((a) =>
          `${a.transport.toUpperCase()}, sim +${a.l} ms: p50 ${f(a.p50, 2)} ms, p99 ${
            f(a.p99, 2)
          } ms`
        ).join("; "),
        met: added.every((a) =>
          a.p50 < ADDED_LATENCY_TARGET.p50Ms && a.p99 < ADDED_LATENCY_TARGET.p99Ms
        ),
      });
    }
    for (const transport of ["https", "http"] as const) {
      const ratios = results.publish!.ratios.filter((r) => r.transport === transport);
      if (ratios.length === 0) continue;
      const name = transport.toUpperCase();
      out.push({
        target: `router CPU per publish ≤ ${RATIO_TARGETS.cpu}× the one-hop proxy's ` +
          `(${name} to the API server, one Job, 1 / 16 / 64 callers)`,
        measured: ratios.map((r) =>
          `${f(r.cpu, 2)}× (${r.concurrency}; ${
            f(r.cpuVsOwnServerProxy, 2)
          }× the own-server proxy's)`
        ).join(", "),
        met: ratios.every((r) => r.cpu <= RATIO_TARGETS.cpu),
      });
      const at16 = ratios.find((r) => r.concurrency === 16);
      if (at16) {
        out.push({
          target: `router throughput ≥ ${100 * RATIO_TARGETS.throughputAt16} % of the one-hop ` +
            `proxy's at 16 callers (${name}, one Job)`,
          measured: `${f(100 * at16.throughput, 0)} % (1 caller: ${
            f(100 * (ratios.find((r) => r.concurrency === 1)?.throughput ?? NaN), 0)
          } %, 64: ${f(100 * (ratios.find((r) => r.concurrency === 64)?.throughput ?? NaN), 0)} %)`,
          met: at16.throughput >= RATIO_TARGETS.throughputAt16,
        });
      }
    }
  }
  const big = results.sync?.find((s) => s.manifests === 10_000);
  if (big) {
    const warm = big.warm as Record<string, number>;
    const stored = (big.stored ?? {}) as Record<string, number>;
    out.push({
      target: "index build of 10,000 manifests < 2 s, peak RSS < 200 MB",
      measured: `compiling every template: ${f(warm.buildMs, 0)} ms, peak RSS ` +
        `${f(warm.peakRssMB)} MB; with the templates kept in DATA_DIR (a warm restart): ` +
        `${f(stored.buildMs, 0)} ms, ${f(stored.peakRssMB)} MB; first sync ` +
        `${f((big.cold as Record<string, number>).firstSyncMs, 0)} ms`,
      met: warm.buildMs < 2000 && warm.peakRssMB < 200,
    });
  }
  if (results.sync?.length) {
    const polls = results.sync.map((s) => (s.cold as { poll: Record<string, number> }).poll);
    out.push({
      target: "no-change poll: one request, < 10 ms",
      measured: `${Math.max(...polls.map((p) => p.requests))} request, median ` +
        polls.map((p) => `${f(p.medianMs, 1)}`).join(" / ") + " ms (10 / 1,000 / 10,000 " +
        `manifests), max ${f(Math.max(...polls.map((p) => p.maxMs)), 1)} ms`,
      met: polls.every((p) => p.requests === 1 && p.medianMs < 10),
    });
  }
  const pushed = big?.push as Record<string, number> | undefined;
  if (pushed) {
    const cold = big!.cold as Record<string, number>;
    out.push({
      target: "fetch after a one-file push at 10,000 manifests: what changed, not the tree",
      measured: `${f(pushed.bytes, 0)} B, ${f(pushed.objects, 0)} objects (first sync ` +
        `${f(cold.firstSyncBytes, 0)} B)`,
      met: pushed.objects < 10 && pushed.bytes < cold.firstSyncBytes / 100,
    });
  }
  if (results.largeFile) {
    const d = results.largeFile.defaults as Record<string, number>;
    out.push({
      target: `a ${results.largeFile.fileMB} MB file in the repository: refused by default, ` +
        "peak RSS < 150 MB",
      measured: `${d.error ? "refused" : "accepted"}, peak RSS ${f(d.peakRssMB)} MB`,
      met: Boolean(d.error) && d.peakRssMB < 150,
    });
  }
  const webhook = results.webhook?.find((w) => /\b1000 manifests/.test(w.name));
  out.push({
    target: "push → publishable < 300 ms at 1,000 manifests (webhook_bench.ts)",
    measured: webhook
      ? `${f(webhook.avgMs, 0)} ms mean (${f(webhook.minMs, 0)}–${f(webhook.maxMs, 0)})`
      : "not measured",
    met: webhook ? webhook.avgMs < 300 : null,
  });
  const fanout = results.fanout;
  if (fanout) {
    out.push({
      target: `after the webhook's answer, every one of ${fanout.replicas} replicas serves the ` +
        `pushed commit within 1 s (p99), ${f(fanout.manifests, 0)} manifests`,
      measured:
        `p99 ${f(fanout.lastOfThree.p99Ms, 0)} ms, p50 ${
          f(fanout.lastOfThree.p50Ms, 0)
        } ms over ${fanout.pushes} pushes (local follow p99 ${f(fanout.receiver.p99Ms, 0)} ms; ` +
        `/refresh p99 ${f(fanout.refresh.p99Ms, 0)} ms)`,
      met: fanout.lastOfThree.p99Ms < 1000,
    });
  }
  const small = results.footprint?.starts.find((s) => s.repo === "publish");
  const idle = (results.footprint?.idle ?? []).filter((r) => r.templates === "small");
  if (idle.length > 0) {
    out.push({
      target: "idle RSS < 100 MB with a kubeconfig file as well as in a pod (12 s after ready)",
      measured: idle.map((r) => `${r.login} ${f(r.laterRssMB)} MB`).join(", ") +
        ` (2 s after ready: ${idle.map((r) => f(r.idleRssMB)).join(", ")} MB; bare Deno ${
          f(results.footprint!.probes[0].rssMB)
        } MB)`,
      met: idle.every((r) => r.laterRssMB < 100),
    });
  }
  if (small) {
    out.push({
      target: "ready < 1 s after start with a warm DATA_DIR",
      measured: results.footprint!.starts.map((s) =>
        `${f(s.warmMedianReadyMs, 0)} ms (${f(s.manifests, 0)} manifests)`
      ).join(", "),
      met: small.warmMedianReadyMs < 1000,
    });
  }
  return out;
}

function r0(c: PublishCell): string {
  return `${c.concurrency} callers, sim +${c.latencyMs} ms`;
}

/** The targets as a table. */
export function verdictTable(list: Verdict[]): string {
  return table(
    ["target", "measured", "verdict"],
    list.map((v) => [v.target, v.measured, v.met === null ? "–" : v.met ? "met" : "**missed**"]),
  );
}

/** The whole report. */
export function markdown(results: Results): string {
  const parts = [
    `Machine: ${
      Object.entries(results.machine).map(([k, v]) => `${k} ${v}`).join(", ")
    }. Date: ${results.date}. Command: \`${results.command}\`${
      results.seconds ? ` (${f(results.seconds, 0)} s)` : ""
    }.`,
    "### Targets\n\n" + verdictTable(verdicts(results)),
  ];
  if (results.publish) {
    parts.push(
      "### Publish (HTTPS to the API server)\n\n" + publishTables(results.publish),
      "### Router ÷ one-hop proxy, HTTPS and HTTP, CPU per request of each process " +
        "(issue 19; one Job, simulator answering at once)\n\n" +
        proxyComparisonTable(results.publish),
      `### 16 callers paced at ${PACED_PER_SECOND} publishes/s, below saturation\n\n` +
        pacedTable(results.publish),
      `### A larger message (${
        results.publish.cells.find((c) => c.variant === "large-message")?.bodyBytes ?? "–"
      } B body; the Job sent is about 2.9 KB), HTTPS, simulator answering at once\n\n` +
        largeTable(results.publish),
      "### CPU per request of each process (simulator answering at once)\n\n" +
        cpuTable(results.publish),
    );
  }
  if (results.transport?.length) {
    parts.push(
      "### One API request by body size (bench/transport.ts)\n\n" +
        transportTable(results.transport),
    );
  }
  if (results.sync) parts.push("### Sync\n\n" + syncTable(results.sync));
  if (results.sync?.length) {
    parts.push("### Fetch after a push\n\n" + fetchTable(results.sync));
  }
  if (results.largeFile) {
    parts.push(
      `### A repository holding a ${results.largeFile.fileMB} MB file\n\n` +
        largeFileTable(results.largeFile),
    );
  }
  if (results.footprint) parts.push("### Footprint\n\n" + footprintTables(results.footprint));
  if (results.micro?.length) {
    parts.push("### In-process micro benchmarks\n\n" + microTable(results.micro));
  }
  if (results.webhook?.length) {
    parts.push("### Webhook (bench/webhook_bench.ts)\n\n" + microTable(results.webhook));
  }
  if (results.fanout) {
    parts.push(
      `### Push fan-out to ${results.fanout.replicas} replicas, ${
        f(results.fanout.manifests, 0)
      } manifests (bench/fanout.ts; load average ${results.fanout.loadAverageAtStart} at its ` +
        `start, ${results.fanout.loadAverageAtEnd} at its end)\n\n` +
        fanoutTables(results.fanout),
    );
  }
  for (const [section, error] of Object.entries(results.errors)) {
    parts.push(`### ${section}: failed\n\n\`\`\`\n${error}\n\`\`\``);
  }
  return parts.join("\n\n") + "\n";
}
