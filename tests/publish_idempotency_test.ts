/**
 * Idempotency-Key in process: a `Publisher` on a real connection to the API simulator, with a
 * clock the test moves. The same request sent again is `unchanged` however much later (the
 * request token's expiry moved on), a key reused for another request is refused before any
 * write, and objects applied before digests were stored are not held against a request.
 */

import { assert, assertEquals, assertRejects, assertStringIncludes } from "./support/assert.ts";
import { configJson } from "./support/fixtures.ts";
import { KubeSim } from "./support/kube_sim/mod.ts";
import { connectKube, type KubeConnection } from "../src/kube/connection.ts";
import { OPEN_POLICY } from "../src/policy/policy.ts";
import { Publisher, PublishError, type PublishRequest } from "../src/publish/publisher.ts";
import { requestDigest } from "../src/publish/values.ts";
import { DEFAULTS } from "../src/settings/settings.ts";
import type { CommitFiles } from "../src/sync/source.ts";
import { buildTopicIndex, type TopicIndex } from "../src/topics/topic_index.ts";

const INPUT = `apiVersion: v1
kind: ConfigMap
metadata:
  name: input-{{RANDOM}}
data:
  message: "{{MESSAGE}}"
  token: "{{REQUEST_TOKEN}}"
`;

const STEP = `apiVersion: batch/v1
kind: Job
metadata:
  generateName: step-
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: step
          image: busybox
          env:
            - { name: MESSAGE, value: "{{MESSAGE}}" }
            - { name: REQUEST_TOKEN, value: "{{REQUEST_TOKEN}}" }
            - { name: TRACEPARENT, value: "{{TRACEPARENT}}" }
`;

const FILES: Record<string, string> = {
  "config.json": configJson({ step: ["input.yaml", "step.yaml"] }),
  "input.yaml": INPUT,
  "step.yaml": STEP,
};

async function indexOf(files: Record<string, string>): Promise<TopicIndex> {
  const commit: CommitFiles = {
    revision: "c1",
    entry: (path) =>
      Promise.resolve(path in files ? { kind: "file", oid: path } : { kind: "missing" }),
    read: (oid) => Promise.resolve(new TextEncoder().encode(files[oid])),
  };
  return await buildTopicIndex(commit, {
    configPath: "config.json",
    policy: OPEN_POLICY,
    maxManifestsPerTopic: DEFAULTS.maxManifestsPerTopic,
    maxObjectsPerPublish: DEFAULTS.maxObjectsPerPublish,
  });
}

