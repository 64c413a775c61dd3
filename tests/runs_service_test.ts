// Needs: the API simulator (list, watch, status subresource, Secrets). Garbage collection of
// pods and result Secrets is the real control plane's to prove (the simulator runs no
// controllers).
import { assert, assertEquals } from "./support/assert.ts";
import { KubeSim } from "./support/kube_sim/mod.ts";
import { connectKube, type KubeConnection } from "../src/kube/connection.ts";
import { ClusterView } from "../src/runs/cluster_view.ts";
import { Runs, TooManyWaitersError } from "../src/runs/runs.ts";

const RUN = "4bf92f3577b34da6a3ce929d0e0e4736";
const JOBS = "/apis/batch/v1/namespaces/jobs/jobs";

function jobOf(uuid: string, topic: string, parent?: string) {
  const labels = {
    "app.kubernetes.io/managed-by": "gitfaas",
    "gitfaas.io/request-uuid": uuid,
    "gitfaas.io/topic": topic,
    "gitfaas.io/run-id": RUN,
    ...(parent ? { "gitfaas.io/parent": parent } : {}),
  };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: `${topic}-job`, labels },
    spec: {
      template: {
        metadata: { labels },
        spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] },
      },
    },
  };
}

async function withRuns(
  test: (context: { sim: KubeSim; runs: Runs; kube: KubeConnection }) => Promise<void>,
) {
  const sim = await KubeSim.start({ tls: false, namespaces: ["jobs"] });
  const dir = await Deno.makeTempDir();
  await sim.writeKubeconfig(`${dir}/config`, { namespace: "jobs" });
  const kube = await connectKube({ kubeconfig: `${dir}/config`, maxInflight: 8 });
  const view = new ClusterView(kube, ["jobs"]);
  await view.start();
  const runs = new Runs({ kube, view, namespaces: ["jobs"], otherKinds: () => [], maxWaiters: 2 });
  try {
    await test({ sim, runs, kube });
  } finally {
    view.close();
    kube.close();
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const A = "aaaaaaaa-0000-4000-8000-000000000000";
const B = "bbbbbbbb-0000-4000-8000-000000000000";

Deno.test("wait returns when the Job completes, and at the timeout before that", async () => {
  await withRuns(async ({ sim, runs }) => {
    await sim.call("POST", JOBS, jobOf(A, "collect"));
    const early = await runs.wait(A, { timeoutMs: 50 });
    assertEquals(early?.status, "pending");
    const waiting = runs.wait(A, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 20));
    await sim.call("PATCH", `${JOBS}/collect-job/status`, {
      status: { conditions: [{ type: "Complete", status: "True" }] },
    });
    assertEquals((await waiting)?.status, "succeeded");
    assertEquals(runs.waiters, 0);
  });
});

Deno.test("callers beyond MAX_WAITERS are turned away", async () => {
  await withRuns(async ({ sim, runs }) => {
    await sim.call("POST", JOBS, jobOf(A, "collect"));
    const first = runs.wait(A, { timeoutMs: 200 });
    const second = runs.wait(A, { timeoutMs: 200 });
    let refused: unknown;
    await runs.wait(A, { timeoutMs: 200 }).catch((e) => refused = e);
    assert(refused instanceof TooManyWaitersError);
    await Promise.all([first, second]);
  });
});

Deno.test("a binary result round-trips byte for byte", async () => {
  await withRuns(async ({ sim, runs }) => {
    await sim.call("POST", JOBS, jobOf(A, "collect"));
    await runs.request(A);
    const body = new Uint8Array(256).map((_, i) => i);
    assertEquals(await runs.getResult(A), undefined);
    assert(await runs.putResult(A, { contentType: "application/x-tar", body }));
    const result = await runs.getResult(A);
    assertEquals(result?.contentType, "application/x-tar");
    assertEquals(result?.body, body);
    const secret = sim.getObject("v1", "Secret", "jobs", `gitfaas-result-${A}`);
    assertEquals(secret?.metadata.ownerReferences?.[0]?.kind, "Job");
    assertEquals(await runs.putResult(B, { contentType: "text/plain", body }), false);
  });
});

Deno.test("cancel with descendants deletes the request's Jobs and its children's", async () => {
  await withRuns(async ({ sim, runs }) => {
    await sim.call("POST", JOBS, jobOf(A, "collect"));
    await sim.call("POST", JOBS, jobOf(B, "uncompress", A));
    while (runs.requests({ limit: 10 }).length < 2) await new Promise((r) => setTimeout(r, 5));
    assertEquals((await runs.request(A))?.children, [B]);
    const deleted = await runs.cancel(A, { descendants: true });
    assertEquals(deleted.map((d) => [d.requestUuid, d.name, d.outcome]), [
      [B, "uncompress-job", "deleted"],
      [A, "collect-job", "deleted"],
    ]);
    assertEquals(sim.objects({ kind: "Job" }), []);
  });
});

Deno.test("a run lists its requests as a tree, and a child names its parent's span", async () => {
  await withRuns(async ({ sim, runs }) => {
    await sim.call("POST", JOBS, jobOf(A, "collect"));
    await sim.call("POST", JOBS, jobOf(B, "uncompress", A));
    while (runs.requests({ limit: 10 }).length < 2) await new Promise((r) => setTimeout(r, 5));
    const run = runs.run(RUN);
    assertEquals(run?.topic, "collect");
    assertEquals(run?.requests.map((r) => [r.topic, r.children.length]), [
      ["collect", 1],
      ["uncompress", 0],
    ]);
    assertEquals(runs.runs(10).map((r) => r.runId), [RUN]);
    assertEquals(runs.requests({ topic: "uncompress", limit: 10 }).map((r) => r.requestUuid), [B]);
  });
});
