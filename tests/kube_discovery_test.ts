/**
 * Discovery's cache: one lookup per apiVersion, shared by callers; a caller's signal ends its
 * own wait, loaded or not.
 */

import { assertEquals, assertRejects } from "./support/assert.ts";
import { Discovery } from "../src/kube/discovery.ts";

const list = {
  resources: [
    { name: "jobs", kind: "Job", namespaced: true },
    { name: "jobs/status", kind: "Job", namespaced: true },
  ],
};

Deno.test("a loaded apiVersion is answered from the cache, and an aborted caller still stops", async () => {
  let calls = 0;
  const discovery = new Discovery(() => {
    calls++;
    return Promise.resolve({ status: 200, headers: new Headers(), text: JSON.stringify(list) });
  });
  const job = { name: "jobs", namespaced: true };
  const [first, second] = await Promise.all([
    discovery.resource("batch/v1", "Job", new AbortController().signal),
    discovery.resource("batch/v1", "Job"),
  ]);
  assertEquals([first, second], [job, job]);
  assertEquals(await discovery.resource("batch/v1", "Job", new AbortController().signal), job);
  assertEquals(calls, 1);
  const aborted = new AbortController();
  aborted.abort(new Error("the publish's deadline"));
  await assertRejects(
    () => discovery.resource("batch/v1", "Job", aborted.signal),
    Error,
    "the publish's deadline",
  );
});
