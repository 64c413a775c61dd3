/**
 * `POST /webhook/git` in process: every answer for every provider, replays, size and time
 * limits, and the syncs that follow an accepted push. Deliveries are signed by independent
 * code (see `support/webhook_payloads.ts`); the syncer is a stand-in whose remote can lag.
 */

import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import {
  deliveryHeaders,
  type DeliveryOptions,
  githubPing,
  PROVIDERS,
  pushPayload,
  type PushSpec,
  SOME_SHA,
  type TestProvider,
} from "./support/webhook_payloads.ts";
import { WebhookReceiver, type WebhookReceiverOptions } from "../src/webhook/receiver.ts";
import { ReplayCache } from "../src/webhook/replay_cache.ts";
import { indexBuildError } from "../src/topics/topic_index.ts";
import { jsonLogger } from "../src/log/logger.ts";

const SECRET = "s3cret-for-tests";
const GIT_URL = "https://git.example.com/team/pipelines.git";
const OLD = "1".repeat(40);
const NEW = SOME_SHA;

/** A syncer whose remote shows `heads` in turn (the last one stays). */
class FakeSyncer {
  index: { revision: string } | null = { revision: OLD };
  syncs = 0;
  heads: string[] = [NEW];
  broken = new Set<string>();

  async sync(): Promise<unknown> {
    this.syncs++;
    await new Promise((r) => setTimeout(r, 1));
    const head = this.heads.length > 1 ? this.heads.shift()! : this.heads[0];
    if (this.broken.has(head)) throw indexBuildError(head, ["config.json: not valid JSON"]);
    const changed = this.index?.revision !== head;
    this.index = { revision: head };
    return { revision: head, changed };
  }
}

function makeReceiver(options: Partial<WebhookReceiverOptions> = {}) {
  const syncer = new FakeSyncer();
  const receiver = WebhookReceiver.create({
    secret: SECRET,
    syncer,
    followed: { repoUrl: GIT_URL, branch: "main" },
    maxBodyBytes: 64 * 1024,
    retryDelayMs: 5,
    ...options,
  });
  return { syncer, receiver };
}

async function deliver(
  receiver: WebhookReceiver,
  provider: TestProvider,
  body: string | ReadableStream<Uint8Array>,
  options: DeliveryOptions & { extraHeaders?: Record<string, string> } = {},
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const signed = typeof body === "string" ? body : "";
  const headers = {
    ...await deliveryHeaders(provider, signed, { secret: SECRET, ...options }),
    ...options.extraHeaders,
  };
  const response = await receiver.handle(
    new Request("http://router.test/webhook/git", { method: "POST", headers, body }),
  );
  assertEquals(response.headers.get("content-type"), "application/json; charset=utf-8");
  return { status: response.status, body: await response.json() };
}

const push = (provider: TestProvider, spec: Partial<PushSpec> = {}) =>
  JSON.stringify(pushPayload(provider, { repoUrl: GIT_URL, after: NEW, ...spec }));

