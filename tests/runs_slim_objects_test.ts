import fc from "fast-check";
import { assert, assertEquals } from "./support/assert.ts";
import { finishedJob, requestUuidOf, succeededPod } from "./support/api_objects.ts";
import { type ListedObject, type ListedPod, requestViews, runViews } from "../src/runs/run_view.ts";
import { slimJob, slimPod } from "../src/runs/slim_objects.ts";

type Json = Record<string, unknown>;

/** A Job whose pod template carries a 128 KiB message, as a publish can make one. */
function largeJob(): Json {
  const job = finishedJob(1) as Json & { spec: { template: { spec: { containers: Json[] } } } };
  job.spec.template.spec.containers[0].env = [{ name: "MESSAGE", value: "x".repeat(128 << 10) }];
  return job;
}

/** Both answers as the runs API sends them: the JSON text of every request and every run. */
function answers(jobs: readonly unknown[], pods: readonly unknown[]): string {
  const requests = requestViews(jobs as ListedObject[], pods as ListedPod[]);
  return JSON.stringify({ requests, runs: runViews(requests) });
}

Deno.test("the view keeps of a large Job only what the runs API reads", () => {
  const job = largeJob();
  const slim = slimJob(job);
  assertEquals(slim, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: "echo-0000019e",
      namespace: "gitfaas-jobs",
      uid: "c0000001-9e37-49b9-8f4a-7c15f39cc060",
      creationTimestamp: "2026-11-30T08:00:00Z",
      labels: {
        "gitfaas.io/request-uuid": requestUuidOf(1),
        "gitfaas.io/topic": "job",
        "gitfaas.io/run-id": "000000079e3779b97f4a7c15f39cc060",
        "gitfaas.io/revision": "3f9c1e7a5b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e",
        "gitfaas.io/function-uid": "f0000001-9e37-49b9-8f4a-7c15f39cc060",
      },
    },
    status: {
      // SuccessCriteriaMet, which Complete shadows, is not kept.
      conditions: [{
        type: "Complete",
        status: "True",
        reason: "CompletionsReached",
        message: "Reached expected number of succeeded pods",
        lastTransitionTime: "2026-11-30T08:00:04Z",
      }],
      startTime: "2026-11-30T08:00:01Z",
      completionTime: "2026-11-30T08:00:04Z",
    },
  });
  assert(JSON.stringify(slim).length < 1024, `${JSON.stringify(slim).length} bytes`);
  const pod = slimPod(succeededPod(1));
  assertEquals(pod, {
    metadata: {
      name: "echo-0000019e-00000",
      creationTimestamp: "2026-11-30T08:00:01Z",
      labels: {
        "gitfaas.io/request-uuid": requestUuidOf(1),
        "batch.kubernetes.io/job-name": "echo-0000019e",
      },
    },
    status: {
      phase: "Succeeded",
      reason: undefined,
      initContainerStatuses: undefined,
      containerStatuses: undefined,
    },
  });
  // The runs API answers the same from the slim copies as from the whole objects.
  assertEquals(answers([slim], [pod]), answers([job], [succeededPod(1)]));
});

// Job statuses and pods as a Job controller and a kubelet can leave them.
const text = fc.constantFrom("Error", "OOMKilled", "ImagePullBackOff", "CrashLoopBackOff", "x");
const time = fc.constantFrom("2026-11-30T08:00:01Z", "2026-11-30T08:00:09Z", undefined);
const condition = fc.record({
  type: fc.constantFrom(
    "Failed",
    "FailureTarget",
    "Complete",
    "SuccessCriteriaMet",
    "Suspended",
    "SuccessPolicy",
  ),
  status: fc.constantFrom("True", "False", "Unknown"),
  reason: fc.option(text, { nil: undefined }),
  message: fc.option(fc.constantFrom("BackoffLimitExceeded", "Reached"), { nil: undefined }),
  lastTransitionTime: time,
  lastProbeTime: time,
}, { requiredKeys: ["type", "status"] });
const terminated = fc.record({
  exitCode: fc.option(fc.constantFrom(0, 1, 137), { nil: undefined }),
  reason: fc.option(text, { nil: undefined }),
  finishedAt: time,
  containerID: fc.constant("containerd://0123"),
}, { requiredKeys: [] });
const state = fc.record({
  waiting: fc.record({ reason: fc.option(text, { nil: undefined }), message: text }),
  running: fc.record({ startedAt: fc.constant("2026-11-30T08:00:01Z") }),
  terminated,
}, { requiredKeys: [] });
const container = fc.record({
  name: fc.constantFrom("main", "init"),
  image: fc.constant("busybox"),
  state,
  lastState: state,
  restartCount: fc.nat(3),
}, { requiredKeys: ["name"] });
const pod = fc.record({
  name: fc.constantFrom("p-a", "p-b", "p-c"),
  created: time,
  phase: fc.option(fc.constantFrom("Pending", "Running", "Succeeded", "Failed"), {
    nil: undefined,
  }),
  reason: fc.option(fc.constantFrom("Evicted", "DeadlineExceeded"), { nil: undefined }),
  containers: fc.option(fc.array(container, { maxLength: 2 }), { nil: undefined }),
  init: fc.option(fc.array(container, { maxLength: 2 }), { nil: undefined }),
  jobLabel: fc.constantFrom("both", "old", "new"),
});
const job = fc.record({
  suspend: fc.option(fc.boolean(), { nil: undefined }),
  conditions: fc.option(fc.array(condition, { maxLength: 4 }), { nil: undefined }),
  startTime: time,
  completionTime: time,
  pods: fc.array(pod, { maxLength: 3 }),
});

Deno.test("the runs API answers the same from slim copies as from whole objects", () => {
  fc.assert(
    fc.property(fc.array(job, { minLength: 1, maxLength: 3 }), (drawn) => {
      const jobs: Json[] = [];
      const pods: Json[] = [];
      drawn.forEach((d, i) => {
        const whole = finishedJob(i) as Json & { spec: Json; status: Json };
        whole.spec.suspend = d.suspend;
        whole.status = {
          conditions: d.conditions,
          startTime: d.startTime,
          completionTime: d.completionTime,
          active: 1,
        };
        jobs.push(whole);
        d.pods.forEach((p, n) => {
          const listed = succeededPod(i) as Json & { metadata: Json & { labels: Json } };
          listed.metadata.name = `${p.name}-${i}-${n}`;
          listed.metadata.creationTimestamp = p.created;
          const labels = listed.metadata.labels;
          if (p.jobLabel === "old") delete labels["batch.kubernetes.io/job-name"];
          if (p.jobLabel === "new") delete labels["job-name"];
          listed.status = {
            phase: p.phase,
            reason: p.reason,
            containerStatuses: p.containers,
            initContainerStatuses: p.init,
            startTime: p.created,
          };
          pods.push(listed);
        });
      });
      assertEquals(answers(jobs.map(slimJob), pods.map(slimPod)), answers(jobs, pods));
    }),
    { numRuns: 500 },
  );
});
