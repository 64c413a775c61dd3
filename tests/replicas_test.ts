// Needs: the API simulator (server-side apply of ConfigMaps and Leases, list, watch with a field
// selector).
import { assert, assertEquals } from "./support/assert.ts";
import { fakeAnswer, FakeKube } from "./support/fake_kube.ts";
import { KubeSim } from "./support/kube_sim/mod.ts";
import { connectKube, type KubeConnection } from "../src/kube/connection.ts";
import { silentLogger } from "../src/log/logger.ts";
import { replicaIdentity } from "../src/replicas/identity.ts";
import {
  dropLease,
  liveReplicas,
  renewLease,
  replicasAgree,
} from "../src/replicas/replica_lease.ts";
import { Replicas } from "../src/replicas/replicas.ts";
import {
  recordSyncRequest,
  type SyncRequest,
  watchSyncRequests,
} from "../src/replicas/sync_requests.ts";

/** Replica r1 of `gitfaas`, whose syncer serves `revision` and never fails. */
function replicaServing(revision: string, kube: KubeConnection): Replicas {
  return new Replicas({
    kube,
    identity: { name: "r1", namespace: "gitfaas" },
    syncer: {
      index: { revision },
      sync: () => Promise.resolve(),
      status: () => ({
        revision,
        indexBuiltAt: null,
        topics: 0,
        lastSync: null,
        lastGoodSyncAt: null,
        consecutiveFailures: 0,
      }),
    },
    logger: silentLogger,
  });
}

