// deno-lint-ignore-file no-explicit-any -- tests read deep into JSON answers
/**
 * End to end: the router started as `deno task start` does, polling once an hour, and a
 * real `git push` to the test Git server followed by a signed delivery. The pushed commit
 * must serve without any `/refresh`.
 */

import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { configJson, ECHO_JOB, type Stack, startStack } from "./support/fixtures.ts";
import {
  deliveryHeaders,
  type DeliveryOptions,
  pushPayload,
  type TestProvider,
} from "./support/webhook_payloads.ts";

const SECRET = "e2e-webhook-secret-0123456789";

function withVariant(name: string): string {
  return ECHO_JOB.replace(
    "name: echo-{{RANDOM}}",
    `name: echo-{{RANDOM}}\n  annotations: {variant: ${name}}`,
  );
}

async function send(
  stack: Stack,
  provider: TestProvider,
  payload: unknown,
  options: DeliveryOptions = {},
): Promise<{ status: number; body: any }> {
  const body = JSON.stringify(payload);
  const headers = await deliveryHeaders(provider, body, { secret: SECRET, ...options });
  return stack.router.call("/webhook/git", { method: "POST", headers, body });
}

/** Publishes until `topic` exists; returns the report and how long it took to appear. */
async function publishWhenLive(stack: Stack, topic: string): Promise<any> {
  let report: any;
  await stack.router.waitFor(async () => {
    const { status, body } = await stack.router.call(`/publish/${topic}`, {
      method: "POST",
      body: "hello",
      headers: { "content-type": "text/plain" },
    });
    report = body;
    return status === 202;
  }, 15_000);
  return report;
}

