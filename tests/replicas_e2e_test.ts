// deno-lint-ignore-file no-explicit-any -- tests read deep into JSON answers
/**
 * Three router processes behind no load balancer, one Git server, one API server (the
 * simulator: its watch, Leases and server-side apply): a push delivered to one replica reaches
 * all three through the API server, one Idempotency-Key sent to all three makes one Job, a
 * schedule fires once per tick across all three, and a replica killed mid-burst loses nothing
 * another answered.
 */

import { assert, assertEquals } from "./support/assert.ts";
import { configJson, ECHO_JOB, startStack } from "./support/fixtures.ts";
import { RouterProcess } from "./support/router_process.ts";
import { deliveryHeaders, pushPayload } from "./support/webhook_payloads.ts";
import { publishSeed } from "../src/publish/values.ts";
import { tickKey } from "../src/schedule/schedule.ts";

const SECRET = "replicas-webhook-secret-0123456789";

async function replicasOf(env: Record<string, string>, count: number) {
  const started = await Promise.all(
    // Each replica its own clone cache, as each pod has its own emptyDir: processes fetching
    // into one cache at once corrupt its packs.
    Array.from(
      { length: count },
      (_, i) =>
        RouterProcess.start({
          ...env,
          POD_NAME: `r${i + 1}`,
          DATA_DIR: `${env.DATA_DIR}-r${i + 1}`,
        }),
    ),
  );
  for (const router of started) {
    await router.waitFor(async () => (await router.call("/readyz")).status === 200);
  }
  return started;
}

Deno.test("three replicas: push fan-out, one Job per key, schedules, status, SIGKILL", async (t) => {
  const stack = await startStack({
    env: { WEBHOOK_SECRET: SECRET, GIT_POLL_INTERVAL: "3600", POD_NAME: "r0" },
  });
  const { repo, git, kube } = stack;
  const others = await replicasOf(stack.env, 2);
  const all = [stack.router, ...others];
  try {
    await t.step("a push delivered to one replica goes live on every one", async () => {
      const sha = await repo.commitAndPush({
        "config.json": configJson({ echo: ["echo.yaml"], second: ["echo.yaml"] }),
        "echo.yaml": ECHO_JOB,
      }, "add a topic");
      const payload = JSON.stringify(
        pushPayload("github", { repoUrl: git.repoUrl("pipelines"), after: sha }),
      );
      const answer = await stack.router.call("/webhook/git", {
        method: "POST",
        headers: await deliveryHeaders("github", payload, { secret: SECRET }),
        body: payload,
      });
      assertEquals(answer.status, 202, JSON.stringify(answer.body));
      for (const router of others) {
        await router.waitFor(
          async () => (await router.call("/readyz")).body.revision === sha,
          10_000,
        );
      }
    });

    await t.step("/status on any replica lists all three, agreeing", async () => {
      for (const router of all) {
        let last: unknown;
        await router.waitFor(async () => {
          const { replicas } = (await router.call("/status")).body;
          last = replicas;
          return replicas?.live?.length === 3 && replicas.agree === true;
        }).catch((error) => {
          throw new Error(`replicas: ${JSON.stringify(last)}`, { cause: error });
        });
      }
      const { replicas } = (await others[1].call("/status")).body;
      assertEquals(replicas.live.map((r: any) => r.name), ["r0", "r1", "r2"]);
      assertEquals(replicas.self, "r2");
    });

    await t.step("one Idempotency-Key sent to all three at once makes one Job", async () => {
      const before = kube.objects({ kind: "Job" }).length;
      const answers = await Promise.all(all.map((router) =>
        router.call("/publish/echo", {
          method: "POST",
          body: "once",
          headers: { "idempotency-key": "same-key-everywhere" },
        })
      ));
      for (const a of answers) assertEquals(a.status, 202, JSON.stringify(a.body));
      assertEquals(new Set(answers.map((a) => a.body.requestUuid)).size, 1);
      assertEquals(kube.objects({ kind: "Job" }).length, before + 1);
    });

    await t.step("SIGKILL one replica mid-burst: every 202 of the others has its Job", async () => {
      const accepted: string[] = [];
      const refused: string[] = [];
      const publishes = [stack.router, others[0]].flatMap((router) =>
        Array.from({ length: 20 }, (_, i) => ({ router, i }))
      );
      const burst = publishes.map(({ router, i }) =>
        router.call(`/publish/second?n=${i}`, { method: "POST", body: `b${i}` }).then(
          (a) => {
            if (a.status === 202) accepted.push(a.body.requestUuid);
            else refused.push(`${a.status} ${JSON.stringify(a.body)}`);
          },
          (error) => refused.push(String(error)),
        )
      );
      const killed = others[1].call("/publish/second", { method: "POST", body: "x" })
        .catch(() => undefined);
      await others[1].stop("SIGKILL");
      await Promise.all([...burst, killed]);
      assertEquals(refused, []);
      assertEquals(accepted.length, 40);
      for (const uuid of accepted) {
        assertEquals(
          kube.objects({ kind: "Job", labelSelector: `gitfaas.io/request-uuid=${uuid}` }).length,
          1,
          uuid,
        );
      }
      // The killed replica drops out when its Lease expires; the others still agree.
      const { replicas } = (await stack.router.call("/status")).body;
      assert(replicas.agree);
    });
  } finally {
    for (const router of others) await router.stop();
    await stack.close();
  }
});

