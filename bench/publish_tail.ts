/**
 * Where the router's slow paced publishes come from: the paced cell of `publish.ts` (16 callers
 * at 400 publishes/s, one Job per publish, the simulator answering after `--latency` ms), with
 * the router run with `--trace-gc`, every publish's start and end recorded, and every GC pause
 * placed on the same clock. Prints, per round and target, p50/p99 and, for the router, how many
 * of the slowest 1 % of publishes overlap a GC pause of at least 1 ms, or a mark-compact, against
 * how many of all publishes do (what chance gives).
 *
 * Clocks: a trace-gc line carries ms since the router's isolate started; the router's JSON log
 * lines (one per publish, in the same stdout stream) carry wall-clock times, so each GC line is
 * bounded by the log lines printed around it, and the offset is the tightest of those bounds.
 *
 * A mark-compact's incremental marking (its steps run on the main thread at unknown moments)
 * counts as the period between its start and its final pause.
 *
 * Needs `stdbuf` (coreutils). Run: `deno run -A bench/publish_tail.ts [--latency=5]
 * [--seconds=8] [--rounds=3] [--b=--single-threaded-gc] [--b-tree=folder] [--keep=folder]`
 * (`--b`, `--b-tree`: the V8 flags or the source tree of a second router, run in the same rounds;
 * `--pin=0`: the routers run on that CPU alone, when this process was started on another, as
 * with `taskset -c 1 deno run …`, so they share no core with the simulator or the load; `--keep`: each router's stdout, its log and V8 trace, kept there).
 * @module
 */

import { startTreeRouter } from "./lib/tree_router.ts";
import { GitServer } from "../tests/support/git_server.ts";
import { BenchChild } from "./lib/child.ts";
import { routerEnv } from "./lib/context.ts";
import { FILES, PUBLISH } from "./lib/templates.ts";

const flags = Object.fromEntries(
  Deno.args.filter((a) => a.startsWith("--")).map((a) => {
    const at = a.indexOf("=");
    return [a.slice(2, at), a.slice(at + 1)];
  }),
);
const latencyMs = Number(flags.latency ?? 5);
const seconds = Number(flags.seconds ?? 8);
const rounds = Number(flags.rounds ?? 3);
const RATE = 400;
const CALLERS = 16;

const work = await Deno.makeTempDir({ prefix: "gitfaas-tail-" });
const git = await GitServer.start();
const sim = await BenchChild.start("sim_server.ts", [work]);
await git.createRepo("publish", { files: FILES });

interface Target {
  name: string;
  url: string;
  /** Router stdout so far (log lines and trace-gc lines). */
  out?: string[];
  stop(): Promise<void>;
}

async function startRouter(name: string, v8: string, tree?: string): Promise<Target> {
  const out: string[] = [];
  const router = await startTreeRouter({
    tree,
    // V8 prints its trace through C stdio, fully buffered on a pipe: line-buffered, its lines
    // keep their place among the log lines (written straight to the descriptor).
    wrap: [
      ...(flags.pin ? ["/usr/bin/taskset", "-c", flags.pin] : []),
      "/usr/bin/stdbuf",
      "-oL",
    ],
    v8Flags: `--trace-gc${v8 ? "," + v8 : ""}`,
    onLine: (line) => out.push(line),
    env: routerEnv({ git, sim }, "publish", `${work}/data-${name}`),
  });
  return { name, url: `${router.origin}/publish/job${PUBLISH.query}`, out, stop: router.stop };
}

async function startProxy(): Promise<Target> {
  const child = await BenchChild.start("floor_server.ts", ["proxy", "deno"], {
    env: {
      SIM_URL: String(sim.ready.url),
      SIM_TOKEN: String(sim.ready.token),
      SIM_CA: String(sim.ready.caFile),
    },
  });
  return { name: "proxy", url: `http://127.0.0.1:${child.ready.port}/`, stop: () => child.stop() };
}

/** Wall-clock ms with sub-ms precision. */
const wall = () => performance.timeOrigin + performance.now();

