import { assertEquals } from "./support/assert.ts";
import { isFinal, jobStatus, type PodLike, requestStatus, runStatus } from "../src/runs/status.ts";

const T0 = "2026-11-30T10:00:00Z";
const T1 = "2026-11-30T10:00:05Z";

function pod(name: string, status: PodLike["status"], created = T0): PodLike {
  return { metadata: { name, creationTimestamp: created }, status };
}

Deno.test("a Job with no pod yet is pending; a running pod makes it running", () => {
  assertEquals(jobStatus({ status: {} }), { status: "pending" });
  assertEquals(
    jobStatus({ status: { startTime: T0 } }, [pod("p", { phase: "Running" })]),
    { status: "running", startedAt: T0, pods: [{ name: "p", phase: "Running" }] },
  );
});

Deno.test("a pod that cannot pull its image keeps the Job pending, with the reason", () => {
  const status = jobStatus({ status: {} }, [
    pod("p", {
      phase: "Pending",
      containerStatuses: [{ state: { waiting: { reason: "ImagePullBackOff" } } }],
    }),
  ]);
  assertEquals(status.status, "pending");
  assertEquals(status.reason, "ImagePullBackOff");
});

Deno.test("a suspended Job is pending", () => {
  assertEquals(jobStatus({ spec: { suspend: true } }).reason, "Suspended");
});

Deno.test("Complete is succeeded with its completion time", () => {
  assertEquals(
    jobStatus({
      status: {
        startTime: T0,
        completionTime: T1,
        conditions: [{ type: "Complete", status: "True" }],
      },
    }),
    { status: "succeeded", startedAt: T0, finishedAt: T1 },
  );
});

Deno.test("Failed gives the Job's reason and the last pod's, with its exit code", () => {
  const status = jobStatus(
    {
      status: {
        conditions: [{
          type: "Failed",
          status: "True",
          reason: "BackoffLimitExceeded",
          message: "Job has reached the specified backoff limit",
          lastTransitionTime: T1,
        }],
      },
    },
    [
      pod("a", {
        phase: "Failed",
        containerStatuses: [{ state: { terminated: { reason: "Error", exitCode: 2 } } }],
      }, T0),
      pod("b", {
        phase: "Failed",
        containerStatuses: [{ state: { terminated: { reason: "OOMKilled", exitCode: 137 } } }],
      }, T1),
    ],
  );
  assertEquals(status.status, "failed");
  assertEquals(status.reason, "BackoffLimitExceeded");
  assertEquals(status.exitCode, 137);
  assertEquals(
    status.message,
    "Job has reached the specified backoff limit; last pod b: OOMKilled (exit code 137)",
  );
  assertEquals(status.finishedAt, T1);
  assertEquals(status.pods?.map((p) => p.reason), ["Error", "OOMKilled"]);
});

Deno.test("a deadline or a failure target counts as failed at once", () => {
  assertEquals(
    jobStatus({
      status: {
        conditions: [{ type: "FailureTarget", status: "True", reason: "DeadlineExceeded" }],
      },
    }).reason,
    "DeadlineExceeded",
  );
  // A condition that is not True does not count.
  assertEquals(
    jobStatus({ status: { conditions: [{ type: "Failed", status: "False" }] } }).status,
    "pending",
  );
});

Deno.test("request and run statuses from their parts", () => {
  assertEquals(requestStatus(["succeeded", "running"]), "running");
  assertEquals(requestStatus(["succeeded", "failed", "running"]), "failed");
  assertEquals(requestStatus(["succeeded", "succeeded"]), "succeeded");
  assertEquals(requestStatus(["succeeded", "deleted"]), "deleted");
  assertEquals(requestStatus([]), "deleted");
  assertEquals(runStatus(["succeeded", "pending"]), "running");
  assertEquals(runStatus(["succeeded", "failed", "running"]), "failed");
  assertEquals(runStatus(["deleted", "succeeded"]), "succeeded");
  assertEquals(runStatus(["deleted"]), "deleted");
  assertEquals(
    ["pending", "running", "succeeded", "failed", "deleted"].map((s) => isFinal(s as never)),
    [false, false, true, true, true],
  );
});
