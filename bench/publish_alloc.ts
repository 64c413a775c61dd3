/**
 * Where the router's young objects come from, per publish: the router runs as `deno task start`
 * does, plus `--inspect` on loopback, against the simulator (HTTPS through its TLS front, or HTTP
 * with `--http`), under the publish load of the benchmark; V8's sampling heap profiler (with
 * the objects collected by scavenges and mark-compacts kept in the profile) records every
 * allocation over a measured run after a warm-up.
 *
 * Prints the bytes allocated per publish, then the top allocating functions by self bytes per
 * publish, and the same summed by the first frame in the router's own code (`/src/`), so
 * allocations inside the runtime or a library count to the router code that asked for them.
 * Run: `deno run -A bench/publish_alloc.ts [topic] [callers] [seconds] [--http] [--interval=N]`.
 * @module
 */

import { startTreeRouter } from "./lib/tree_router.ts";
import { Inspector } from "./lib/inspector.ts";
import { GitServer } from "../tests/support/git_server.ts";
import { BenchChild } from "./lib/child.ts";
import { routerEnv } from "./lib/context.ts";
import type { LoadOptions, LoadResult } from "./lib/load.ts";
import { FILES, PUBLISH } from "./lib/templates.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

const flags = Deno.args.filter((arg) => arg.startsWith("--"));
const [topic = "job", callersText = "1", secondsText = "4"] = Deno.args.filter((arg) =>
  !arg.startsWith("--")
);
const http = flags.includes("--http");
const interval = Number(flags.find((f) => f.startsWith("--interval="))?.split("=")[1] ?? 256);
const work = await Deno.makeTempDir({ prefix: "gitfaas-alloc-" });
const git = await GitServer.start();
const sim = await BenchChild.start("sim_server.ts", [work]);
await git.createRepo("publish", { files: FILES });
const inspectPort = 9300 + Math.floor(Math.random() * 500);
const router = await startTreeRouter({
  denoFlags: [`--inspect=127.0.0.1:${inspectPort}`],
  env: {
    ...routerEnv({ git, sim }, "publish", `${work}/data`),
    ...(http ? { KUBECONFIG: String(sim.ready.httpKubeconfig) } : {}),
  },
});
const url = router.origin;
const load = await BenchChild.start("load_child.ts");
const options = (seconds: number): LoadOptions => ({
  url: `${url}/publish/${topic}${PUBLISH.query}`,
  body: PUBLISH.body,
  headers: PUBLISH.headers,
  concurrency: Number(callersText),
  durationMs: seconds * 1000,
  maxRequests: 1_000_000,
  warmupMs: 0,
});
await load.command(JSON.stringify(options(1.5)), 120_000);
const inspector = await Inspector.connect(inspectPort);
await inspector.send("HeapProfiler.enable");
await inspector.send("HeapProfiler.startSampling", {
  samplingInterval: interval,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
const measured: unknown = await load.command(
  JSON.stringify(options(Number(secondsText))),
  120_000,
);
const result = measured as LoadResult & { error?: string };
const { profile } = await inspector.send("HeapProfiler.stopSampling") as {
  profile: { head: HeapNode };
};
inspector.socket.close();
const saved = flags.find((f) => f.startsWith("--save="))?.split("=")[1];
if (saved) await Deno.writeTextFile(saved, JSON.stringify(profile));
await load.stop();
await router.stop();
await sim.stop();
await git.close();
if (result.error) throw new Error(result.error);

const n = result.answered;
const self = new Map<string, number>();
const ours = new Map<string, number>();
let total = 0;
const frameName = (f: CallFrame) =>
  `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(src|ext|node|npm)\//, "$1/")}:${
    f.lineNumber + 1
  }`;
// With an inspector attached, Deno's fetch reports each exchange to it (a tee of every answer,
// the Network events): allocations the router does not make when deployed, left out.
const INSPECTOR_ONLY = /inspector_network_bridge|drainResponseForInspector|Tee|ForCdp/;
let inspectorOnly = 0;
const walk = (node: HeapNode, owner: string | undefined) => {
  const name = frameName(node.callFrame);
  if (INSPECTOR_ONLY.test(node.callFrame.functionName + node.callFrame.url)) {
    inspectorOnly += sizeOf(node);
    return;
  }
  const mine = node.callFrame.url.includes("/src/") ? name : owner;
  if (node.selfSize) {
    total += node.selfSize;
    self.set(name, (self.get(name) ?? 0) + node.selfSize);
    const key = mine ?? "(no router frame)";
    ours.set(key, (ours.get(key) ?? 0) + node.selfSize);
  }
  for (const c of node.children) walk(c, mine);
};
const sizeOf = (node: HeapNode): number =>
  node.children.reduce((sum, c) => sum + sizeOf(c), node.selfSize);
walk(profile.head, undefined);
const kb = (bytes: number) => (bytes / n / 1024).toFixed(2).padStart(7);
const top = (map: Map<string, number>, count: number) =>
  [...map].sort((a, b) => b[1] - a[1]).slice(0, count).map(([k, v]) => `${kb(v)} KB  ${k}`)
    .join("\n");
console.log(
  `${topic}, ${n} publishes, ${result.perSecond}/s, ${http ? "HTTP" : "HTTPS"}: ` +
    `${kb(total).trim()} KB allocated per publish (sampling every ${interval} B; ` +
    `${kb(inspectorOnly).trim()} KB more made only for the inspector, left out)`,
);
console.log(`\ntop functions by self bytes per publish:\n${top(self, 40)}`);
console.log(`\nby nearest router frame (/src/):\n${top(ours, 40)}`);
