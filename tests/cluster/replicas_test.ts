/**
 * Three router processes on the real API server, each logged in as deploy/'s ServiceAccount and
 * judged by deploy/'s Roles (moved to namespaces of this test's own): a push delivered to one
 * reaches the others through the real `gitfaas-sync` ConfigMap and its watch; `/status` lists
 * the replicas from their real Leases; one Idempotency-Key sent to all three at once makes one
 * Job; an `@every` schedule fires once per tick; a replica that stops removes its Lease; and
 * the real RBAC refuses none of it.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { installDeployRbac } from "../support/cluster/deploy_login.ts";
import {
  attachCluster,
  createNamespace,
  deleteNamespace,
  eventually,
  getOrNone,
  list,
  type Obj,
} from "../support/cluster/testing.ts";
import { configJson, ECHO_JOB } from "../support/fixtures.ts";
import { GitServer } from "../support/git_server.ts";
import { RouterProcess } from "../support/router_process.ts";
import { deliveryHeaders, pushPayload } from "../support/webhook_payloads.ts";
import { publishSeed } from "../../src/publish/values.ts";
import { tickKey } from "../../src/schedule/schedule.ts";

const SECRET = "replicas-cluster-webhook-secret";
const NAMES = ["r0", "r1", "r2"];

Deno.test("three replicas on the real API server, under deploy/'s RBAC", async (t) => {
  const cluster = await attachCluster();
  const namespaces = {
    router: await createNamespace(cluster, "replicas"),
    jobs: await createNamespace(cluster, "replicas-jobs"),
  };
  const git = await GitServer.start();
  const dir = await Deno.makeTempDir({ prefix: "gitfaas-replicas-" });
  const routers: RouterProcess[] = [];
  try {
    const login = await installDeployRbac(cluster, namespaces, { dir });
    const repo = await git.createRepo("pipelines", {
      files: { "config.json": configJson({ echo: ["echo.yaml"] }), "echo.yaml": ECHO_JOB },
    });
    for (const name of NAMES) {
      routers.push(
        await RouterProcess.start({
          ...login.env,
          POD_NAME: name,
          GIT_URL: git.repoUrl("pipelines"),
          GIT_USER_NAME: git.user,
          GIT_PERSONAL_TOKEN: git.token,
          GIT_POLL_INTERVAL: "3600",
          WEBHOOK_SECRET: SECRET,
          // Each replica its own clone cache, as each pod has its own emptyDir.
          DATA_DIR: `${dir}/data-${name}`,
        }),
      );
    }
    for (const router of routers) {
      await router.waitFor(async () => (await router.call("/readyz")).status === 200, 60_000);
    }
    const sharedConfigMap = (name: string) =>
      getOrNone(cluster, `/api/v1/namespaces/${namespaces.router}/configmaps/${name}`);
    const deliver = async (receiver: RouterProcess, sha: string) => {
      const body = JSON.stringify(
        pushPayload("github", { repoUrl: git.repoUrl("pipelines"), after: sha }),
      );
      const answer = await receiver.call("/webhook/git", {
        method: "POST",
        headers: await deliveryHeaders("github", body, { secret: SECRET }),
        body,
      });
      assertEquals(answer.status, 202, JSON.stringify(answer.body));
    };

    let pushed = "";
    await t.step("a push delivered to one replica is served by every one", async () => {
      pushed = await repo.commitAndPush({
        "config.json": configJson({ echo: ["echo.yaml"], second: ["echo.yaml"] }),
      }, "add a topic");
      await deliver(routers[0], pushed);
      // The receiver recorded it on the shared object, by its pod name.
      const recorded = await sharedConfigMap("gitfaas-sync");
      assertEquals(recorded?.metadata.annotations["gitfaas.io/requested-revision"], pushed);
      assertEquals(recorded?.metadata.annotations["gitfaas.io/requested-by"], "r0");
      // GIT_POLL_INTERVAL is an hour: only the watch of that object brings the others along.
      for (const router of routers.slice(1)) {
        await router.waitFor(async () => (await router.call("/readyz")).body.revision === pushed);
      }
      const published = await routers[2].call("/publish/second", { method: "POST", body: "x" });
      assertEquals(published.status, 202, JSON.stringify(published.body));
      assertEquals(published.body.revision, pushed);
    });

    await t.step("/status on any replica lists all three from their Leases, agreeing", async () => {
      const leases = await eventually("three Leases serving the pushed commit", async () => {
        const items = await list(
          cluster,
          `/apis/coordination.k8s.io/v1/namespaces/${namespaces.router}/leases`,
        );
        const serving = items.filter((l) =>
          l.metadata.annotations?.["gitfaas.io/serving-revision"] === pushed
        );
        return serving.length === NAMES.length ? items : undefined;
      }, 30_000);
      assertEquals(leases.map((l) => l.spec.holderIdentity).sort(), NAMES);
      for (const lease of leases) assert(lease.spec.leaseDurationSeconds > 0);
      for (const router of routers) {
        const { status, body } = await router.call("/status");
        assertEquals(status, 200, JSON.stringify(body));
        const { replicas } = body;
        assertEquals(replicas.live.map((r: Obj) => r.name), NAMES, JSON.stringify(replicas));
        assert(replicas.agree, JSON.stringify(replicas));
        assert(replicas.live.every((r: Obj) => r.revision === pushed && r.healthy));
      }
    });

    await t.step("one Idempotency-Key sent to all three at once makes one Job", async () => {
      const answers = await Promise.all(routers.map((router) =>
        router.call("/publish/echo", {
          method: "POST",
          body: "once",
          headers: { "idempotency-key": "same-key-everywhere" },
        })
      ));
      for (const a of answers) assertEquals(a.status, 202, JSON.stringify(a.body));
      const uuids = new Set(answers.map((a) => a.body.requestUuid));
      assertEquals(uuids.size, 1);
      const jobs = await list(
        cluster,
        `/apis/batch/v1/namespaces/${namespaces.jobs}/jobs`,
        `gitfaas.io/request-uuid=${[...uuids][0]}`,
      );
      assertEquals(jobs.length, 1, jobs.map((j) => j.metadata.name).join(", "));
    });

    await t.step("@every 2s on three replicas: one Job per tick", async () => {
      const sha = await repo.commitAndPush({
        "config.json": JSON.stringify({
          topics: [
            { name: "echo", configs: ["echo.yaml"] },
            { name: "tick", configs: ["echo.yaml"], schedule: "@every 2s" },
          ],
        }),
      }, "schedule a topic");
      await deliver(routers[1], sha);
      for (const router of routers) {
        await router.waitFor(async () => (await router.call("/readyz")).body.revision === sha);
      }
      const started = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 7_000));
      const ended = Date.now();
      const jobs = await list(
        cluster,
        `/apis/batch/v1/namespaces/${namespaces.jobs}/jobs`,
        "gitfaas.io/topic=tick",
      );
      const byUuid = new Map<string, number>();
      for (const job of jobs) {
        const uuid = job.metadata.labels["gitfaas.io/request-uuid"];
        byUuid.set(uuid, (byUuid.get(uuid) ?? 0) + 1);
      }
      assertEquals([...byUuid.values()].filter((n) => n > 1), [], "a tick made two Jobs");
      const uuidOfTick = (tick: number) => publishSeed("tick", tickKey("tick", new Date(tick)));
      // Every tick of the window fired (the last may still be in flight as the window closes).
      const ticks: number[] = [];
      for (let tick = Math.ceil(started / 2000) * 2000; tick <= ended; tick += 2000) {
        ticks.push(tick);
      }
      const missing = ticks.slice(0, -1).filter((tick) => !byUuid.has(uuidOfTick(tick)))
        .map((tick) => new Date(tick).toISOString());
      assertEquals(missing, []);
      const record = await sharedConfigMap("gitfaas-schedules");
      assert(record?.data?.["tick.last-tick"], JSON.stringify(record?.data));
    });

    await t.step("a replica that stops removes its Lease; the others list two", async () => {
      await routers[2].stop();
      const leases = await list(
        cluster,
        `/apis/coordination.k8s.io/v1/namespaces/${namespaces.router}/leases`,
      );
      assertEquals(leases.map((l) => l.spec.holderIdentity).sort(), ["r0", "r1"]);
      const { replicas } = (await routers[0].call("/status")).body;
      assertEquals(replicas.live.map((r: Obj) => r.name), ["r0", "r1"]);
    });

    await t.step("the real RBAC refused nothing the replicas did", () => {
      const refused = routers.flatMap((router) =>
        router.logs().map((line) => JSON.stringify(line)).filter((line) =>
          /forbidden|cannot (watch|renew|tell|record|start|follow)/i.test(line)
        )
      );
      assertEquals(refused, []);
    });
  } finally {
    for (const router of routers) await router.stop();
    await git.close();
    await deleteNamespace(cluster, namespaces.router);
    await deleteNamespace(cluster, namespaces.jobs);
    await cluster.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => undefined);
  }
});