for (const provider of PROVIDERS) {
  Deno.test(`${provider}: a signed push to the followed branch answers 202 and goes live`, async () => {
    const { syncer, receiver } = makeReceiver();
    const answer = await deliver(receiver, provider, push(provider), { id: "d-1" });
    assertEquals(answer.status, 202);
    assertEquals(answer.body, { accepted: true, ref: "refs/heads/main", revision: NEW });
    await receiver.settled();
    assertEquals(syncer.index?.revision, NEW);
    assertEquals(syncer.syncs, 1);
    const status = receiver.status();
    assertEquals(status.lastDelivery?.provider, provider);
    assertEquals(status.lastDelivery?.id, "d-1");
    assertEquals(status.lastDelivery?.outcome, "accepted");
    assertEquals(status.lastDelivery?.status, 202);
    assertEquals(status.lastPush?.state, "live");
    assertEquals(status.lastPush?.revision, NEW);
    assertEquals(typeof status.lastPush?.liveAfterMs, "number");
  });

  Deno.test(`${provider}: missing, malformed or wrong signatures get 401 and change nothing`, async () => {
    const { syncer, receiver } = makeReceiver();
    const body = push(provider);
    const cases: [string, DeliveryOptions, string][] = [
      ["unsigned", { secret: undefined }, "not signed"],
      ["wrong secret", { secret: "not-the-secret" }, "does not match"],
    ];
    if (provider !== "gitlab") cases.push(["malformed", { signature: "sha256=xyz" }, "must be"]);
    for (const [name, options, message] of cases) {
      const answer = await deliver(receiver, provider, body, { id: `id-${name}`, ...options });
      assertEquals(answer.status, 401, name);
      assertStringIncludes(answer.body.error, message, name);
      assertEquals(receiver.status().lastDelivery?.outcome, "rejected");
    }
    // A signed body changed on the way (GitLab's token does not cover the body).
    if (provider !== "gitlab") {
      const headers = await deliveryHeaders(provider, body, { secret: SECRET });
      const tampered = await receiver.handle(
        new Request("http://router.test/webhook/git", {
          method: "POST",
          headers,
          body: body.replace(NEW, "2".repeat(40)),
        }),
      );
      assertEquals(tampered.status, 401);
      assertStringIncludes((await tampered.json()).error, "does not match the body");
    }
    assertEquals(syncer.syncs, 0);
  });

  Deno.test(`${provider}: a replayed delivery id answers duplicate and does nothing`, async () => {
    const { syncer, receiver } = makeReceiver();
    // An unsigned delivery never takes an id's place.
    const unsigned = await deliver(receiver, provider, push(provider), {
      id: "same",
      secret: undefined,
    });
    assertEquals(unsigned.status, 401);
    assertEquals((await deliver(receiver, provider, push(provider), { id: "same" })).status, 202);
    await receiver.settled();
    const again = await deliver(receiver, provider, push(provider), { id: "same" });
    assertEquals(again, { status: 200, body: { duplicate: true } });
    await receiver.settled();
    assertEquals(syncer.syncs, 1);
    assertEquals(receiver.status().lastDelivery?.outcome, "duplicate");
    // Another id is a new delivery.
    assertEquals((await deliver(receiver, provider, push(provider), { id: "other" })).status, 202);
  });

  Deno.test(`${provider}: other branches, tags, deletions, repositories and events are ignored`, async () => {
    const { syncer, receiver } = makeReceiver();
    const cases: [string, string, string | undefined, string][] = [
      ["other branch", push(provider, { ref: "refs/heads/dev" }), undefined, "refs/heads/dev"],
      ["tag", push(provider, { ref: "refs/tags/v1.0.0" }), undefined, "tag"],
      ["deletion", push(provider, { deleted: true }), undefined, "deleted"],
      [
        "other repository",
        push(provider, { repoUrl: "https://git.example.com/team/elsewhere.git" }),
        undefined,
        "not to the followed repository",
      ],
      [
        "other event",
        push(provider),
        provider === "gitlab" ? "Issue Hook" : "issues",
        "do not change the repository",
      ],
    ];
    for (const [name, body, event, reason] of cases) {
      const answer = await deliver(receiver, provider, body, { event });
      assertEquals(answer.status, 200, name);
      assertStringIncludes(answer.body.ignored, reason, name);
      assertEquals(receiver.status().lastDelivery?.outcome, "ignored");
      assertStringIncludes(receiver.status().lastDelivery?.detail ?? "", reason);
    }
    assertEquals(syncer.syncs, 0);
  });

  Deno.test(`${provider}: malformed JSON and invalid payloads get 400`, async () => {
    const { syncer, receiver } = makeReceiver();
    for (const body of ['{"ref": "refs/heads/main",', "", "\u00ff", "[1,2]", '{"ref":1}']) {
      const answer = await deliver(receiver, provider, body);
      assertEquals(answer.status, 400, JSON.stringify(body));
      assert(typeof answer.body.error === "string");
    }
    assertEquals(syncer.syncs, 0);
  });

  Deno.test(`${provider}: oversized bodies get 413 without being read in full`, async () => {
    const { syncer, receiver } = makeReceiver({ maxBodyBytes: 1000 });
    const big = JSON.stringify({
      ...pushPayload(provider, { repoUrl: GIT_URL }),
      pad: "x".repeat(2000),
    });
    const declared = await deliver(receiver, provider, big);
    assertEquals(declared.status, 413);
    assertStringIncludes(declared.body.error, "WEBHOOK_MAX_BYTES");
    // No Content-Length: a stream that would never end is cut off just past the limit.
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 256;
        controller.enqueue(new Uint8Array(256).fill(0x20));
      },
    });
    const streamed = await deliver(receiver, provider, endless);
    assertEquals(streamed.status, 413);
    assert(pulled <= 2048, `read ${pulled} bytes of an endless body`);
    assertEquals(syncer.syncs, 0);
  });

  if (provider !== "gitlab") {
    Deno.test(`${provider}: form-encoded deliveries get 415 saying to choose application/json`, async () => {
      const { syncer, receiver } = makeReceiver();
      const body = "payload=" + encodeURIComponent(push(provider));
      const answer = await deliver(receiver, provider, body, {
        contentType: "application/x-www-form-urlencoded",
      });
      assertEquals(answer.status, 415);
      assertStringIncludes(answer.body.error, "application/json");
      const xml = await deliver(receiver, provider, "<push/>", { contentType: "text/xml" });
      assertEquals(xml.status, 415);
      assertEquals(syncer.syncs, 0);
    });
  }
}

