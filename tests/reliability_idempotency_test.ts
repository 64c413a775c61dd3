// deno-lint-ignore-file no-explicit-any -- tests read deep into reports and Kubernetes objects
/**
 * Idempotent retries: a publish repeated with the same Idempotency-Key renders the same
 * objects, so a client that lost its answer (the connection was cut mid-way) can send it again
 * and the cluster ends up with one set of objects per key. Nothing is remembered in the router:
 * the names are derived from topic and key, and the cluster tells what exists.
 */

import { assert, assertEquals } from "./support/assert.ts";
import { configJson, CONVERT_JOB, INPUT_CONFIG_MAP, startStack } from "./support/fixtures.ts";
import type { KubeSim } from "./support/kube_sim/mod.ts";

const FILES = {
  "config.json": configJson({ convert: ["input.yaml", "job.yaml"] }),
  "input.yaml": INPUT_CONFIG_MAP,
  "job.yaml": CONVERT_JOB,
};

const REQUEST_UUID = "gitfaas.io/request-uuid";

/** Waits until the simulator has seen no new request for `quietMs`. */
async function quiet(kube: KubeSim, quietMs = 1000, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = -1;
  while (seen !== kube.requests.length) {
    if (Date.now() > deadline) throw new Error("the API server never went quiet");
    seen = kube.requests.length;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}

Deno.test("200 publishes, each cut off mid-way and sent again with its Idempotency-Key: one set of objects per key", async () => {
  // A generous budget: this test is about duplicates, not about running out of time.
  const stack = await startStack({ files: FILES, env: { KUBE_TIMEOUT: "30" } });
  const { router, kube } = stack;
  try {
    kube.setLatency(100);
    let cut = 0;
    const seconds = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
      const key = `order-${i}-${crypto.randomUUID()}`;
      const init = (signal?: AbortSignal): RequestInit => ({
        method: "POST",
        body: `payload ${i}`,
        headers: { "content-type": "text/plain", "idempotency-key": key },
        signal,
      });
      await new Promise((r) => setTimeout(r, i * 2));
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), 20 + Math.random() * 400);
      let first: { status: number; body: any } | undefined;
      try {
        first = await router.call("/publish/convert", init(abort.signal));
      } catch (error) {
        assertEquals((error as Error).name, "AbortError");
        cut++;
      } finally {
        clearTimeout(timer);
      }
      // Answered before the cut: it must be a whole, successful answer.
      if (first) assertEquals(first.status, 202, JSON.stringify(first.body));
      const second = await router.call("/publish/convert", init());
      return { key, ...second };
    }));
    assert(cut > 20, `only ${cut} first copies were cut off: the test did not test much`);

    const uuids = new Set<string>();
    for (const { status, body } of seconds) {
      assertEquals(status, 202, JSON.stringify(body));
      assertEquals(body.objects.length, 2);
      for (const object of body.objects) {
        assert(["created", "unchanged"].includes(object.outcome), JSON.stringify(body));
      }
      uuids.add(body.requestUuid);
    }
    assertEquals(uuids.size, 200, "each key has its own request UUID");

    // The cut-off first copies keep running in the router; let them finish.
    await quiet(kube);
    const perUuid = new Map<string, string[]>();
    for (const object of kube.objects({ labelSelector: "gitfaas.io/topic=convert" })) {
      const uuid = object.metadata.labels[REQUEST_UUID];
      perUuid.set(uuid, [...(perUuid.get(uuid) ?? []), `${object.kind}/${object.metadata.name}`]);
    }
    assertEquals(perUuid.size, 200);
    for (const { body } of seconds) {
      const stored = (perUuid.get(body.requestUuid) ?? []).sort();
      const reported = body.objects.map((o: any) => `${o.kind}/${o.name}`).sort();
      assertEquals(stored, reported, `key ${body.idempotencyKey}: one ConfigMap and one Job`);
    }
  } finally {
    await stack.close();
  }
});

Deno.test("the same Idempotency-Key on another router process renders the same objects", async () => {
  const stack = await startStack({ files: FILES });
  const { router, kube } = stack;
  const publish = (key: string) =>
    router.call("/publish/convert", {
      method: "POST",
      body: "same",
      headers: { "content-type": "text/plain", "idempotency-key": key },
    });
  try {
    const key = `restart-${crypto.randomUUID()}`;
    const first = await publish(key);
    assertEquals(first.status, 202, JSON.stringify(first.body));
    assertEquals(first.body.objects.map((o: any) => o.outcome), ["created", "created"]);

    // A new process (a restart, or another replica) knows nothing of the first publish.
    await router.stop();
    const { RouterProcess } = await import("./support/router_process.ts");
    const again = await RouterProcess.start({
      GIT_URL: stack.git.repoUrl("pipelines"),
      GIT_USER_NAME: stack.git.user,
      GIT_PERSONAL_TOKEN: stack.git.token,
      KUBECONFIG: stack.kubeconfigPath,
      GIT_POLL_INTERVAL: "3600",
    });
    try {
      await again.waitFor(async () => (await again.call("/readyz")).status === 200);
      const second = await again.call("/publish/convert", {
        method: "POST",
        body: "same",
        headers: { "content-type": "text/plain", "idempotency-key": key },
      });
      assertEquals(second.status, 202, JSON.stringify(second.body));
      assertEquals(second.body.requestUuid, first.body.requestUuid);
      assertEquals(
        second.body.objects.map((o: any) => o.name),
        first.body.objects.map((o: any) => o.name),
      );
      assertEquals(second.body.objects.map((o: any) => o.outcome), ["unchanged", "unchanged"]);
      const stored = kube.objects({ labelSelector: `${REQUEST_UUID}=${first.body.requestUuid}` });
      assertEquals(stored.length, 2);
    } finally {
      await again.stop();
    }
  } finally {
    await stack.close();
  }
});
