/**
 * The whole benchmark set of issue #8, in one run on loopback: publish (router, floors,
 * upstream `kubectl`), sync, footprint, the in-process micro benchmarks and the webhook
 * benchmark. Prints Markdown tables and the targets, and writes every number to a JSON file.
 *
 * Run: `deno task bench`, or `deno run -A bench/run.ts [--quick] [--only=publish,sync,...]
 * [--out=bench/results.json] [--markdown=file.md]`. Sections: publish, transport, sync,
 * footprint, micro, webhook, fanout (issue 18: a push reaching three replicas). Takes about 8.5
 * minutes on 2 cores; `--quick` about 3.
 * @module
 */

import { GitServer } from "../tests/support/git_server.ts";
import { BenchChild } from "./lib/child.ts";
import type { BenchContext } from "./lib/context.ts";
import { denoBench } from "./lib/deno_bench.ts";
import { markdown, type Results } from "./lib/report.ts";
import { runFanoutBench } from "./fanout.ts";
import { runFootprintBench } from "./footprint.ts";
import { runPublishBench } from "./publish.ts";
import { runLargeFileBench, runSyncBench } from "./sync.ts";
import { runTransportBench } from "./transport.ts";

const SECTIONS = ["publish", "transport", "sync", "footprint", "micro", "webhook", "fanout"];
const flags = Object.fromEntries(
  Deno.args.map((arg) => arg.replace(/^--/, "").split("=")).map(([k, v]) => [k, v ?? "true"]),
);
const only = flags.only ? flags.only.split(",") : SECTIONS;
const out = flags.out ?? new URL("results.json", import.meta.url).pathname;
const started = performance.now();

const results: Results = {
  date: new Date().toISOString(),
  command: `deno run -A bench/run.ts ${Deno.args.join(" ")}`.trim(),
  machine: await machine(),
  quick: flags.quick === "true",
  errors: {},
};
const progress = (message: string) => console.error(`[${elapsed()} s] ${message}`);

const work = await Deno.makeTempDir({ prefix: "gitfaas-bench-" });
const git = await GitServer.start();
const sim = await BenchChild.start("sim_server.ts", [work]);
const context: BenchContext = { git, sim, work, quick: results.quick, progress };

async function section(name: string, run: () => Promise<void>): Promise<void> {
  if (!only.includes(name)) return;
  progress(`${name}…`);
  try {
    await run();
  } catch (error) {
    results.errors[name] = (error as Error).stack ?? String(error);
    progress(`${name} failed: ${(error as Error).message}`);
  }
}

try {
  await section("publish", async () => {
    results.publish = await runPublishBench(context);
  });
  await section("transport", async () => {
    results.transport = await runTransportBench(context);
  });
  await section("sync", async () => {
    results.sync = await runSyncBench(context);
    results.largeFile = await runLargeFileBench(context);
  });
  await section("footprint", async () => {
    results.footprint = await runFootprintBench(context);
  });
  await section("micro", async () => {
    results.micro = [
      ...await denoBench("render_bench.ts"),
      ...await denoBench("kube_sim_bench.ts"),
    ];
  });
  await section("webhook", async () => {
    results.webhook = await denoBench("webhook_bench.ts");
  });
  await section("fanout", async () => {
    results.fanout = await runFanoutBench(context);
  });
} finally {
  await sim.stop();
  await git.close();
  await Deno.remove(work, { recursive: true }).catch(() => undefined);
}

results.seconds = Math.round(elapsed());
results.machine.loadAverageAtEnd = Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
await Deno.writeTextFile(out, JSON.stringify(results, null, 2) + "\n");
const report = markdown(results);
if (flags.markdown) await Deno.writeTextFile(flags.markdown, report);
console.log(report);
progress(`done; results in ${out}`);
if (Object.keys(results.errors).length > 0) Deno.exitCode = 1;

function elapsed(): number {
  return Math.round((performance.now() - started) / 100) / 10;
}

async function machine(): Promise<Record<string, string | number>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  const meminfo = await Deno.readTextFile("/proc/meminfo");
  const kb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1]);
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown",
    memoryGiB: Math.round((kb / 2 ** 20) * 10) / 10,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    loadAverageAtStart: Deno.loadavg().map((x) => x.toFixed(2)).join(" "),
  };
}
