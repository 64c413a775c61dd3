/**
 * Jobs a publish creates, run by the real controllers: the Job controller starts a pod, kwok
 * plays it to Succeeded (or Failed, on request), the Job controller marks the Job Complete (or
 * Failed after `backoffLimit`), the TTL-after-finished controller removes the Job and the
 * garbage collector its pod and its result Secret. The router follows all of it through its
 * watch of the real API server (`GET /requests/<uuid>?wait=`).
 */

import { assert, assertEquals } from "../support/assert.ts";
import { FAIL_ANNOTATION } from "../support/cluster/control_plane.ts";
import {
  eventually,
  getOrNone,
  list,
  type Obj,
  startClusterStack,
  trueCondition,
} from "../support/cluster/testing.ts";
import { configJson } from "../support/fixtures.ts";

const QUICK_JOB = `apiVersion: batch/v1
kind: Job
metadata:
  generateName: quick-
spec:
  ttlSecondsAfterFinished: 5
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.36
          env:
            - name: MESSAGE
              value: "{{MESSAGE}}"
`;

const FAILING_JOB = `apiVersion: batch/v1
kind: Job
metadata:
  generateName: failing-
spec:
  backoffLimit: 1
  template:
    metadata:
      annotations:
        ${FAIL_ANNOTATION}: "true"
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.36
`;

const FILES = {
  "config.json": configJson({ quick: ["quick.yaml"], failing: ["failing.yaml"] }),
  "quick.yaml": QUICK_JOB,
  "failing.yaml": FAILING_JOB,
};

Deno.test("a published Job completes, then TTL removes it and the garbage collector its pod and result", async () => {
  const stack = await startClusterStack("jobs", { files: FILES });
  const { cluster, namespace } = stack;
  try {
    const { status, body } = await stack.publish("quick", { body: "hello" });
    assertEquals(status, 202, JSON.stringify(body));
    assertEquals(body.objects[0].outcome, "created");
    const name: string = body.objects[0].name;
    const jobPath = `/apis/batch/v1/namespaces/${namespace}/jobs/${name}`;
    const pods = () => list(cluster, `/api/v1/namespaces/${namespace}/pods`, `job-name=${name}`);

    // The router follows the real Job through its watch: a wait ends when the Job does.
    const done = await stack.router.call(`/requests/${body.requestUuid}?wait=60`);
    assertEquals([done.status, done.body.status], [200, "succeeded"], JSON.stringify(done.body));
    // A result is kept in a Secret the Job owns, so the garbage collector takes it with the Job.
    const posted = await stack.router.call(`/requests/${body.requestUuid}/result`, {
      method: "POST",
      body: "42",
      headers: { "content-type": "text/plain" },
    });
    assertEquals(posted.status, 201, JSON.stringify(posted.body));
    const secretPath = `/api/v1/namespaces/${namespace}/secrets/gitfaas-result-${body.requestUuid}`;
    const secret = await cluster.json(secretPath);
    assertEquals(secret.metadata.ownerReferences[0].name, name);

    const complete = await eventually(`Job ${name} Complete`, async () => {
      const job = await getOrNone(cluster, jobPath);
      return trueCondition(job, "Complete") ? job : undefined;
    });
    assertEquals(complete.status.succeeded, 1);
    assertEquals(complete.metadata.labels["gitfaas.io/request-uuid"], body.requestUuid);
    const [pod] = await pods();
    assertEquals(pod.status.phase, "Succeeded");
    assertEquals(pod.spec.nodeName, "gitfaas-node");
    // The router's labels reach the pod through the template.
    assertEquals(pod.metadata.labels["gitfaas.io/topic"], "quick");

    await eventually(
      `Job ${name} removed by its TTL`,
      async () => (await getOrNone(cluster, jobPath)) === undefined,
    );
    await eventually(`the pod of ${name} collected`, async () => (await pods()).length === 0);
    await eventually(
      "the result collected",
      async () => (await getOrNone(cluster, secretPath)) === undefined,
    );
  } finally {
    await stack.close();
  }
});

Deno.test("a failing pod with backoffLimit 1 gives two pods and a Failed Job (BackoffLimitExceeded)", async () => {
  const stack = await startClusterStack("jobs-fail", { files: FILES });
  const { cluster, namespace } = stack;
  try {
    const { status, body } = await stack.publish("failing");
    assertEquals(status, 202, JSON.stringify(body));
    const name: string = body.objects[0].name;
    const jobPath = `/apis/batch/v1/namespaces/${namespace}/jobs/${name}`;
    // The Job controller waits ~10 s (its pod backoff) before the second pod.
    const failed: Obj = await eventually(`Job ${name} Failed`, async () => {
      const job = await getOrNone(cluster, jobPath);
      return trueCondition(job, "Failed") ? job : undefined;
    }, 120_000);
    assertEquals(trueCondition(failed, "Failed")!.reason, "BackoffLimitExceeded");
    const request = await stack.router.call(`/requests/${body.requestUuid}?wait=60`);
    assertEquals(
      [request.status, request.body.status, request.body.reason],
      [200, "failed", "BackoffLimitExceeded"],
      JSON.stringify(request.body),
    );
    assertEquals(failed.status.failed, 2);
    const pods = await list(cluster, `/api/v1/namespaces/${namespace}/pods`, `job-name=${name}`);
    assertEquals(pods.map((p) => p.status.phase), ["Failed", "Failed"]);
    for (const pod of pods) {
      const state = pod.status.containerStatuses[0].state.terminated;
      assert(state.exitCode === 1, JSON.stringify(state));
    }
  } finally {
    await stack.close();
  }
});
