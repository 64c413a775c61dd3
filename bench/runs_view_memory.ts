/**
 * What the runs view holds per watched Job and pod, and what a watch event costs it: the view
 * (`ClusterView`) is fed 10,000 finished Jobs and their pods as a v1.37 API server lists them
 * (`tests/support/api_objects.ts`), then one MODIFIED event per Job and per pod through its watch
 * streams. Heap is V8's `heapUsed` after forced collections; next to it, what the same objects
 * would hold kept whole, as parsed.
 *
 * Run: `deno run -A --v8-flags=--expose-gc bench/runs_view_memory.ts [--jobs=10000]`.
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import type { KubeConnection, KubeResponse } from "../src/kube/connection.ts";
import { ClusterView } from "../src/runs/cluster_view.ts";
import { requestViews } from "../src/runs/run_view.ts";
import { finishedJob, NAMESPACE, succeededPod } from "../tests/support/api_objects.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: { jobs: { type: "string", default: "10000" } },
});
const JOBS = Number(flags.jobs);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");

function heapAfterGc(): number {
  for (let i = 0; i < 4; i++) gc!();
  return Deno.memoryUsage().heapUsed;
}

function listText(make: (i: number) => Record<string, unknown>): string {
  const items = Array.from({ length: JOBS }, (_, i) => make(i));
  return JSON.stringify({ kind: "List", metadata: { resourceVersion: "1" }, items });
}

/** A connection answering the two lists and holding the two watch streams open. */
class ListedKube implements KubeConnection {
  readonly server = "https://sim.invalid";
  readonly defaultNamespace = NAMESPACE;
  readonly description = "bench";
  readonly queued = 0;
  readonly streams = new Map<string, ReadableStreamDefaultController<Uint8Array>>();

  request(_method: string, path: string): Promise<KubeResponse> {
    const make = path.includes("/jobs") ? finishedJob : succeededPod;
    return Promise.resolve({ status: 200, headers: new Headers(), text: listText(make) });
  }

  stream(path: string): Promise<Response> {
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.streams.set(path.includes("/jobs") ? "jobs" : "pods", controller);
      },
    });
    return Promise.resolve(new Response(body));
  }

  resource() {
    return Promise.resolve(undefined);
  }

  close(): void {
    for (const controller of this.streams.values()) controller.close();
  }
}

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

const before = heapAfterGc();
const kube = new ListedKube();
const view = new ClusterView(kube, [NAMESPACE]);
await view.start();
while (kube.streams.size < 2) await new Promise((r) => setTimeout(r, 1));
const viewHeap = heapAfterGc() - before;

// One MODIFIED event per Job and per pod, as the watch delivers them, timed in CPU.
let events = 0;
let allSeen: () => void = () => {};
view.subscribe(() => {
  if (++events === 2 * JOBS) allSeen();
});
const seen = new Promise<void>((resolve) => allSeen = resolve);
const encoder = new TextEncoder();
const lines = (make: (i: number) => Record<string, unknown>) => {
  const chunks: Uint8Array[] = [];
  for (let start = 0; start < JOBS; start += 100) {
    let text = "";
    for (let i = start; i < Math.min(JOBS, start + 100); i++) {
      const object = make(i) as { metadata: { resourceVersion: string } };
      object.metadata.resourceVersion = String(200_000 + i);
      text += JSON.stringify({ type: "MODIFIED", object }) + "\n";
    }
    chunks.push(encoder.encode(text));
  }
  return chunks;
};
const jobEvents = lines(finishedJob);
const podEvents = lines(succeededPod);
const cpu = process.cpuUsage();
const started = performance.now();
for (let c = 0; c < jobEvents.length; c++) {
  kube.streams.get("pods")!.enqueue(podEvents[c]);
  kube.streams.get("jobs")!.enqueue(jobEvents[c]);
}
await seen;
const used = process.cpuUsage(cpu);
const wallMs = performance.now() - started;
jobEvents.length = podEvents.length = 0;

const afterEvents = heapAfterGc() - before;
const answered = requestViews(view.jobs(), view.pods()).length;
view.close();
kube.close();

// The same objects kept whole, as parsed from the lists.
const base = heapAfterGc();
const whole = [
  ...(JSON.parse(listText(finishedJob)).items as unknown[]),
  ...(JSON.parse(listText(succeededPod)).items as unknown[]),
];
const wholeHeap = heapAfterGc() - base;

console.log(JSON.stringify(
  {
    jobs: JOBS,
    pods: JOBS,
    requests: answered,
    jobBytes: JSON.stringify(finishedJob(0)).length,
    podBytes: JSON.stringify(succeededPod(0)).length,
    viewHeapMB: mb(viewHeap),
    viewHeapAfterEventsMB: mb(afterEvents),
    viewBytesPerJobAndPod: Math.round(viewHeap / JOBS),
    wholeObjectsHeapMB: mb(wholeHeap),
    wholeBytesPerJobAndPod: Math.round(wholeHeap / JOBS),
    watchEvents: 2 * JOBS,
    cpuMicrosPerEvent: Math.round((used.user + used.system) / (2 * JOBS) * 10) / 10,
    wallMicrosPerEvent: Math.round(wallMs * 1000 / (2 * JOBS) * 10) / 10,
    held: whole.length,
  },
  null,
  2,
));
