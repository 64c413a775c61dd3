/**
 * bench/cpuprofile_top.ts: the busy share of a CPU profile and its buckets, which
 * BENCHMARKS.md's "where the router's CPU goes" is read from.
 */

import { assertEquals } from "./support/assert.ts";
import { bucketOf, busyProfile, type CpuProfile, windowOf } from "../bench/cpuprofile_top.ts";

const ROOT = "file:///work/gitfaas";
const frame = (functionName: string, url = "") => ({ functionName, url, lineNumber: 0 });

/**
 * A profile whose nodes form one chain per entry of `stacks` (root first), sampled in order,
 * each sample 1 ms after the one before.
 */
function profileOf(stacks: ReturnType<typeof frame>[][]): CpuProfile {
  const nodes: CpuProfile["nodes"] = [{ id: 1, callFrame: frame("(root)"), children: [] }];
  const samples = stacks.map((stack) => {
    let parent = nodes[0];
    for (const callFrame of stack) {
      const id = nodes.length + 1;
      const node = { id, callFrame, children: [] as number[] };
      nodes.push(node);
      parent.children!.push(id);
      parent = node;
    }
    return parent.id;
  });
  return {
    nodes,
    samples,
    timeDeltas: samples.map(() => 1000),
    startTime: 0,
    endTime: samples.length * 1000,
  };
}

const idle = [frame("(idle)")];
const gc = [frame("(garbage collector)")];
const publishRoute = frame("handler", `${ROOT}/src/http/routes/publish.ts`);
const kubeSend = frame("send", `${ROOT}/src/kube/connection.ts`);
const fetchCall = frame("mainFetch", "ext:deno_fetch/26_fetch.js");
const headers = frame("fillHeaders", "ext:deno_fetch/20_headers.js");
const streams = frame("(anonymous)", "ext:deno_web/06_streams.js");

Deno.test("a sample goes to the first frame from the leaf up that names a part", () => {
  // Headers built by router code count for the router; inside fetch, for the fetch client.
  assertEquals(bucketOf([headers, kubeSend, publishRoute]), "router src/kube");
  assertEquals(bucketOf([headers, fetchCall, kubeSend, publishRoute]), "fetch client");
  assertEquals(bucketOf([frame("op_fetch_send"), streams]), "fetch client");
  assertEquals(
    bucketOf([frame("writev"), frame("_writeGeneric", "node:net:1")]),
    "node:http server (and node:net sockets)",
  );
  assertEquals(bucketOf([streams]), "runtime, no caller known (ext:deno_web/06_streams.js)");
  assertEquals(bucketOf(gc), "GC");
});

Deno.test("the busy share leaves idle samples out, within the window of the publishes", () => {
  const profile = profileOf([
    [frame("start", `${ROOT}/src/app/router.ts`)], // start-up, before the first publish
    [publishRoute, kubeSend],
    idle,
    gc,
    [publishRoute, kubeSend, fetchCall],
    idle,
    [frame("stop", `${ROOT}/src/app/router.ts`)], // after the last publish
  ]);
  const window = windowOf(profile, "src/http/routes/publish.ts");
  assertEquals(window, { fromUs: 2000, toUs: 5000 });
  const busy = busyProfile(profile, window);
  assertEquals([busy.busyMs, busy.idleMs], [3, 1]);
  assertEquals(busy.buckets.map((b) => [b.bucket, b.percent]), [
    ["router src/kube", 33.3],
    ["GC", 33.3],
    ["fetch client", 33.3],
  ]);
  const send = busy.functions.find((f) => f.name === "send")!;
  assertEquals([send.selfPercent, send.totalPercent], [33.3, 66.7]);
});
