// Needs: the API simulator (its list and watch); the real control plane tier proves the same on
// a real API server.
import { assertEquals } from "./support/assert.ts";
import { KubeSim } from "./support/kube_sim/mod.ts";
import { connectKube } from "../src/kube/connection.ts";
import { ClusterView } from "../src/runs/cluster_view.ts";
import { requestViews } from "../src/runs/run_view.ts";
import { startRuns } from "../src/runs/start.ts";
import { silentLogger } from "../src/log/logger.ts";

const UUID = "aaaaaaaa-0000-4000-8000-000000000000";
const LABELS = {
  "app.kubernetes.io/managed-by": "gitfaas",
  "gitfaas.io/request-uuid": UUID,
  "gitfaas.io/topic": "collect",
};

function nextChange(view: ClusterView, uuid: string): Promise<void> {
  return new Promise((resolve) => {
    const stop = view.subscribe((changed) => {
      if (changed === uuid) {
        stop();
        resolve();
      }
    });
  });
}

Deno.test("the view lists, then follows a Job and its pod through to success", async () => {
  const sim = await KubeSim.start({ tls: false, namespaces: ["jobs", "other"] });
  const dir = await Deno.makeTempDir();
  await sim.writeKubeconfig(`${dir}/config`, { namespace: "jobs" });
  const kube = await connectKube({ kubeconfig: `${dir}/config`, maxInflight: 8 });
  const jobs = "/apis/batch/v1/namespaces/jobs/jobs";
  const job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "collect-1", labels: LABELS },
    spec: {
      template: {
        metadata: { labels: LABELS },
        spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] },
      },
    },
  };
  // One Job before the view starts (the list), one in a namespace it does not watch.
  await sim.call("POST", jobs, job);
  await sim.call("POST", "/apis/batch/v1/namespaces/other/jobs", job);
  const view = new ClusterView(kube, ["jobs"]);
  try {
    await view.start();
    assertEquals(view.jobs().map((j) => j.metadata.name), ["collect-1"]);
    // Its slim copy: no pod template, no managed fields.
    assertEquals(Object.keys(view.jobs()[0]), ["apiVersion", "kind", "metadata", "status"]);
    assertEquals(Object.keys(view.jobs()[0].metadata), [
      "name",
      "namespace",
      "uid",
      "creationTimestamp",
      "labels",
    ]);
    assertEquals(requestViews(view.jobs(), view.pods())[0].status, "pending");

    let changed = nextChange(view, UUID);
    await sim.call("POST", "/api/v1/namespaces/jobs/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "collect-1-abcde",
        labels: { ...LABELS, "batch.kubernetes.io/job-name": "collect-1" },
      },
      spec: { containers: [{ name: "c", image: "busybox" }] },
    });
    await sim.call("PATCH", "/api/v1/namespaces/jobs/pods/collect-1-abcde/status", {
      status: { phase: "Running" },
    });
    await changed;
    while (requestViews(view.jobs(), view.pods())[0].status !== "running") {
      await nextChange(view, UUID);
    }

    changed = nextChange(view, UUID);
    await sim.call("PATCH", `${jobs}/collect-1/status`, {
      status: { conditions: [{ type: "Complete", status: "True" }], succeeded: 1 },
    });
    await changed;
    assertEquals(requestViews(view.jobs(), view.pods())[0].status, "succeeded");

    changed = nextChange(view, UUID);
    await sim.call("DELETE", `${jobs}/collect-1`);
    await changed;
    assertEquals(view.jobs(), []);
  } finally {
    view.close();
    kube.close();
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a Job's end is reported with its own pods only, as they are now", async () => {
  // The view finds a Job's pods by their job-name label: pods of other Jobs, and a pod of its
  // own that was deleted or moved to another Job, are not counted.
  const sim = await KubeSim.start({ tls: false, namespaces: ["jobs"] });
  const dir = await Deno.makeTempDir();
  await sim.writeKubeconfig(`${dir}/config`, { namespace: "jobs" });
  const kube = await connectKube({ kubeconfig: `${dir}/config`, maxInflight: 8 });
  const jobs = "/apis/batch/v1/namespaces/jobs/jobs";
  const pods = "/api/v1/namespaces/jobs/pods";
  const finished: { job: string; pods: string[]; exitCode?: number }[] = [];
  const view = new ClusterView(kube, ["jobs"], {
    onJobFinished: (job, status) =>
      finished.push({
        job: job.metadata.name,
        pods: (status.pods ?? []).map((p) => p.name),
        exitCode: status.exitCode,
      }),
  });
  const jobNamed = (name: string) => ({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, labels: LABELS },
    spec: {
      template: {
        metadata: { labels: LABELS },
        spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] },
      },
    },
  });
  const pod = (name: string, job: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { ...LABELS, "batch.kubernetes.io/job-name": job } },
    spec: { containers: [{ name: "c", image: "busybox" }] },
  });
  const failedWith = (exitCode: number) => ({
    status: {
      phase: "Failed",
      containerStatuses: [{ name: "c", state: { terminated: { exitCode, reason: "Error" } } }],
    },
  });
  const seen = async (check: () => boolean) => {
    while (!check()) await nextChange(view, UUID);
  };
  try {
    await view.start();
    await sim.call("POST", jobs, jobNamed("fail-1"));
    await sim.call("POST", jobs, jobNamed("other-1"));
    for (const [name, job, code] of [["other-1-x", "other-1", 7], ["fail-1-a", "fail-1", 3]]) {
      await sim.call("POST", pods, pod(name as string, job as string));
      await sim.call("PATCH", `${pods}/${name}/status`, failedWith(code as number));
    }
    await sim.call("POST", pods, pod("fail-1-b", "fail-1"));
    await sim.call("PATCH", `${pods}/fail-1-b/status`, failedWith(2));
    await sim.call("POST", pods, pod("fail-1-c", "fail-1"));
    await sim.call("PATCH", `${pods}/fail-1-c/status`, failedWith(4));
    await seen(() => view.pods().length === 4);
    await sim.call("DELETE", `${pods}/fail-1-a`);
    await sim.call("PUT", `${pods}/fail-1-c`, {
      ...pod("fail-1-c", "other-1"),
      ...failedWith(4),
      metadata: { ...pod("fail-1-c", "other-1").metadata },
    });
    await seen(() =>
      view.pods().length === 3 &&
      view.pods().some((p) =>
        p.metadata?.name === "fail-1-c" &&
        p.metadata.labels?.["batch.kubernetes.io/job-name"] === "other-1"
      )
    );
    await sim.call("PATCH", `${jobs}/fail-1/status`, {
      status: { conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }] },
    });
    await seen(() => finished.length === 1);
    assertEquals(finished, [{ job: "fail-1", pods: ["fail-1-b"], exitCode: 2 }]);
  } finally {
    view.close();
    kube.close();
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the runs service says when its first list is in, once", async () => {
  const sim = await KubeSim.start({ tls: false, namespaces: ["jobs"] });
  const dir = await Deno.makeTempDir();
  await sim.writeKubeconfig(`${dir}/config`, { namespace: "jobs" });
  const kube = await connectKube({ kubeconfig: `${dir}/config`, maxInflight: 8 });
  let listed = 0;
  const done = Promise.withResolvers<void>();
  const follower = startRuns(kube, {
    scope: ["jobs"],
    index: () => null,
    maxWaiters: 10,
    logger: silentLogger,
    onListed: () => {
      listed++;
      done.resolve();
    },
  });
  try {
    await follower.view.synced();
    const timeout = setTimeout(() => done.reject(new Error("onListed not called")), 5000);
    await done.promise.finally(() => clearTimeout(timeout));
    assertEquals(listed, 1);
  } finally {
    follower.close();
    kube.close();
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
});