Deno.test("GitHub's ping answers 200 and syncs nothing", async () => {
  const { syncer, receiver } = makeReceiver();
  const answer = await deliver(receiver, "github", JSON.stringify(githubPing()), {
    event: "ping",
  });
  assertEquals(answer, { status: 200, body: { pong: true } });
  assertEquals(receiver.status().lastDelivery?.outcome, "ping");
  assertEquals(receiver.status().lastDelivery?.event, "ping");
  assertEquals(syncer.syncs, 0);
});

Deno.test("a delivery from no known provider gets 400", async () => {
  const { receiver } = makeReceiver();
  const response = await receiver.handle(
    new Request("http://router.test/webhook/git", {
      method: "POST",
      headers: { "content-type": "application/json", "x-event": "push" },
      body: "{}",
    }),
  );
  assertEquals(response.status, 400);
  assertStringIncludes((await response.json()).error, "X-GitHub-Event");
  assertEquals(receiver.status().lastDelivery?.provider, null);
});

Deno.test("a delivery that outran the Git server is retried until its commit is live", async () => {
  const { syncer, receiver } = makeReceiver();
  syncer.heads = [OLD, OLD, OLD, NEW];
  assertEquals((await deliver(receiver, "github", push("github"))).status, 202);
  assertEquals(receiver.status().lastPush?.state, "syncing");
  await receiver.settled();
  assertEquals(syncer.index?.revision, NEW);
  assertEquals(syncer.syncs, 4);
  assertEquals(receiver.status().lastPush?.state, "live");
  assertEquals(receiver.status().lastPush?.attempts, 4);
});

Deno.test("retries stop at the deadline and say so; the poller carries on", async () => {
  const { syncer, receiver } = makeReceiver({ liveDeadlineMs: 150, retryDelayMs: 10 });
  syncer.heads = [OLD];
  const started = performance.now();
  assertEquals((await deliver(receiver, "gitea", push("gitea"))).status, 202);
  await receiver.settled();
  const took = performance.now() - started;
  assert(took >= 140 && took < 3000, `retried for ${took} ms`);
  const last = receiver.status().lastPush!;
  assertEquals(last.state, "timed-out");
  assert(last.attempts >= 2 && last.attempts <= 8, `${last.attempts} attempts`);
  assertStringIncludes(last.error ?? "", OLD);
});

Deno.test("a pushed commit that cannot be used fails at once, without retries", async () => {
  const { syncer, receiver } = makeReceiver();
  syncer.broken.add(NEW);
  assertEquals((await deliver(receiver, "gitlab", push("gitlab"))).status, 202);
  await receiver.settled();
  assertEquals(syncer.syncs, 1);
  assertEquals(receiver.status().lastPush?.state, "failed");
  assertStringIncludes(receiver.status().lastPush?.error ?? "", "cannot be used");
});

Deno.test("an unusable push says the last good index keeps serving only when there is one", async () => {
  for (
    const [index, expected] of [
      [{ revision: OLD }, "pushed commit cannot be used; the last good index keeps serving"],
      [
        null,
        "pushed commit cannot be used; no index yet: publishes answer 503 until a sync succeeds",
      ],
    ] as const
  ) {
    const warnings: string[] = [];
    const { syncer, receiver } = await makeReceiver({
      logger: jsonLogger({
        level: "warn",
        write: (line) => warnings.push(JSON.parse(line).message),
      }),
    });
    syncer.index = index;
    syncer.broken.add(NEW);
    assertEquals((await deliver(receiver, "github", push("github"))).status, 202);
    await receiver.settled();
    assertEquals(warnings, [expected]);
  }
});

Deno.test("a newer push supersedes one still being retried", async () => {
  const { syncer, receiver } = makeReceiver({ retryDelayMs: 20 });
  const newer = "3".repeat(40);
  syncer.heads = [OLD, OLD, OLD, OLD, OLD, newer];
  assertEquals((await deliver(receiver, "github", push("github"))).status, 202);
  const first = receiver.status().lastPush!;
  await new Promise((r) => setTimeout(r, 30));
  assertEquals((await deliver(receiver, "github", push("github", { after: newer }))).status, 202);
  await receiver.settled();
  assertEquals(syncer.index?.revision, newer);
  assertEquals(receiver.status().lastPush?.revision, newer);
  assertEquals(receiver.status().lastPush?.state, "live");
  assertEquals(first.revision, NEW);
});

Deno.test("concurrent pushes share syncs: one loop follows the newest", async () => {
  const { syncer, receiver } = makeReceiver();
  const answers = await Promise.all(
    Array.from({ length: 10 }, () => deliver(receiver, "github", push("github"))),
  );
  for (const answer of answers) assertEquals(answer.status, 202);
  await receiver.settled();
  assert(syncer.syncs <= 10, `${syncer.syncs} syncs`);
  assertEquals(receiver.status().lastPush?.state, "live");
});

