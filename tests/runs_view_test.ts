import { assertEquals } from "./support/assert.ts";
import { type ListedObject, type ListedPod, requestViews, runViews } from "../src/runs/run_view.ts";

const RUN = "4bf92f3577b34da6a3ce929d0e0e4736";
const [A, B, C] = [
  "aaaaaaaa-0000-4000-8000-000000000000",
  "bbbbbbbb-0000-4000-8000-000000000000",
  "cccccccc-0000-4000-8000-000000000000",
];

function job(
  uuid: string,
  topic: string,
  options: { parent?: string; created: string; done?: "Complete" | "Failed"; at?: string },
): ListedObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: `${topic}-x`,
      namespace: "jobs",
      creationTimestamp: options.created,
      labels: {
        "gitfaas.io/topic": topic,
        "gitfaas.io/request-uuid": uuid,
        "gitfaas.io/run-id": RUN,
        "gitfaas.io/revision": "c0ffee",
        ...(options.parent ? { "gitfaas.io/parent": options.parent } : {}),
      },
    },
    status: options.done
      ? {
        startTime: options.created,
        conditions: [{
          type: options.done,
          status: "True",
          lastTransitionTime: options.at,
          ...(options.done === "Failed" ? { reason: "BackoffLimitExceeded" } : {}),
        }],
      }
      : { startTime: options.created, active: 1 },
  };
}

function runningPod(uuid: string, jobName: string): ListedPod {
  return {
    metadata: {
      name: `${jobName}-p`,
      labels: { "gitfaas.io/request-uuid": uuid, "batch.kubernetes.io/job-name": jobName },
    },
    status: { phase: "Running" },
  };
}

Deno.test("a three-step pipeline is one run tree, running while its last step runs", () => {
  const objects = [
    job(A, "collect", {
      created: "2026-01-01T00:00:00Z",
      done: "Complete",
      at: "2026-01-01T00:00:10Z",
    }),
    job(B, "uncompress", {
      parent: A,
      created: "2026-01-01T00:00:08Z",
      done: "Complete",
      at: "2026-01-01T00:00:20Z",
    }),
    job(C, "convert", { parent: B, created: "2026-01-01T00:00:18Z" }),
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "settings",
        namespace: "jobs",
        creationTimestamp: "2026-01-01T00:00:18Z",
        labels: { "gitfaas.io/request-uuid": C, "gitfaas.io/topic": "convert" },
      },
    },
  ];
  const requests = requestViews(objects, [runningPod(C, "convert-x")]);
  assertEquals(requests.map((r) => [r.topic, r.status, r.parent, r.children]), [
    ["convert", "running", B, []],
    ["uncompress", "succeeded", A, [C]],
    ["collect", "succeeded", null, [B]],
  ]);
  assertEquals(requests[2].finishedAt, "2026-01-01T00:00:10Z");
  const [run] = runViews(requests);
  assertEquals(run.status, "running");
  assertEquals(run.topic, "collect");
  assertEquals(run.durationSeconds, null);
  assertEquals(run.requests.map((r) => r.topic), ["collect", "uncompress", "convert"]);
});

Deno.test("a failed step fails the run and says why; a removed parent stays in the tree", () => {
  const objects = [
    job(B, "uncompress", {
      parent: A,
      created: "2026-01-01T00:00:08Z",
      done: "Complete",
      at: "2026-01-01T00:00:20Z",
    }),
    job(C, "convert", {
      parent: B,
      created: "2026-01-01T00:00:18Z",
      done: "Failed",
      at: "2026-01-01T00:00:30Z",
    }),
  ];
  const [run] = runViews(requestViews(objects));
  assertEquals(run.status, "failed");
  assertEquals(run.requests.map((r) => [r.requestUuid, r.status, r.children]), [
    [A, "deleted", [B]],
    [B, "succeeded", [C]],
    [C, "failed", []],
  ]);
  assertEquals(run.requests[2].reason, "BackoffLimitExceeded");
  assertEquals(run.durationSeconds, 22);
});
