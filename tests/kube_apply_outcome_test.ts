/**
 * What a server-side apply reports when the object was already there: `unchanged` when the
 * apply changed nothing, even if a controller wrote the object's status in between (found on
 * the real API server: the Deployment controller does), and `configured` when it changed
 * something.
 */

import { assertEquals } from "./support/assert.ts";
import { fakeAnswer, FakeKube } from "./support/fake_kube.ts";
import { applyObject, type KubeObject } from "../src/kube/apply.ts";

const APPLIED: KubeObject = {
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name: "web", namespace: "default", labels: { app: "web" } },
  spec: { parallelism: 2 },
};

/** The object as the server keeps it: the applied fields plus what the server and others add. */
function stored(resourceVersion: string, extra: Partial<KubeObject> = {}): KubeObject {
  return {
    ...structuredClone(APPLIED),
    ...extra,
    metadata: {
      ...structuredClone(APPLIED.metadata),
      resourceVersion,
      generation: 1,
      managedFields: [{ manager: "gitfaas", operation: "Apply" }],
      ...(extra.metadata ?? {}),
    },
  };
}

/** Applies APPLIED to a fake whose GET answers `before` and whose apply answers `after`. */
async function outcomeOf(before: KubeObject, after: KubeObject): Promise<string> {
  const kube = new FakeKube({
    answer: (request) => fakeAnswer(200, request.method === "GET" ? before : after),
  });
  const applied = await applyObject(kube, {
    object: structuredClone(APPLIED),
    resource: { name: "jobs", namespaced: true },
    create: false,
  }, {
    deadline: new AbortController().signal,
    remainingMs: () => 10_000,
    checkExisting: true,
    ownerLabel: ["gitfaas.io/request-uuid", "r1"],
  });
  return applied.outcome;
}

Deno.test("an apply that changed nothing is unchanged, though a controller wrote the status", async () => {
  const before = stored("10", { status: { active: 1 } });
  // Between the read and the apply, the controller wrote the status and an annotation of its own.
  const after = stored("11", {
    status: { active: 1, ready: 1 },
    metadata: { annotations: { "controller.example/revision": "1" } },
  });
  assertEquals(await outcomeOf(before, after), "unchanged");
});

Deno.test("an apply that changed a field is configured", async () => {
  const before = stored("10", { spec: { parallelism: 1 } });
  const after = stored("11", { metadata: { generation: 2 } });
  assertEquals(await outcomeOf(before, after), "configured");
});

Deno.test("an apply that changed only a label it sets is configured", async () => {
  const before = stored("10", { metadata: { labels: { app: "old" } } });
  assertEquals(await outcomeOf(before, stored("11")), "configured");
});
