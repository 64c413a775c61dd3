/**
 * CPU per publish, A/B: routers started from several source trees (this one by default; a copy
 * of another commit, or a copy with one piece disabled, for an ablation) measured in turn
 * against the same simulator, next to the one-hop proxy floor, round after round, so that load
 * elsewhere on the machine moves every target alike. Prints, per target, the median over the
 * rounds of CPU ms per answered request (router or proxy process, the simulator, this process,
 * which is the load generator) and the throughput.
 *
 * Each router's standard output is a pipe this process drains without decoding, so the load
 * generator's CPU is not inflated by reading the log (RouterProcess decodes and keeps every
 * line).
 *
 * Run: `deno run -A bench/publish_cpu.ts [--callers=16] [--rounds=5] [--seconds=2] [tree...]`
 * (a tree is a folder holding `deno.json` and `main.ts`; `name=folder` names it).
 * @module
 */

import { startTreeRouter } from "./lib/tree_router.ts";
import { GitServer } from "../tests/support/git_server.ts";
import { BenchChild } from "./lib/child.ts";
import { routerEnv } from "./lib/context.ts";
import { runLoad } from "./lib/load.ts";
import { cpuMsOf } from "./lib/proc.ts";
import { FILES, PUBLISH } from "./lib/templates.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const flags = Object.fromEntries(
  Deno.args.filter((a) => a.startsWith("--")).map((a) => a.slice(2).split("=")),
);
const trees = Deno.args.filter((a) => !a.startsWith("--"));
if (trees.length === 0) trees.push(`this=${ROOT}`);
const callers = Number(flags.callers ?? 16);
const rounds = Number(flags.rounds ?? 5);
const seconds = Number(flags.seconds ?? 2);
const topic = flags.topic ?? "job";
const withProxy = flags.proxy !== "no";

const work = await Deno.makeTempDir({ prefix: "gitfaas-cpu-" });
const git = await GitServer.start();
const sim = await BenchChild.start("sim_server.ts", [work]);
await git.createRepo("publish", { files: FILES });

interface Target {
  name: string;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

async function startRouter(name: string, tree: string): Promise<Target> {
  const router = await startTreeRouter({
    tree,
    v8Flags: flags.v8,
    env: {
      ...routerEnv({ git, sim }, "publish", `${work}/data-${name}`),
      LOG_LEVEL: flags.log ?? "info",
    },
  });
  return {
    name,
    pid: router.pid,
    url: `${router.origin}/publish/${topic}${PUBLISH.query}`,
    stop: router.stop,
  };
}

const targets: Target[] = [];
const simEnv = {
  SIM_URL: String(sim.ready.url),
  SIM_TOKEN: String(sim.ready.token),
  SIM_CA: String(sim.ready.caFile),
};
try {
  if (withProxy) {
    const proxy = await BenchChild.start("floor_server.ts", ["proxy"], { env: simEnv });
    targets.push({
      name: "proxy",
      pid: proxy.pid,
      url: `http://127.0.0.1:${proxy.ready.port}/${topic === "three" ? "?hops=3" : ""}`,
      stop: () => proxy.stop(),
    });
  }
  for (const [i, spec] of trees.entries()) {
    const [name, tree] = spec.includes("=") ? spec.split("=") : [`tree${i}`, spec];
    if (tree.includes(".ts:")) {
      // `name=script.ts:arg[:arg…]`: a server of one's own (a floor variant, say
      // `floor_server.ts:proxy:node`), started like the proxy.
      const [script, ...args] = tree.split(":");
      const child = await BenchChild.start(new URL(script, `file://${Deno.cwd()}/`).href, args, {
        env: simEnv,
      });
      targets.push({
        name,
        pid: child.pid,
        url: `http://127.0.0.1:${child.ready.port}/`,
        stop: () => child.stop(),
      });
    } else targets.push(await startRouter(name, tree));
  }
  const samples = new Map<string, { cpu: number[]; sim: number[]; load: number[]; rps: number[] }>(
    targets.map((t) => [t.name, { cpu: [], sim: [], load: [], rps: [] }]),
  );
  // One warm-up pass per target (JIT, connection pools), not counted.
  for (const t of targets) {
    await runLoad({
      url: t.url,
      body: PUBLISH.body,
      headers: PUBLISH.headers,
      concurrency: callers,
      durationMs: 1000,
      maxRequests: 1e6,
    });
  }
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round.
    const order = targets.map((_, i) => targets[(i + r) % targets.length]);
    for (const t of order) {
      const before = [cpuMsOf(t.pid), cpuMsOf(sim.pid), cpuMsOf()];
      const result = await runLoad({
        url: t.url,
        body: PUBLISH.body,
        headers: PUBLISH.headers,
        concurrency: callers,
        durationMs: seconds * 1000,
        maxRequests: 1e6,
      });
      const after = [cpuMsOf(t.pid), cpuMsOf(sim.pid), cpuMsOf()];
      const answered = Object.values(result.statuses).reduce((a, b) => a + b, 0);
      if (result.errors) console.error(`${t.name}: ${result.errors} errors: ${result.firstError}`);
      const s = samples.get(t.name)!;
      s.cpu.push((after[0] - before[0]) / answered);
      s.sim.push((after[1] - before[1]) / answered);
      s.load.push((after[2] - before[2]) / answered);
      s.rps.push(result.perSecond);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const proxyCpu = withProxy ? median(samples.get("proxy")!.cpu) : NaN;
  const proxyRps = withProxy ? median(samples.get("proxy")!.rps) : NaN;
  console.log(
    `topic ${topic}, ${callers} callers, ${rounds} rounds of ${seconds} s; load ${
      Deno.loadavg().map((x) => x.toFixed(1)).join(" ")
    }`,
  );
  console.log("target        cpu ms/req (min-max)      ÷proxy  sim ms  load ms  req/s  ÷proxy");
  for (const [name, s] of samples) {
    const cpu = median(s.cpu);
    console.log(
      [
        name.padEnd(12),
        `${cpu.toFixed(3)} (${Math.min(...s.cpu).toFixed(3)}-${Math.max(...s.cpu).toFixed(3)})`
          .padEnd(24),
        (cpu / proxyCpu).toFixed(2).padStart(6),
        median(s.sim).toFixed(3).padStart(7),
        median(s.load).toFixed(3).padStart(8),
        String(Math.round(median(s.rps))).padStart(6),
        `${Math.round((100 * median(s.rps)) / proxyRps)} %`.padStart(7),
      ].join("  "),
    );
  }
} finally {
  for (const t of targets) await t.stop().catch(() => undefined);
  await sim.stop();
  await git.close();
  await Deno.remove(work, { recursive: true }).catch(() => undefined);
}