Deno.test("unsigned senders that stall hold nothing: a signed delivery beside 40 of them gets 202", async () => {
  const { receiver } = makeReceiver({ bodyTimeoutMs: 300 });
  const stalled = () => new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) });
  // Forged signatures, declared lengths, and bodies that never come.
  const unsigned = Array.from({ length: 40 }, () =>
    deliver(receiver, "github", stalled(), {
      secret: "not-the-secret",
      extraHeaders: { "content-length": "60000" },
    }));
  await new Promise((r) => setTimeout(r, 20));
  const signed = await deliver(receiver, "github", push("github"));
  assertEquals(signed.status, 202, JSON.stringify(signed.body));
  for (const answer of await Promise.all(unsigned)) {
    assertEquals(answer.status, 408);
    assertStringIncludes(answer.body.error, "did not arrive within 0.3 s");
  }
  await receiver.settled();
});

Deno.test("bytes of unverified deliveries are bounded as they arrive: beyond, 503 with Retry-After", async () => {
  const { receiver } = makeReceiver({ maxUnverifiedBytes: 50_000, bodyTimeoutMs: 300 });
  // Sends 30,000 bytes, then stalls: it holds what it sent until its time is up.
  const sendsThenStalls = () => {
    let sent = false;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return new Promise(() => {});
        sent = true;
        controller.enqueue(new Uint8Array(30_000).fill(0x20));
      },
    });
  };
  const first = deliver(receiver, "github", sendsThenStalls());
  await new Promise((r) => setTimeout(r, 20));
  const second = await deliver(receiver, "github", sendsThenStalls());
  assertEquals(second.status, 503);
  assertEquals((await first).status, 408);
  // Given back: a signed delivery fits again.
  assertEquals((await deliver(receiver, "github", push("github"))).status, 202);
  await receiver.settled();
});

Deno.test("gitlab: a wrong token is refused before a byte of the body is read", async () => {
  const { syncer, receiver } = makeReceiver();
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (++pulled > 5) return controller.close();
      controller.enqueue(new Uint8Array(100).fill(0x20));
    },
  });
  const answer = await deliver(receiver, "gitlab", body, { secret: "not-the-secret" });
  assertEquals(answer.status, 401);
  assertEquals(pulled <= 1, true, `pulled ${pulled} chunks of 5`);
  assertEquals(syncer.syncs, 0);
});

Deno.test("stop ends the retries", async () => {
  const { syncer, receiver } = makeReceiver({ retryDelayMs: 1000 });
  syncer.heads = [OLD];
  assertEquals((await deliver(receiver, "github", push("github"))).status, 202);
  await new Promise((r) => setTimeout(r, 20));
  const started = performance.now();
  await receiver.stop();
  assert(performance.now() - started < 500);
  assertEquals(syncer.syncs, 1);
});

Deno.test("the replay cache is bounded by count and by age", () => {
  let now = 0;
  const cache = new ReplayCache({ maxEntries: 3, ttlMs: 1000, now: () => now });
  assert(cache.remember("a"));
  assertEquals(cache.remember("a"), false);
  assert(cache.remember("b"));
  assert(cache.remember("c"));
  assert(cache.remember("d")); // "a" is pushed out
  assertEquals(cache.size, 3);
  assert(cache.remember("a"));
  assertEquals(cache.remember("d"), false);
  now = 999;
  assertEquals(cache.remember("d"), false);
  now = 2500;
  assertEquals(cache.size, 0);
  assert(cache.remember("d"));
  const big = new ReplayCache({ maxEntries: 10_000 });
  for (let i = 0; i < 25_000; i++) big.remember(`id-${i}`);
  assertEquals(big.size, 10_000);
  assertEquals(big.remember("id-24999"), false);
  assert(big.remember("id-0"));
});

Deno.test("every answered delivery is reported to onDelivery; a failing hook changes no answer", async () => {
  const seen: string[] = [];
  const { receiver } = makeReceiver({
    onDelivery: (record) => {
      seen.push(`${record.provider}:${record.outcome}:${record.status}`);
      throw new Error("metrics are down");
    },
  });
  assertEquals((await deliver(receiver, "gitea", push("gitea"), { id: "x" })).status, 202);
  assertEquals((await deliver(receiver, "gitea", push("gitea"), { id: "x" })).status, 200);
  assertEquals((await deliver(receiver, "gitea", push("gitea"), { secret: "no" })).status, 401);
  await receiver.settled();
  assertEquals(seen, ["gitea:accepted:202", "gitea:duplicate:200", "gitea:rejected:401"]);
});
