/**
 * Back-pressure: at most KUBE_MAX_INFLIGHT requests go to the API server at once, the rest
 * queue, and once KUBE_MAX_QUEUE requests are waiting a publish is turned away with 503 and
 * Retry-After before anything of it is applied. Nothing accepted is lost.
 */

import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { startStack } from "./support/fixtures.ts";

Deno.test("a burst beyond KUBE_MAX_QUEUE gets 503 with Retry-After; every 202 has its Job, the 503s none", async () => {
  const stack = await startStack({
    env: { KUBE_MAX_INFLIGHT: "1", KUBE_MAX_QUEUE: "1", KUBE_TIMEOUT: "30" },
  });
  const { router, kube } = stack;
  const publish = (i: number) =>
    router.call("/publish/echo", {
      method: "POST",
      body: `burst ${i}`,
      headers: { "content-type": "text/plain" },
    });
  try {
    // Warm discovery, then slow the API server down.
    assertEquals((await publish(-1)).status, 202);
    kube.setLatency(200);
    const from = kube.requests.length;
    // A burst arriving over about 1.2 s, faster than one request per 200 ms can serve.
    const answers = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i * 40));
      return publish(i);
    }));

    const accepted = answers.filter((a) => a.status === 202);
    const turnedAway = answers.filter((a) => a.status === 503);
    assertEquals(
      accepted.length + turnedAway.length,
      30,
      JSON.stringify(answers.map((a) => a.status)),
    );
    assert(turnedAway.length > 0, "some publishes were turned away");
    assert(accepted.length > 2, `only ${accepted.length} publishes went through`);
    for (const { headers, body } of turnedAway) {
      assertMatch(headers.get("retry-after") ?? "", /^[1-9][0-9]*$/);
      assertMatch(body.error, /waiting for the API server/);
    }

    // Never more than one request in flight at the API server.
    const slow = kube.requests.slice(from);
    for (let i = 1; i < slow.length; i++) {
      assert(slow[i].time - slow[i - 1].time >= 190, `requests ${i - 1} and ${i} overlapped`);
    }

    // Nothing lost: every accepted publish's Job exists; turned-away ones applied nothing.
    const jobs = kube.objects({ kind: "Job", labelSelector: "gitfaas.io/topic=echo" });
    assertEquals(jobs.length, accepted.length + 1);
    for (const { body } of accepted) {
      const job = kube.getObject("batch/v1", "Job", "default", body.objects[0].name);
      assert(job, `the Job of ${body.requestUuid} exists`);
    }
    // The turned-away ones can come back later and go through.
    kube.setLatency(0);
    const retried = await Promise.all(turnedAway.map((_, i) => publish(100 + i)));
    assert(retried.every((a) => a.status === 202 || a.status === 503));
    assert(retried.some((a) => a.status === 202));
  } finally {
    await stack.close();
  }
});
