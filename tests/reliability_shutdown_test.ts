/**
 * Graceful shutdown: on SIGTERM or SIGINT the router stops taking new requests, lets the
 * publishes in flight finish within SHUTDOWN_GRACE, and exits 0. A publish stuck past the grace
 * period does not hold the process.
 */

import { assert, assertEquals } from "./support/assert.ts";
import { startStack } from "./support/fixtures.ts";
import type { KubeSim } from "./support/kube_sim/mod.ts";
import type { RouterProcess } from "./support/router_process.ts";

const isJobWrite = (r: { method: string; path: string }) =>
  r.method === "PATCH" && r.path.includes("/jobs/");

/**
 * Starts `count` publishes and waits until `atApi` of them reached the API server. The answers
 * come wrapped, so that awaiting this does not wait for them.
 */
async function inFlight(router: RouterProcess, kube: KubeSim, count: number, atApi: number) {
  const from = kube.requests.length;
  const answers = Promise.all(Array.from({ length: count }, (_, i) =>
    router.call("/publish/echo", {
      method: "POST",
      body: `in flight ${i}`,
      headers: { "content-type": "text/plain" },
    })));
  await router.waitFor(() => kube.requests.slice(from).filter(isJobWrite).length >= atApi);
  // The rest wait in the router's queue for a turn at the API server.
  await new Promise((r) => setTimeout(r, 100));
  return { answers };
}

/** /readyz while draining: 503, or no answer at all once the listener is closed; never 200. */
async function readyWhileDraining(router: RouterProcess): Promise<number> {
  try {
    const response = await fetch(`${router.url}/readyz`, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 0;
  }
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal} during 50 in-flight publishes: all 50 get their 202, then the process exits 0`, async () => {
    const stack = await startStack({ env: { SHUTDOWN_GRACE: "20" } });
    const { router, kube } = stack;
    try {
      assertEquals(
        (await router.call("/publish/echo", { method: "POST", body: "warm" })).status,
        202,
      );
      // Held until the signal is in: 32 (KUBE_MAX_INFLIGHT) at the API server, 18 queued.
      const release = kube.hold();
      const from = kube.requests.length;
      const { answers } = await inFlight(router, kube, 50, 32);
      const started = Date.now();
      const exit = router.stop(signal);
      const applied = kube.requests.slice(from).filter((r) => isJobWrite(r) && r.status > 0);
      assertEquals(applied.length, 0, "the signal came while every publish was in flight");
      let settled = false;
      answers.then(() => settled = true, () => settled = true);
      // The signal lands asynchronously; from then on /readyz is 503 or not answered at all.
      await router.waitFor(async () => (await readyWhileDraining(router)) !== 200, 5000);
      assertEquals(settled, false, "not ready while the publishes were still in flight");
      release();

      const results = await answers;
      for (const { status, body } of results) {
        assertEquals(status, 202, JSON.stringify(body));
        assert(kube.getObject("batch/v1", "Job", "default", body.objects[0].name));
      }
      const { code } = await exit;
      assertEquals(code, 0);
      assert(Date.now() - started < 10_000, "no need to wait for the grace period");
      assert(router.output.includes("every request in flight was answered"), router.output);
      // Nothing is served any more.
      assertEquals(await readyWhileDraining(router), 0);
    } finally {
      await stack.close();
    }
  });
}

Deno.test("a publish stuck past SHUTDOWN_GRACE does not hold the exit", async () => {
  const stack = await startStack({ env: { SHUTDOWN_GRACE: "1", KUBE_TIMEOUT: "60" } });
  const { router, kube } = stack;
  try {
    assertEquals(
      (await router.call("/publish/echo", { method: "POST", body: "warm" })).status,
      202,
    );
    kube.inject({ hang: true, match: isJobWrite });
    const { answers } = await inFlight(router, kube, 1, 1);
    const answer = answers.catch((error: Error) => error);
    const started = Date.now();
    const { code } = await router.stop("SIGTERM");
    const took = Date.now() - started;
    assertEquals(code, 0);
    assert(took >= 900 && took < 5000, `exited ${took} ms after SIGTERM`);
    assert(router.output.includes("grace period over"), router.output);
    // The stuck publish never got an answer: its connection closed with the process.
    assert((await answer) instanceof Error);
  } finally {
    await stack.close();
  }
});