Deno.test("@every 2s over 7 s with three replicas publishes once per tick", async () => {
  const stack = await startStack({
    files: {
      "config.json": JSON.stringify({
        topics: [{ name: "tick", configs: ["echo.yaml"], schedule: "@every 2s" }],
      }),
      "echo.yaml": ECHO_JOB,
    },
    env: { POD_NAME: "r0" },
  });
  const others = await replicasOf(stack.env, 2);
  try {
    const { schedules } = (await stack.router.call("/status")).body;
    assertEquals(schedules.tick.schedule, "@every 2s");
    const topics = (await stack.router.call("/topics")).body.topics;
    assert(Date.parse(topics[0].nextTick) > Date.now() - 100);
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    const ended = Date.now();
    const jobs = stack.kube.objects({ kind: "Job", labelSelector: "gitfaas.io/topic=tick" });
    // Each tick names its request: the Idempotency-Key every replica derives from the tick.
    const uuidOfTick = (tick: number) => publishSeed("tick", tickKey("tick", new Date(tick)));
    const byUuid = new Map<string, number>();
    for (const job of jobs) {
      const uuid = job.metadata.labels["gitfaas.io/request-uuid"];
      byUuid.set(uuid, (byUuid.get(uuid) ?? 0) + 1);
    }
    assertEquals([...byUuid.values()].filter((n) => n > 1), [], "a tick made two Jobs");
    const ticksInWindow: number[] = [];
    for (let tick = Math.ceil(started / 2000) * 2000; tick <= ended; tick += 2000) {
      ticksInWindow.push(tick);
    }
    assert(ticksInWindow.length >= 3, `${ticksInWindow.length} ticks`);
    // Every tick of the window fired (the last may still be in flight as the window closes).
    const missing = ticksInWindow.slice(0, -1).filter((tick) => !byUuid.has(uuidOfTick(tick)));
    assertEquals(missing, []);
    const known = new Set(
      Array.from({ length: 60 }, (_, i) => uuidOfTick((Math.floor(ended / 2000) - i) * 2000)),
    );
    assertEquals([...byUuid.keys()].filter((u) => !known.has(u)), [], "a Job of no tick");
    const keys = stack.kube.objects({ kind: "ConfigMap", namespace: "default" })
      .find((c) => c.metadata.name === "gitfaas-schedules");
    assert(keys?.data?.["tick.last-tick"], "the last fired tick is recorded");
  } finally {
    for (const router of others) await router.stop();
    await stack.close();
  }
});