/** The paced load of `lib/load.ts`, keeping every publish's [start, end] (wall ms). */
async function paced(url: string, ms: number, rate = RATE): Promise<[number, number][]> {
  const client = Deno.createHttpClient({});
  const spans: [number, number][] = [];
  const started = performance.now();
  let issued = 0;
  const caller = async () => {
    while (performance.now() < started + ms) {
      const turn = issued++;
      const wait = started + (1000 * turn) / rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const t0 = wall();
      const response = await fetch(url, {
        method: "POST",
        body: PUBLISH.body,
        headers: PUBLISH.headers,
        client,
      });
      await response.text();
      if (response.status !== 202) throw new Error(`status ${response.status}`);
      spans.push([t0, wall()]);
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, caller));
  client.close();
  return spans;
}

interface Pause {
  /** Wall ms. */
  start: number;
  end: number;
  kind: string;
}

/** GC pauses of a router's stdout on the wall clock (see the module doc for the alignment). */
function pauses(out: string[]): Pause[] {
  // `Incremental Mark-Compact` lines also say how long marking ran before the final pause
  // (its steps run on the main thread between tasks and allocations, at unknown moments).
  const gc =
    /\s([\d.]+) ms: (?:Incremental )?(Scavenge|Mark-Compact|Minor Mark-Sweep)\b.*?MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms(?: \(\+ ([\d.]+) ms in \d+ steps since start of marking, biggest step ([\d.]+) ms, walltime since start of marking ([\d.]+) ms\))?/;
  let low = -Infinity;
  let high = Infinity;
  let previous: number | undefined;
  const found: { at: number; ms: number; kind: string; markingMs?: number }[] = [];
  const times: (number | undefined)[] = out.map((line) => {
    if (!line.startsWith("{")) return undefined;
    try {
      return Date.parse(JSON.parse(line).time);
    } catch {
      return undefined;
    }
  });
  for (let i = 0; i < out.length; i++) {
    if (times[i] !== undefined) {
      previous = times[i];
      continue;
    }
    const m = gc.exec(out[i]);
    if (!m) continue;
    const at = Number(m[1]);
    found.push({ at, ms: Number(m[3]), kind: m[2], markingMs: m[6] ? Number(m[6]) : undefined });
    if (previous !== undefined) low = Math.max(low, previous - at);
    const next = times.slice(i + 1).find((t) => t !== undefined);
    if (next !== undefined) high = Math.min(high, next + 1 - at);
  }
  const offset = (low + high) / 2;
  console.log(`  clock offset bounds: ${(high - low).toFixed(1)} ms wide`);
  return found.flatMap((f) => {
    const pause = { start: f.at + offset - f.ms, end: f.at + offset, kind: f.kind };
    if (f.markingMs === undefined) return [pause];
    return [pause, { start: pause.start - f.markingMs, end: pause.start, kind: "marking" }];
  });
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function report(name: string, spans: [number, number][], gcs?: Pause[]) {
  const ms = spans.map(([a, b]) => b - a).sort((a, b) => a - b);
  let line = `${name.padEnd(10)} n=${spans.length} p50 ${quantile(ms, 0.5).toFixed(2)} p90 ${
    quantile(ms, 0.9).toFixed(2)
  } p99 ${quantile(ms, 0.99).toFixed(2)} max ${ms[ms.length - 1].toFixed(2)} ms`;
  if (gcs) {
    const from = spans[0][0];
    const to = Math.max(...spans.map((s) => s[1]));
    const inWindow = gcs.filter((g) => g.end > from && g.start < to);
    const big = inWindow.filter((g) => g.kind !== "marking" && g.end - g.start >= 1);
    const major = inWindow.filter((g) => g.kind === "marking" || g.kind === "Mark-Compact");
    const inMajor = ([a, b]: [number, number]) => major.some((g) => g.start < b && g.end > a);
    const overlaps = ([a, b]: [number, number]) => big.some((g) => g.start < b && g.end > a);
    const cut = quantile(ms, 0.99);
    const slow = spans.filter(([a, b]) => b - a >= cut);
    const slowHit = slow.filter(overlaps).length;
    const allHit = spans.filter(overlaps).length;
    const pausedMs = inWindow.filter((g) => g.kind !== "marking").reduce(
      (s, g) => s + g.end - g.start,
      0,
    );
    const kinds: Record<string, string> = {};
    for (const g of inWindow) {
      const d = g.end - g.start;
      kinds[g.kind] = kinds[g.kind] ?? "";
      kinds[g.kind] += `${d.toFixed(1)} `;
    }
    const sum: Record<string, { n: number; ms: number; ge1: number; max: number }> = {};
    for (const g of inWindow) {
      const d = g.end - g.start;
      const s = sum[g.kind] ??= { n: 0, ms: 0, ge1: 0, max: 0 };
      s.n++;
      s.ms += d;
      if (d >= 1) s.ge1++;
      s.max = Math.max(s.max, d);
    }
    line += `\n  GC in window: ${
      Object.entries(sum).map(([k, s]) =>
        `${k} ${s.n} (mean ${(s.ms / s.n).toFixed(2)} ms, ≥1 ms: ${s.ge1}, max ${s.max.toFixed(2)})`
      ).join("; ")
    }; paused ${(100 * pausedMs / (to - from)).toFixed(2)} % of the window` +
      `\n  slowest 1 % (≥ ${cut.toFixed(2)} ms): ${slowHit}/${slow.length} overlap a ≥1 ms GC;` +
      ` all publishes: ${allHit}/${spans.length} (${(100 * allHit / spans.length).toFixed(1)} %)` +
      `\n  slowest 1 % overlapping a mark-compact (its incremental marking or final pause): ${
        slow.filter(inMajor).length
      }/${slow.length}; all publishes: ${spans.filter(inMajor).length}/${spans.length} (${
        (100 * spans.filter(inMajor).length / spans.length).toFixed(1)
      } %)`;
    // How far each slow publish's overlap with GC pauses (any size) goes to explain it.
    const gcOverlapMs = ([a, b]: [number, number]) =>
      inWindow.filter((g) =>
        g.kind !== "marking"
      ).reduce((s, g) =>
        s + Math.max(0, Math.min(b, g.end) - Math.max(a, g.start)), 0);
    const slowGc = slow.map(gcOverlapMs).sort((a, b) =>
      a - b
    );
    line += `\n  slowest 1 %: GC time inside them, median ${quantile(slowGc, 0.5).toFixed(2)} ms,` +
      ` max ${slowGc[slowGc.length - 1].toFixed(2)} ms; their median latency ${
        quantile(
          slow.map(([a, b]) =>
            b - a
          ).sort((a, b) => a - b),
          0.5,
        ).toFixed(2)
      } ms`;
    // Slow publishes cluster in time? Count distinct 20 ms buckets.
    const buckets = new Set(slow.map(([a]) => Math.floor(a / 20)));
    line += `\n  slowest 1 % start in ${buckets.size} distinct 20 ms windows`;
  }
  console.log(line);
}

const targets: Target[] = [];
const runs: { round: number; target: Target; spans: [number, number][] }[] = [];
try {
  targets.push(await startProxy());
  targets.push(await startRouter("router", ""));
  if (flags.b || flags["b-tree"]) {
    targets.push(await startRouter("router-b", flags.b ?? "", flags["b-tree"]));
  }
  await sim.command(`latency ${latencyMs}`);
  for (const t of targets) await paced(t.url, 2000);
  for (let round = 0; round < rounds; round++) {
    for (const t of targets) {
      runs.push({ round, target: t, spans: await paced(t.url, seconds * 1000) });
    }
  }
} finally {
  for (const t of targets) await t.stop().catch(() => undefined);
  await sim.stop();
  await git.close();
  await Deno.remove(work, { recursive: true }).catch(() => undefined);
}
// Stopped: every trace line is out. `--keep=folder` keeps each router's stdout.
if (flags.keep) {
  for (const t of targets) {
    if (t.out) await Deno.writeTextFile(`${flags.keep}/${t.name}.out`, t.out.join("\n"));
  }
}
const aligned = new Map(targets.map((t) => [t, t.out ? pauses(t.out) : undefined]));
for (const { round, target, spans } of runs) {
  if (target === targets[0]) {
    console.log(`# round ${round + 1}, API +${latencyMs} ms, ${CALLERS} callers at ${RATE}/s`);
  }
  report(target.name, spans, aligned.get(target));
}