Deno.test("a signed push delivery makes the pushed commit live, for each provider", async (t) => {
  const stack = await startStack({ env: { WEBHOOK_SECRET: SECRET, GIT_POLL_INTERVAL: "3600" } });
  const { router, repo, git, kube } = stack;
  const repoUrl = git.repoUrl("pipelines");
  try {
    assertEquals(router.output.includes(SECRET), false);
    const status = (await router.call("/status")).body;
    assertEquals(status.webhook, { enabled: true, lastDelivery: null, lastPush: null });

    const topics: Record<string, string[]> = { echo: ["echo.yaml"] };
    for (const provider of ["github", "gitlab", "gitea", "forgejo", "gogs"] as const) {
      await t.step(`${provider}: push, deliver, publish the new topic`, async () => {
        topics[provider] = [`${provider}.yaml`];
        const sha = await repo.commitAndPush({
          "config.json": configJson(topics),
          [`${provider}.yaml`]: withVariant(provider),
        }, `add ${provider}`);
        const id = crypto.randomUUID();
        const sent = performance.now();
        const answer = await send(stack, provider, pushPayload(provider, { repoUrl, after: sha }), {
          id,
        });
        assertEquals(answer.status, 202, JSON.stringify(answer.body));
        assertEquals(answer.body, { accepted: true, ref: "refs/heads/main", revision: sha });
        const report = await publishWhenLive(stack, provider);
        const took = performance.now() - sent;
        assertEquals(report.revision, sha);
        const job = kube.getObject("batch/v1", "Job", "default", report.objects[0].name)!;
        assertEquals(job.metadata.annotations.variant, provider);
        assert(took < 5000, `live after ${took} ms`);

        const webhook = (await router.call("/status")).body.webhook;
        assertEquals(webhook.lastDelivery.provider, provider);
        assertEquals(webhook.lastDelivery.id, id);
        assertEquals(webhook.lastDelivery.outcome, "accepted");
        assertEquals(webhook.lastDelivery.event, provider === "gitlab" ? "Push Hook" : "push");
        assert(!Number.isNaN(Date.parse(webhook.lastDelivery.time)));
        await router.waitFor(async () =>
          (await router.call("/status")).body.webhook.lastPush.state === "live"
        );
        const lastPush = (await router.call("/status")).body.webhook.lastPush;
        assertEquals(lastPush.revision, sha);

        // The same delivery again does nothing.
        const again = await send(stack, provider, pushPayload(provider, { repoUrl, after: sha }), {
          id,
        });
        assertEquals([again.status, again.body], [200, { duplicate: true }]);
      });
    }

    await t.step(
      "a delivery that outruns the push is retried until the commit is live",
      async () => {
        const sha = await (async () => {
          await repo.write({ "echo.yaml": withVariant("early") });
          return await repo.commit("early delivery");
        })();
        const answer = await send(stack, "github", pushPayload("github", { repoUrl, after: sha }));
        assertEquals(answer.status, 202);
        await new Promise((r) => setTimeout(r, 600));
        assertEquals((await router.call("/status")).body.webhook.lastPush.state, "syncing");
        await repo.push();
        await router.waitFor(async () =>
          (await router.call("/status")).body.webhook.lastPush.state === "live"
        );
        const report = await publishWhenLive(stack, "echo");
        assertEquals(report.revision, sha);
        const push = (await router.call("/status")).body.webhook.lastPush;
        assert(push.attempts >= 2, JSON.stringify(push));
      },
    );

    await t.step("refused deliveries change nothing", async () => {
      const live = (await router.call("/status")).body.revision;
      const sha = await repo.commitAndPush({ "note.txt": "unsigned" }, "unsigned push");
      const payload = pushPayload("github", { repoUrl, after: sha });
      const before = git.requests.length;
      const cases: [DeliveryOptions, number][] = [
        [{ secret: undefined }, 401],
        [{ secret: "wrong" }, 401],
        [{ contentType: "application/x-www-form-urlencoded" }, 415],
      ];
      for (const [options, expected] of cases) {
        const answer = await send(stack, "github", payload, options);
        assertEquals(answer.status, expected, JSON.stringify(answer.body));
        assert(typeof answer.body.error === "string");
      }
      const other = await send(
        stack,
        "gitlab",
        pushPayload("gitlab", {
          repoUrl: git.repoUrl("elsewhere"),
          after: sha,
        }),
      );
      assertEquals(other.status, 200);
      assertStringIncludes(other.body.ignored, "not to the followed repository");
      const malformed = await stack.router.call("/webhook/git", {
        method: "POST",
        headers: await deliveryHeaders("gitea", "{not json", { secret: SECRET }),
        body: "{not json",
      });
      assertEquals(malformed.status, 400);
      const big = "x".repeat(1024 * 1024 + 1);
      const oversized = await stack.router.call("/webhook/git", {
        method: "POST",
        headers: await deliveryHeaders("github", big, { secret: SECRET }),
        body: big,
      });
      assertEquals(oversized.status, 413);
      await new Promise((r) => setTimeout(r, 300));
      assertEquals(git.requests.length, before, "no Git request was made");
      assertEquals((await router.call("/status")).body.revision, live);
      assertEquals((await router.call("/status")).body.webhook.lastDelivery.outcome, "rejected");
    });

    assertEquals(router.output.includes(SECRET), false, "the secret never reaches the log");
  } finally {
    await stack.close();
  }
});

Deno.test("without WEBHOOK_SECRET the endpoint is off and says so", async () => {
  const stack = await startStack({
    files: { "config.json": configJson({ echo: ["echo.yaml"] }), "echo.yaml": ECHO_JOB },
  });
  try {
    const { router, repo, git } = stack;
    const offLines = router.logs().filter((l) => String(l.message).startsWith("webhooks off"));
    assertEquals(offLines.length, 1, router.output);
    const sha = await repo.commitAndPush({ "note.txt": "x" }, "x");
    const body = JSON.stringify(
      pushPayload("github", { repoUrl: git.repoUrl("pipelines"), after: sha }),
    );
    const answer = await router.call("/webhook/git", {
      method: "POST",
      headers: await deliveryHeaders("github", body, { secret: "anything" }),
      body,
    });
    assertEquals(answer.status, 404);
    assertStringIncludes(answer.body.error, "WEBHOOK_SECRET");
    assertEquals((await router.call("/status")).body.webhook, { enabled: false });
    await new Promise((r) => setTimeout(r, 300));
    assertEquals((await router.call("/status")).body.revision === sha, false);
  } finally {
    await stack.close();
  }
});