async function withKube(test: (kube: KubeConnection) => Promise<void>) {
  const sim = await KubeSim.start({ tls: false, namespaces: ["gitfaas"] });
  const dir = await Deno.makeTempDir();
  await sim.writeKubeconfig(`${dir}/config`, { namespace: "gitfaas" });
  const kube = await connectKube({ kubeconfig: `${dir}/config`, maxInflight: 8 });
  try {
    await test(kube);
  } finally {
    kube.close();
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("identity: the pod's, or host name and pid made into a name", () => {
  const fallback = { hostname: "Dev_Box.local", pid: 42, namespace: "jobs" };
  assertEquals(
    replicaIdentity({ POD_NAME: "gitfaas-7d9-x2", POD_NAMESPACE: "gitfaas" }, fallback),
    {
      name: "gitfaas-7d9-x2",
      namespace: "gitfaas",
    },
  );
  assertEquals(replicaIdentity({}, fallback), { name: "dev-box-local-42", namespace: "jobs" });
});

Deno.test("a recorded sync request reaches a watcher, and one that starts later", async () => {
  await withKube(async (kube) => {
    const stop = new AbortController();
    const seen: SyncRequest[] = [];
    let notify = () => {};
    await watchSyncRequests(kube, {
      namespace: "gitfaas",
      signal: stop.signal,
      onRequest: (request) => {
        seen.push(request);
        notify();
      },
    });
    const arrived = new Promise<void>((resolve) => notify = resolve);
    const request = { revision: "a".repeat(40), at: "2026-11-30T00:00:00.000Z", by: "r1" };
    await recordSyncRequest(kube, request, { namespace: "gitfaas" });
    await arrived;
    assertEquals(seen, [request]);

    const later: SyncRequest[] = [];
    await watchSyncRequests(kube, {
      namespace: "gitfaas",
      signal: stop.signal,
      onRequest: (r) => later.push(r),
    });
    assertEquals(later, [request]);
    stop.abort();
  });
});

Deno.test("leases: live replicas listed, expired ones not, agreement on the revision", async () => {
  await withKube(async (kube) => {
    const now = new Date();
    const state = { revision: "abc", lastSync: now.toISOString(), healthy: true };
    await renewLease(kube, state, { namespace: "gitfaas", name: "r1", durationSeconds: 30 });
    await renewLease(kube, state, { namespace: "gitfaas", name: "r2", durationSeconds: 30 });
    await renewLease(kube, { ...state, revision: "old" }, {
      namespace: "gitfaas",
      name: "dead",
      durationSeconds: 30,
      now: new Date(now.getTime() - 60_000),
    });
    let live = await liveReplicas(kube, { namespace: "gitfaas" });
    assertEquals(live.map((r) => [r.name, r.revision, r.healthy]), [
      ["r1", "abc", true],
      ["r2", "abc", true],
    ]);
    assert(replicasAgree(live));
    await renewLease(kube, { ...state, revision: "def" }, {
      namespace: "gitfaas",
      name: "r2",
      durationSeconds: 30,
    });
    live = await liveReplicas(kube, { namespace: "gitfaas" });
    assert(!replicasAgree(live));
    await dropLease(kube, { namespace: "gitfaas", name: "r2" });
    await dropLease(kube, { namespace: "gitfaas", name: "r2" });
    assertEquals((await liveReplicas(kube, { namespace: "gitfaas" })).map((r) => r.name), ["r1"]);
  });
});

import { clusterTickRecord } from "../src/schedule/tick_record.ts";

Deno.test("tick records: one key per topic, written by any replica, read by any", async () => {
  await withKube(async (kube) => {
    const record = clusterTickRecord(kube, { namespace: "gitfaas" });
    assertEquals(await record.lastFired("nightly"), undefined);
    await record.recordFired("nightly", new Date("2026-03-01T10:00:00Z"));
    await record.recordFired("hourly", new Date("2026-03-01T11:00:00Z"));
    assertEquals(await record.lastFired("nightly"), new Date("2026-03-01T10:00:00Z"));
    assertEquals(await record.lastFired("hourly"), new Date("2026-03-01T11:00:00Z"));
  });
});

Deno.test("a replica that stops while its Lease is being renewed leaves no Lease behind", async () => {
  // The API server's one Lease, changed when a request reaches it; a renewal is held on the way
  // (in the connection's queue, or slow to arrive) until the test lets it through.
  let lease = false;
  const renewal = Promise.withResolvers<void>();
  const renewed = Promise.withResolvers<void>();
  const kube = new FakeKube({
    answer: async (request) => {
      if (request.method === "PATCH" && request.path.includes("/leases/")) {
        await renewal.promise;
        lease = true;
        renewed.resolve();
      }
      if (request.method === "DELETE" && request.path.includes("/leases/")) lease = false;
      return fakeAnswer(200, request.body);
    },
  });
  const replicas = replicaServing("abc", kube);
  replicas.beatNow();
  // The renewal gets through after stop() began (a timer runs after stop()'s own steps).
  setTimeout(() => renewal.resolve(), 20);
  await replicas.stop();
  await renewed.promise;
  assertEquals(lease, false, "the stopped replica's Lease is still there: /status lists it");
});

Deno.test("a replica that cannot read sync requests still renews its Lease", async () => {
  // RBAC (or the API server) refuses the list of the shared ConfigMap: the replica must still
  // be listed live, or /status would hide the very replica that has the problem.
  const renewed = Promise.withResolvers<void>();
  const kube = new FakeKube({
    answer: (request) => {
      if (request.method === "GET" && request.path.includes("/configmaps")) {
        return Promise.resolve(fakeAnswer(403, {
          kind: "Status",
          status: "Failure",
          reason: "Forbidden",
          code: 403,
          message: "configmaps is forbidden",
        }));
      }
      if (request.method === "PATCH" && request.path.includes("/leases/")) renewed.resolve();
      return Promise.resolve(fakeAnswer(200, request.body));
    },
  });
  const replicas = replicaServing("abc", kube);
  replicas.start();
  try {
    const timeout = setTimeout(() => renewed.reject(new Error("no Lease renewal in 5 s")), 5000);
    await renewed.promise.finally(() => clearTimeout(timeout));
  } finally {
    await replicas.stop();
  }
});
