/**
 * How the real API server answers the router's writes: server-side apply outcomes, its own
 * 409 and 422 messages in the report, dry runs that store nothing, and an Idempotency-Key retry
 * that finds the earlier object.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { getOrNone, list, type Obj, startClusterStack } from "../support/cluster/testing.ts";
import { configJson, ECHO_JOB } from "../support/fixtures.ts";

const WEB = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {{replicas}}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:1.27
`;

const FILES = {
  "config.json": configJson({ web: ["web.yaml"], echo: ["echo.yaml"] }),
  "web.yaml": WEB,
  "echo.yaml": ECHO_JOB.replace("name: echo-{{RANDOM}}", "generateName: echo-"),
};

Deno.test("the real API server's answers reach the publish report", async (t) => {
  const stack = await startClusterStack("apply", { files: FILES });
  const { cluster, namespace } = stack;
  const jobs = `/apis/batch/v1/namespaces/${namespace}/jobs`;
  try {
    await t.step(
      "server-side apply of a fixed-name Deployment: configured, then unchanged",
      async () => {
        const first = await stack.publish("web?replicas=1");
        assertEquals(first.status, 202, JSON.stringify(first.body));
        assertEquals(first.body.objects[0].outcome, "created");
        // Another request (a new request-uuid label in the pod template) changes the object.
        const second = await stack.publish("web?replicas=2", { idempotencyKey: "web-2" });
        assertEquals(second.body.objects[0].outcome, "configured");
        // The same request again: the server keeps the spec as it is. (The resourceVersion may
        // still move: the Deployment controller writes the status.)
        const before = await cluster.json(`/apis/apps/v1/namespaces/${namespace}/deployments/web`);
        const third = await stack.publish("web?replicas=2", { idempotencyKey: "web-2" });
        assertEquals(third.status, 202, JSON.stringify(third.body));
        assertEquals(third.body.objects[0].outcome, "unchanged");
        const after = await cluster.json(
          `/apis/apps/v1/namespaces/${namespace}/deployments/web`,
        );
        assertEquals(after.metadata.generation, before.metadata.generation);
        const appliedAt = (object: Obj) =>
          object.metadata.managedFields.find((f: Obj) => f.manager === "gitfaas").time;
        assertEquals(appliedAt(after), appliedAt(before));
        assertEquals(after.spec.replicas, 2);
        const managers = after.metadata.managedFields.map((f: Obj) => [f.manager, f.operation]);
        assertEquals(managers.filter(([m]: string[]) => m === "gitfaas"), [["gitfaas", "Apply"]]);
      },
    );

    await t.step("a value the server finds invalid: 422 with its own message", async () => {
      const { status, body } = await stack.publish("echo?replicas=-1");
      assertEquals(status, 422, JSON.stringify(body));
      const [object] = body.objects;
      assertEquals([object.outcome, object.code, object.reason], ["failed", 422, "Invalid"]);
      assertMatch(object.error, /^Job\.batch "echo-[a-z0-9]+" is invalid: spec\.parallelism/);
      assertStringIncludes(object.error, "must be greater than or equal to 0");
      assertEquals(object.manifest, "echo.yaml");
    });

    await t.step("?dryRun=true is validated by the server and stores nothing", async () => {
      const before = (await list(cluster, jobs)).length;
      const { status, body } = await stack.publish("echo?replicas=1&dryRun=true");
      assertEquals(status, 202, JSON.stringify(body));
      assertEquals(body.objects[0].outcome, "dry-run");
      assertEquals((await list(cluster, jobs)).length, before);
      assertEquals(await getOrNone(cluster, `${jobs}/${body.objects[0].name}`), undefined);
      // The server still judges a dry run: an invalid value is refused the same way.
      const invalid = await stack.publish("echo?replicas=-1&dryRun=true");
      assertEquals(invalid.status, 422, JSON.stringify(invalid.body));
      assertStringIncludes(invalid.body.objects[0].error, "spec.parallelism");
    });

    await t.step(
      "an Idempotency-Key retry finds the earlier object instead of a second",
      async () => {
        const first = await stack.publish("echo?replicas=1", { idempotencyKey: "retry-1" });
        assertEquals(first.status, 202, JSON.stringify(first.body));
        assertEquals(first.body.objects[0].outcome, "created");
        const again = await stack.publish("echo?replicas=1", { idempotencyKey: "retry-1" });
        assertEquals(again.status, 202, JSON.stringify(again.body));
        assertEquals(again.body.objects[0].outcome, "unchanged");
        assertEquals(again.body.objects[0].name, first.body.objects[0].name);
        const stored = await list(
          cluster,
          jobs,
          `gitfaas.io/request-uuid=${first.body.requestUuid}`,
        );
        assertEquals(stored.length, 1);
      },
    );

    await t.step(
      "a name taken by another object: 409 AlreadyExists with the server's message",
      async () => {
        // A dry run tells the name the key derives; someone else then takes that name.
        const preview = await stack.publish("echo?replicas=1&dryRun=true", {
          idempotencyKey: "clash",
        });
        const name: string = preview.body.objects[0].name;
        const created = await cluster.kubectl([
          "-n",
          namespace,
          "create",
          "job",
          name,
          "--image=busybox",
        ]);
        assertEquals(created.code, 0, created.stderr);
        const { status, body } = await stack.publish("echo?replicas=1", {
          idempotencyKey: "clash",
        });
        assertEquals(status, 422, JSON.stringify(body));
        const [object] = body.objects;
        assertEquals([object.outcome, object.code, object.reason], [
          "failed",
          409,
          "AlreadyExists",
        ]);
        assertEquals(object.error, `jobs.batch "${name}" already exists`);
        const job = await cluster.json(`${jobs}/${name}`);
        assert(
          !job.metadata.labels?.["gitfaas.io/topic"],
          "the other object is untouched",
        );
      },
    );
  } finally {
    await stack.close();
  }
});
