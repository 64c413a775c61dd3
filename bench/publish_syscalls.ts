/**
 * What the kernel sees per publish: the router, the Deno.serve one-hop proxy and the node:http
 * proxy (`floor_server.ts proxy node`, served by the router's own `serve.ts`) each take the
 * same load from one simulator while a tool is attached to them; counts are divided by the
 * requests answered meanwhile. Needs root (or ptrace/perf rights).
 *
 * Run: `deno run -A bench/publish_syscalls.ts [--callers=1] [--seconds=5] [--tool=...]`
 * - `--tool=strace` (default): `strace -f -c`, printed as syscalls per request, all threads;
 * - `--tool=perf`: `perf stat` (task clock, context switches, page faults);
 * - `--tool=record`: `perf record -g`, kept in `--keep=folder`; with `--v8=--perf-basic-prof`
 *   the JS frames have names (`perf script` then reads `/tmp/perf-<pid>.map`);
 * - `--tool=custom --script=file`: runs `file <pid>` while the load runs;
 * - `--tool=none`: only the load (with `--v8=--trace-gc --stdout=file`, the router's GC trace).
 *
 * `--only=router|proxy|proxy-node` measures one target; `--tree=folder` runs the router of
 * another source tree; `--v8=flags` adds V8 flags to every target.
 * @module
 */

import { startTreeRouter } from "./lib/tree_router.ts";
import { GitServer } from "../tests/support/git_server.ts";
import { BenchChild } from "./lib/child.ts";
import { routerEnv } from "./lib/context.ts";
import { runLoad } from "./lib/load.ts";
import { FILES, PUBLISH } from "./lib/templates.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const flags = Object.fromEntries(
  Deno.args.filter((a) => a.startsWith("--")).map((a) => a.slice(2).split("=")),
);
const callers = Number(flags.callers ?? 1);
const seconds = Number(flags.seconds ?? 5);
const tool = flags.tool ?? "strace";
const tree = flags.tree ?? ROOT;

const work = await Deno.makeTempDir({ prefix: "gitfaas-sys-" });
const git = await GitServer.start();
const sim = await BenchChild.start("sim_server.ts", [work]);
await git.createRepo("publish", { files: FILES });
const simEnv = {
  SIM_URL: String(sim.ready.url),
  SIM_TOKEN: String(sim.ready.token),
  SIM_CA: String(sim.ready.caFile),
};

interface Target {
  name: string;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

async function startRouter(): Promise<Target> {
  const router = await startTreeRouter({
    tree,
    v8Flags: flags.v8,
    // The output is discarded, or kept in `--stdout=file` (a V8 trace, say).
    stdoutFile: flags.stdout,
    env: {
      ...routerEnv({ git, sim }, "publish", `${work}/data`),
      LOG_LEVEL: flags.log ?? "info",
    },
  });
  return {
    name: "router",
    pid: router.pid,
    url: `${router.origin}/publish/job${PUBLISH.query}`,
    stop: router.stop,
  };
}

async function startFloor(name: string, kind: string): Promise<Target> {
  const child = await BenchChild.start("floor_server.ts", ["proxy", kind], {
    env: simEnv,
    denoFlags: flags.v8 ? [`--v8-flags=${flags.v8}`] : [],
  });
  return {
    name,
    pid: child.pid,
    url: `http://127.0.0.1:${child.ready.port}/`,
    stop: () => child.stop(),
  };
}

function load(target: Target) {
  return runLoad({
    url: target.url,
    body: PUBLISH.body,
    headers: PUBLISH.headers,
    concurrency: callers,
    durationMs: seconds * 1000,
    maxRequests: 1e6,
  });
}

function answeredBy(result: { statuses: Record<string, number> }): number {
  return Object.values(result.statuses).reduce((a, b) => a + b, 0);
}

/** Runs the load on `target` with the tool attached; the tool's report and the answer count. */
async function traced(target: Target): Promise<{ answered: number; report: string }> {
  const out = `${work}/${target.name}.${tool}`;
  const args = tool === "record"
    ? ["record", "-F", "4999", "-g", "-p", String(target.pid), "-o", out]
    : tool === "perf"
    ? [
      "stat",
      "-e",
      flags.events ?? "task-clock,context-switches,cpu-migrations,page-faults,cycles,instructions",
      "-p",
      String(target.pid),
      "-o",
      out,
    ]
    : ["-f", "-c", "-o", out, "-p", String(target.pid)];
  if (tool === "custom") {
    // `--script=file`: run with the target's pid as its argument while the load runs.
    const child = new Deno.Command(flags.script, { args: [String(target.pid)] }).spawn();
    const result = await load(target);
    await child.status;
    return { answered: answeredBy(result), report: "" };
  }
  if (tool === "none") {
    const result = await load(target);
    return { answered: answeredBy(result), report: "" };
  }
  const child = new Deno.Command(tool === "strace" ? "strace" : "perf", {
    args,
    stdout: "null",
    stderr: "null",
  }).spawn();
  await new Promise((r) => setTimeout(r, 500));
  const result = await load(target);
  child.kill("SIGINT");
  await child.status;
  if (tool === "record") {
    const answered = answeredBy(result);
    const keep = `${flags.keep ?? "/tmp"}/${target.name}.perf.data`;
    await Deno.copyFile(out, keep);
    return { answered, report: keep };
  }
  return { answered: answeredBy(result), report: await Deno.readTextFile(out) };
}

/** strace -c's table as calls per answered request, largest first. */
function perRequest(report: string, answered: number): Map<string, number> {
  const calls = new Map<string, number>();
  for (const line of report.split("\n")) {
    const cells = line.trim().split(/\s+/);
    if (cells.length < 5 || !/^\d/.test(cells[0])) continue;
    const name = cells[cells.length - 1];
    if (name === "total") continue;
    calls.set(name, Number(cells[3]) / answered);
  }
  return calls;
}

const targets: Target[] = [];
try {
  if (!flags.only || flags.only === "proxy") targets.push(await startFloor("proxy", "deno"));
  if (!flags.only || flags.only === "proxy-node") {
    targets.push(await startFloor("proxy-node", "node"));
  }
  if (!flags.only || flags.only === "router") targets.push(await startRouter());
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
  const tables = new Map<string, Map<string, number>>();
  for (const t of targets) {
    const { answered, report } = await traced(t);
    console.log(`## ${t.name}: ${answered} answered, ${callers} callers`);
    if (tool === "perf" || tool === "record") console.log(report);
    else tables.set(t.name, perRequest(report, answered));
  }
  if (tool === "strace") {
    const names = [...new Set([...tables.values()].flatMap((m) => [...m.keys()]))];
    const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    names.sort((a, b) => (tables.get("router")!.get(b) ?? 0) - (tables.get("router")!.get(a) ?? 0));
    console.log(`syscall`.padEnd(20) + targets.map((t) => t.name.padStart(12)).join(""));
    for (const name of names) {
      console.log(
        name.padEnd(20) +
          targets.map((t) => (tables.get(t.name)!.get(name) ?? 0).toFixed(2).padStart(12)).join(""),
      );
    }
    console.log(
      "total".padEnd(20) +
        targets.map((t) => total(tables.get(t.name)!).toFixed(2).padStart(12)).join(""),
    );
  }
} finally {
  for (const t of targets) await t.stop().catch(() => undefined);
  await sim.stop();
  await git.close();
  await Deno.remove(work, { recursive: true }).catch(() => undefined);
}
