/**
 * `/metrics` is valid Prometheus text and its counters move as publishes, syncs and retries
 * happen.
 */

import { sign } from "@octokit/webhooks-methods";
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { startStack } from "./support/fixtures.ts";

type Samples = Map<string, number>;

/** Parses the text exposition strictly enough to catch malformed lines. */
function parseExposition(text: string): Samples {
  const samples: Samples = new Map();
  const sample =
    /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    const match = sample.exec(line);
    assert(match, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    samples.set(match[1] + (match[2] ?? ""), Number(match[3]));
  }
  return samples;
}

async function scrape(url: string): Promise<Samples> {
  const response = await fetch(`${url}/metrics`);
  assertEquals(response.status, 200);
  assertMatch(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  return parseExposition(await response.text());
}

Deno.test("metrics count publishes, objects, syncs, retries and webhook deliveries", async () => {
  const secret = "metrics-webhook-secret";
  const stack = await startStack({ env: { WEBHOOK_SECRET: secret } });
  const { router, kube, repo } = stack;
  try {
    const before = await scrape(router.url);
    assertEquals(before.get('gitfaas_syncs_total{outcome="changed"}'), 1);
    assertEquals(before.get(`gitfaas_revision_info{revision="${await repo.head()}"}`), 1);
    assert((before.get("gitfaas_last_good_sync_timestamp_seconds") ?? 0) > 0);

    for (let i = 0; i < 3; i++) {
      assertEquals((await router.call("/publish/echo", { method: "POST", body: "x" })).status, 202);
    }
    assertEquals((await router.call("/publish/nope", { method: "POST", body: "x" })).status, 404);
    kube.inject({ status: 503, times: 1, match: (r) => r.method === "PATCH" });
    assertEquals((await router.call("/publish/echo", { method: "POST", body: "x" })).status, 202);
    await router.call("/refresh");
    const ping = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    const delivered = await router.call("/webhook/git", {
      method: "POST",
      body: ping,
      headers: {
        "content-type": "application/json",
        "x-github-event": "ping",
        "x-github-delivery": crypto.randomUUID(),
        "x-hub-signature-256": await sign(secret, ping),
      },
    });
    assertEquals(delivered.status, 200, JSON.stringify(delivered.body));

    const after = await scrape(router.url);
    assertEquals(after.get('gitfaas_publishes_total{topic="echo",status="202"}'), 4);
    assertEquals(after.get('gitfaas_publishes_total{topic="unknown",status="404"}'), 1);
    assertEquals(after.get('gitfaas_objects_applied_total{kind="Job",outcome="created"}'), 4);
    assertEquals(after.get('gitfaas_publish_duration_seconds_count{topic="echo"}'), 4);
    assertEquals(after.get('gitfaas_apply_duration_seconds_count{kind="Job"}'), 4);
    assertEquals(after.get('gitfaas_kube_retries_total{reason="ServiceUnavailable"}'), 1);
    assertEquals(after.get('gitfaas_syncs_total{outcome="unchanged"}'), 1);
    assertEquals(
      after.get('gitfaas_webhook_deliveries_total{provider="github",outcome="ping"}'),
      1,
    );
    assert((after.get("process_resident_memory_bytes") ?? 0) > 0);
  } finally {
    await stack.close();
  }
});