async function withPublisher(
  test: (
    t: { sim: KubeSim; kube: KubeConnection; publisher: Publisher; clock: { now: number } },
  ) => Promise<void>,
): Promise<void> {
  const sim = await KubeSim.start({ tls: false });
  const dir = await Deno.makeTempDir();
  await sim.writeKubeconfig(`${dir}/config`);
  const kube = await connectKube({ kubeconfig: `${dir}/config`, maxInflight: 8 });
  const index = await indexOf(FILES);
  const clock = { now: 1_800_000_000 };
  const publisher = new Publisher({
    index: () => index,
    kube,
    namespace: "default",
    policy: OPEN_POLICY,
    kubeTimeoutMs: 5_000,
    publishTimeoutMs: 5_000,
    maxQueue: 100,
    requestTokens: { key: new TextEncoder().encode("token-secret"), ttlSeconds: 3600 },
    nowSeconds: () => clock.now,
  });
  try {
    await test({ sim, kube, publisher, clock });
  } finally {
    kube.close();
    await sim.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function request(body: string, idempotencyKey: string, extra: Partial<PublishRequest> = {}) {
  return {
    topic: "step",
    body: new TextEncoder().encode(body),
    query: [],
    idempotencyKey,
    ...extra,
  } as PublishRequest;
}

const writes = (sim: KubeSim) => sim.requests.filter((r) => r.method !== "GET").length;

Deno.test("the same request a day later is unchanged: the token it renders moved on, nothing is written", async () => {
  await withPublisher(async ({ sim, publisher, clock }) => {
    const first = await publisher.publish(request("payload", "k1"));
    assertEquals(first.status, 202);
    assertEquals(first.report.objects.map((o) => o.outcome), ["created", "created"]);
    const stored = sim.objects({
      labelSelector: `gitfaas.io/request-uuid=${first.report.requestUuid}`,
    });
    for (const object of stored) {
      assertEquals(
        object.metadata.annotations["gitfaas.io/request-digest"],
        requestDigest("step", new TextEncoder().encode("payload"), []),
      );
    }

    clock.now += 26 * 3600; // the request token now expires at another hour
    const before = writes(sim);
    const again = await publisher.publish(request("payload", "k1"));
    assertEquals(again.status, 202);
    assertEquals(again.report.objects.map((o) => o.outcome), ["unchanged", "unchanged"]);
    assertEquals(writes(sim), before, "an identical retry writes nothing");
    assertEquals(
      JSON.stringify(
        sim.objects({ labelSelector: `gitfaas.io/request-uuid=${first.report.requestUuid}` }),
      ),
      JSON.stringify(stored),
    );

    const reused = await assertRejects(
      () => publisher.publish(request("another payload", "k1")),
      PublishError,
      "Idempotency-Key is already used with a different request payload",
    );
    assertEquals(reused.reason, "idempotency-key-reused");
    assertEquals(reused.details.idempotencyKey, "k1");
    assertEquals((reused.details.objects as string[]).length, 2);
    assertEquals(writes(sim), before);
  });
});

Deno.test("a retry completes what the first attempt left undone, and refuses nothing it did", async () => {
  await withPublisher(async ({ sim, publisher }) => {
    // The first attempt was cut after the ConfigMap: only it exists.
    const first = await publisher.publish(request("payload", "k2"));
    const job = first.report.objects[1];
    await fetch(`${sim.url}/apis/batch/v1/namespaces/default/jobs/${job.name}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${sim.token}` },
    }).then((r) => r.body?.cancel());
    assertEquals(sim.objects({ kind: "Job" }).length, 0);

    const again = await publisher.publish(request("payload", "k2"));
    assertEquals(again.report.objects.map((o) => o.outcome), ["unchanged", "created"]);
    assertEquals(again.report.objects[1].name, job.name);
  });
});

Deno.test("objects applied before digests were stored do not refuse a retry", async () => {
  await withPublisher(async ({ sim, publisher }) => {
    const first = await publisher.publish(request("payload", "k3"));
    // As an earlier version of the router left them: the label, no digest.
    for (const object of first.report.objects) {
      const path = object.kind === "Job"
        ? `/apis/batch/v1/namespaces/default/jobs/${object.name}`
        : `/api/v1/namespaces/default/configmaps/${object.name}`;
      const response = await fetch(`${sim.url}${path}`, {
        method: "PATCH",
        headers: {
          authorization: `Bearer ${sim.token}`,
          "content-type": "application/merge-patch+json",
        },
        body: JSON.stringify({ metadata: { annotations: { "gitfaas.io/request-digest": null } } }),
      });
      assertEquals(response.status, 200, await response.text());
    }
    const again = await publisher.publish(request("payload", "k3"));
    assertEquals(again.status, 202, JSON.stringify(again.report));
    // The ConfigMap is applied again and gets its digest; the Job is found as this request's.
    assertEquals(again.report.objects.map((o) => o.outcome), ["configured", "unchanged"]);
    const reused = await publisher.publish(request("other", "k3")).catch((e) => e);
    assert(reused instanceof PublishError, "the digest the retry stored now guards the key");
  });
});

Deno.test("a dry run with a reused key is refused too; an identical one applies nothing", async () => {
  await withPublisher(async ({ sim, publisher }) => {
    await publisher.publish(request("payload", "k4"));
    const before = writes(sim);
    const same = await publisher.publish(request("payload", "k4", { dryRun: true }));
    assertEquals(same.status, 202);
    assertEquals(same.report.objects.map((o) => o.outcome), ["dry-run", "dry-run"]);
    const error = await assertRejects(
      () => publisher.publish(request("other", "k4", { dryRun: true })),
      PublishError,
    );
    assertStringIncludes(error.message, "input.yaml: document 1 (ConfigMap");
    assertEquals(writes(sim), before);
  });
});
