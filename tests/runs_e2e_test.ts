// deno-lint-ignore-file no-explicit-any -- tests read deep into Kubernetes objects
/**
 * End to end: the example pipeline as one run, followed through the runs API of the router
 * started as `deno task start` does. Needs the API simulator (its watch, and `setStatus` /
 * `startPod` to play the Job controller and the kubelet, which it does not run); the real
 * control plane tier runs the same pipeline with real controllers.
 */

import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { jobEnv, startStack } from "./support/fixtures.ts";
import { RouterProcess } from "./support/router_process.ts";

const TOKEN = "operator-token-for-runs";
const ROOT = new URL("../", import.meta.url).pathname;

async function exampleFiles(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of ["config.json", "collect.yaml", "uncompress.yaml", "convert.yaml"]) {
    files[name] = await Deno.readTextFile(`${ROOT}examples/${name}`);
  }
  return files;
}

const operator = { authorization: `Bearer ${TOKEN}` };

Deno.test("the example pipeline is one run: tree, statuses, result, wait, tokens, cancel", async (t) => {
  const stack = await startStack({
    files: await exampleFiles(),
    env: { PUBLISH_TOKEN: TOKEN, LOG_LEVEL: "info" },
  });
  const { router, kube } = stack;
  const jobOf = (uuid: string) =>
    kube.objects({ kind: "Job", labelSelector: `gitfaas.io/request-uuid=${uuid}` })[0] as any;
  /** Plays a step's container: publishes the next topic as the Job's script does. */
  const playStep = async (uuid: string, topic: string, body: string) => {
    const job = jobOf(uuid);
    return await router.call(`/publish/${topic}?from=${uuid}`, {
      method: "POST",
      body,
      headers: {
        "content-type": "text/plain",
        traceparent: jobEnv(job, "TRACEPARENT")!,
        authorization: `Bearer ${jobEnv(job, "REQUEST_TOKEN")}`,
      },
    });
  };

  try {
    const collect = await router.call("/publish/timeToCollect", {
      method: "POST",
      body: '{"source":"river"}',
      headers: { ...operator, "content-type": "application/json" },
    });
    assertEquals(collect.status, 202, JSON.stringify(collect.body));
    const { requestUuid: a, runId } = collect.body;
    assertEquals(collect.body.parent, null);
    assert(/^[0-9a-f]{32}$/.test(runId));
    assertEquals(collect.body.links, { request: `/requests/${a}`, run: `/runs/${runId}` });
    assertEquals(collect.body.traceparent, jobEnv(jobOf(a), "TRACEPARENT"));

    const uncompress = await playStep(a, "timeToUncompress", "H4sIAAAA");
    assertEquals(uncompress.status, 202, JSON.stringify(uncompress.body));
    const b = uncompress.body.requestUuid;
    assertEquals([uncompress.body.runId, uncompress.body.parent], [runId, a]);
    const convert = await playStep(b, "timeToConvert", "time,source,value\n0,river,0\n");
    assertEquals(convert.status, 202, JSON.stringify(convert.body));
    const c = convert.body.requestUuid;
    assertEquals([convert.body.runId, convert.body.parent], [runId, b]);

    await t.step("the run is a tree rebuilt from the cluster", async () => {
      await router.waitFor(async () =>
        (await router.call(`/runs/${runId}`, { headers: operator })).body.requests?.length === 3
      );
      const run = (await router.call(`/runs/${runId}`, { headers: operator })).body;
      assertEquals(run.topic, "timeToCollect");
      assertEquals(run.status, "running");
      assertEquals(
        run.requests.map((r: any) => [r.topic, r.parent, r.children, r.status]),
        [
          ["timeToCollect", null, [b], "pending"],
          ["timeToUncompress", a, [c], "pending"],
          ["timeToConvert", b, [], "pending"],
        ],
      );
    });

    await t.step("a request token may do its own request's work and nothing else", async () => {
      const token = `Bearer ${jobEnv(jobOf(c), "REQUEST_TOKEN")}`;
      const asC = (path: string, init: RequestInit = {}) =>
        router.call(path, { ...init, headers: { ...init.headers, authorization: token } });
      assertEquals((await asC(`/requests/${a}/result`, { method: "POST", body: "x" })).status, 403);
      assertEquals((await asC(`/requests/${c}`)).status, 403, "no status reads");
      assertEquals((await asC("/runs")).status, 403);
      const elsewhere = await asC("/publish/timeToCollect", {
        method: "POST",
        body: "{}",
        headers: { traceparent: jobEnv(jobOf(a), "TRACEPARENT")! },
      });
      assertEquals(elsewhere.status, 403, JSON.stringify(elsewhere.body));
      assertStringIncludes(elsewhere.body.error, "only children of its own request");
      const forged = await router.call("/runs", {
        headers: { authorization: `${token.slice(0, -2)}xx` },
      });
      assertEquals(forged.status, 401);
    });

    await t.step("status follows the Job and its pods; a wait returns at the end", async () => {
      const jobA = jobOf(a);
      kube.startPod(jobA, "Running");
      await router.waitFor(async () =>
        (await router.call(`/requests/${a}`, { headers: operator })).body.status === "running"
      );
      kube.setStatus("batch/v1", "Job", jobA.metadata.namespace, jobA.metadata.name, {
        conditions: [{ type: "Complete", status: "True" }],
        completionTime: new Date().toISOString(),
      });
      const done = await router.call(`/requests/${a}?wait=10`, { headers: operator });
      assertEquals([done.status, done.body.status], [200, "succeeded"]);

      const timedOut = await router.call(`/requests/${c}?wait=0.2`, { headers: operator });
      assertEquals([timedOut.status, timedOut.body.status], [202, "pending"]);

      // The last step posts its result with its own token, then ends.
      const result = new Uint8Array(300).map((_, i) => (i * 7) % 256);
      const posted = await router.call(`/requests/${c}/result`, {
        method: "POST",
        body: result,
        headers: {
          "content-type": "application/octet-stream",
          authorization: `Bearer ${jobEnv(jobOf(c), "REQUEST_TOKEN")}`,
        },
      });
      assertEquals(posted.status, 201, JSON.stringify(posted.body));
      const waiting = router.call(`/requests/${c}?wait=10`, { headers: operator });
      const jobC = jobOf(c);
      kube.setStatus("batch/v1", "Job", jobC.metadata.namespace, jobC.metadata.name, {
        conditions: [{ type: "Complete", status: "True" }],
      });
      const final = await waiting;
      assertEquals([final.status, final.body.status], [200, "succeeded"]);
      assertEquals(final.body.result.bytes, 300);
      const fetched = await router.fetch(`/requests/${c}/result`, { headers: operator });
      assertEquals(fetched.headers.get("content-type"), "application/octet-stream");
      assertEquals(new Uint8Array(await fetched.arrayBuffer()), result);
      // Upstream's alias reads the same bytes.
      const alias = await router.fetch(`/response/${c}`, { headers: operator });
      assertEquals(new Uint8Array(await alias.arrayBuffer()), result);
    });

    await t.step("a failed Job fails the run, with its reason, and is logged", async () => {
      const jobB = jobOf(b);
      kube.startPod(jobB, "Failed", {
        containerStatuses: [{
          name: "uncompress",
          state: { terminated: { reason: "OOMKilled", exitCode: 137 } },
        }],
      });
      kube.setStatus("batch/v1", "Job", jobB.metadata.namespace, jobB.metadata.name, {
        conditions: [{
          type: "Failed",
          status: "True",
          reason: "BackoffLimitExceeded",
          message: "Job has reached the specified backoff limit",
        }],
      });
      await router.waitFor(async () =>
        (await router.call(`/runs/${runId}`, { headers: operator })).body.status === "failed"
      );
      const request = (await router.call(`/requests/${b}`, { headers: operator })).body;
      assertEquals([request.status, request.reason], ["failed", "BackoffLimitExceeded"]);
      assertEquals(request.objects[0].exitCode, 137);
      assertStringIncludes(request.objects[0].message, "OOMKilled");
      await router.waitFor(() =>
        router.logs().some((l) => l.message === "a published Job failed" && l.requestUuid === b)
      );
      const line = router.logs().find((l) => l.message === "a published Job failed")!;
      assertEquals([line.level, line.runId, line.topic], ["warn", runId, "timeToUncompress"]);
      // The Job's own words, under a name of their own: not a second "message" field that the
      // logger has to rename.
      assertStringIncludes(String(line.detail), "backoff limit");
    });

    await t.step("another router process answers the same run identically", async () => {
      // Its own clone cache, as another pod would have.
      const second = await RouterProcess.start({ ...stack.env, DATA_DIR: `${stack.dataDir}-2` });
      try {
        await second.waitFor(async () => (await second.call("/readyz")).status === 200);
        // Same objects, same answer: once the second has listed, byte for byte.
        const read = async (process: RouterProcess) =>
          JSON.stringify((await process.call(`/runs/${runId}`, { headers: operator })).body);
        await second.waitFor(async () => await read(second) === await read(router));
      } finally {
        await second.stop();
      }
    });

    await t.step("listing and cancelling", async () => {
      const runs = (await router.call("/runs?limit=5", { headers: operator })).body.runs;
      assertEquals(runs[0].runId, runId);
      const failed = await router.call("/requests?status=failed", { headers: operator });
      assertEquals(failed.body.requests.map((r: any) => r.requestUuid), [b]);
      assertEquals((await router.call("/requests?status=nope", { headers: operator })).status, 400);
      const cancelled = await router.call(`/runs/${runId}`, {
        method: "DELETE",
        headers: operator,
      });
      assertEquals(cancelled.status, 200, JSON.stringify(cancelled.body));
      assertEquals(cancelled.body.deleted.length, 3);
      assertEquals(kube.objects({ kind: "Job" }), []);
      const gone = await router.call(`/requests/${a}`, { headers: operator });
      assertEquals(gone.status, 404);
    });
  } finally {
    await stack.close();
  }
});
