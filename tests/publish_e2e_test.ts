// deno-lint-ignore-file no-explicit-any -- tests read deep into Kubernetes objects
/**
 * End to end: the router started as `deno task start` does, a real Git server, and the
 * Kubernetes API simulator over HTTPS. What a user sees from publish.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "./support/assert.ts";
import {
  configJson,
  CONVERT_JOB,
  ECHO_JOB,
  fromBase64,
  INPUT_CONFIG_MAP,
  jobEnv,
  startStack,
} from "./support/fixtures.ts";

/** Two documents in one file: the ConfigMap, then a Job under a generated name. */
const MULTI = `${INPUT_CONFIG_MAP}---\n${CONVERT_JOB}`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web{{suffix}}
spec:
  replicas: {{replicas}}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web{{container}}
          image: nginx
`;

Deno.test("publish applies the topic's objects and reports each", async (t) => {
  const stack = await startStack({
    files: {
      "config.json": configJson({
        echo: ["echo.yaml"],
        convert: ["multi.yaml"],
        web: ["web.yaml"],
      }),
      "echo.yaml": ECHO_JOB,
      "multi.yaml": MULTI,
      "web.yaml": DEPLOYMENT,
    },
  });
  const { router, kube } = stack;
  const publish = (path: string, body: BodyInit | null, type?: string) =>
    router.call(path, {
      method: "POST",
      body,
      headers: type ? { "content-type": type } : {},
    });
  try {
    await t.step("the body reaches the Job byte for byte as MESSAGE", async () => {
      const bodies = [
        JSON.stringify({ hello: "world", quote: "\"'`", backslash: "\\n\\", emoji: "héllo ✓ 🚀" }),
        "line one\nline two\r\n\ttabbed: value # not a comment\n---\n",
        "",
      ];
      for (const body of bodies) {
        const type = body.startsWith("{") ? "application/json" : "text/plain";
        const { status, body: report } = await publish("/publish/echo?greeting=hi", body, type);
        assertEquals(status, 202, JSON.stringify(report));
        assertEquals(report.topic, "echo");
        assertMatch(report.requestUuid, /^[0-9a-f-]{36}$/);
        assertEquals(report.revision, await stack.repo.head());
        assertEquals(report.objects.length, 1);
        const [object] = report.objects;
        assertEquals(object.outcome, "created");
        assertEquals(object.kind, "Job");
        assertEquals(object.namespace, "default");
        assertMatch(object.name, /^echo-[a-z0-9]{10}$/);
        const job = kube.getObject("batch/v1", "Job", "default", object.name)!;
        assert(job, "the Job exists in the cluster");
        assertEquals(new TextDecoder().decode(fromBase64(jobEnv(job, "MESSAGE")!)), body);
        assertEquals(jobEnv(job, "REQUEST_UUID"), report.requestUuid);
        assertEquals(jobEnv(job, "TOPIC"), "echo");
        assertEquals(jobEnv(job, "GREETING"), "hi");
        assertMatch(jobEnv(job, "FUNCTION_UID")!, /^[0-9a-f-]{36}$/);
        for (const labels of [job.metadata.labels, job.spec.template.metadata.labels]) {
          assertEquals(labels["app.kubernetes.io/managed-by"], "gitfaas");
          assertEquals(labels["gitfaas.io/topic"], "echo");
          assertEquals(labels["gitfaas.io/request-uuid"], report.requestUuid);
        }
      }
    });

    await t.step("query values fill the template, in both URL forms", async () => {
      for (const path of ["/publish/echo?replicas=3", "/publish/echo&replicas=3"]) {
        const { status, body } = await publish(path, "x", "text/plain");
        assertEquals(status, 202, JSON.stringify(body));
        const job = kube.getObject("batch/v1", "Job", "default", body.objects[0].name)!;
        assertEquals(job.spec.parallelism, 3);
      }
    });

    await t.step(
      "a multi-document manifest creates each object, generateName included",
      async () => {
        const { status, body } = await publish(
          "/publish/convert",
          '{"file":"a.gz"}',
          "application/json",
        );
        assertEquals(status, 202, JSON.stringify(body));
        assertEquals(body.objects.map((o: any) => [o.kind, o.outcome]), [
          ["ConfigMap", "created"],
          ["Job", "created"],
        ]);
        assertMatch(body.objects[0].name, /^input-[a-z0-9]{10}$/);
        assertMatch(body.objects[1].name, /^convert-[a-z0-9]{5}$/);
        const cm = kube.getObject("v1", "ConfigMap", "default", body.objects[0].name)!;
        assertEquals(new TextDecoder().decode(fromBase64(cm.data.message)), '{"file":"a.gz"}');
        assertEquals(cm.data.requestUuid, body.requestUuid);
        const job = kube.getObject("batch/v1", "Job", "default", body.objects[1].name)!;
        assertEquals(jobEnv(job, "MESSAGE"), cm.data.message);
      },
    );

    await t.step(
      "a fixed-name object is updated by the next publish, like kubectl apply",
      async () => {
        const first = await publish("/publish/web?replicas=1", null);
        assertEquals(first.status, 202, JSON.stringify(first.body));
        assertEquals(first.body.objects[0].outcome, "created");
        const second = await publish("/publish/web?replicas=4", null);
        assertEquals(second.status, 202, JSON.stringify(second.body));
        assertEquals(second.body.objects[0].outcome, "configured");
        const deployment = kube.getObject("apps/v1", "Deployment", "default", "web")!;
        assertEquals(deployment.spec.replicas, 4);
        assertEquals(
          deployment.spec.template.metadata.labels["gitfaas.io/request-uuid"],
          second.body.requestUuid,
        );
        assertEquals(deployment.spec.template.metadata.labels.app, "web");
      },
    );

    await t.step("an object the API server refuses is reported with its reason", async () => {
      // An uppercase container name is invalid: the API server answers 422 Invalid.
      const { status, body } = await publish("/publish/web?replicas=1&container=_Bad", null);
      assertEquals(status, 422, JSON.stringify(body));
      assertEquals(body.objects[0].outcome, "failed");
      assertEquals(body.objects[0].code, 422);
      assertEquals(body.objects[0].reason, "Invalid");
      assertStringIncludes(body.objects[0].error, "RFC 1123");
    });

    await t.step("a name the API server would refuse is refused before it is sent", async () => {
      const writes = kube.requests.filter((r) => r.method !== "GET").length;
      const { status, body } = await publish("/publish/web?replicas=1&suffix=_Bad", null);
      assertEquals(status, 422, JSON.stringify(body));
      assertStringIncludes(
        body.error,
        'web.yaml: document 1 (Deployment "web_Bad"): metadata.name "web_Bad" is not a valid name',
      );
      assertEquals(kube.requests.filter((r) => r.method !== "GET").length, writes);
    });

    await t.step("bad requests get a clear status and JSON error", async () => {
      const cases: [string, RequestInit, number, string][] = [
        ["/publish/nope", { method: "POST", body: "x" }, 404, 'unknown topic "nope"'],
        [
          "/publish/echo",
          { method: "POST", body: "{nope", headers: { "content-type": "application/json" } },
          400,
          "not valid JSON",
        ],
        [
          "/publish/echo",
          {
            method: "POST",
            body: "a=b",
            headers: { "content-type": "application/x-www-form-urlencoded" },
          },
          415,
          "application/json",
        ],
        [
          "/publish/echo",
          { method: "POST", body: "x".repeat(1024 * 1024 + 1) },
          413,
          "larger than the limit",
        ],
        ["/publish/echo", { method: "GET" }, 405, "use POST"],
        [
          "/publish/echo?x=a%0Akind:%20Role",
          { method: "POST", body: "x" },
          400,
          'query parameter "x" contains a control character',
        ],
        ["/nowhere", { method: "GET" }, 404, "no such endpoint"],
      ];
      for (const [path, init, status, message] of cases) {
        const answer = await router.call(path, init);
        assertEquals(answer.status, status, `${path}: ${JSON.stringify(answer.body)}`);
        assertStringIncludes(answer.body.error, message);
        assertMatch(answer.headers.get("content-type")!, /^application\/json/);
      }
    });

    await t.step("probes and listings", async () => {
      assertEquals((await router.call("/healthz")).status, 200);
      const ready = await router.call("/readyz");
      assertEquals(ready.status, 200);
      assertEquals(ready.body.revision, await stack.repo.head());
      const topics = await router.call("/topics");
      assertEquals(topics.body.topics, [
        {
          name: "echo",
          manifests: ["echo.yaml"],
          kinds: [{ apiVersion: "batch/v1", kind: "Job" }],
          values: ["replicas", "greeting"],
          usable: true,
        },
        {
          name: "convert",
          manifests: ["multi.yaml"],
          kinds: [{ apiVersion: "v1", kind: "ConfigMap" }, { apiVersion: "batch/v1", kind: "Job" }],
          values: [],
          usable: true,
        },
        {
          name: "web",
          manifests: ["web.yaml"],
          kinds: [{ apiVersion: "apps/v1", kind: "Deployment" }],
          values: ["suffix", "replicas", "container"],
          usable: true,
        },
      ]);
      const status = await router.call("/status");
      assertEquals(status.body.revision, await stack.repo.head());
      assertEquals(status.body.topics, 3);
      assertEquals(status.body.lastSync.outcome, "changed");
      assert(status.body.lastGoodSyncAt);
    });

    await t.step("the Git token never shows in logs or answers", () => {
      assertEquals(router.output.includes(stack.git.token), false);
    });
  } finally {
    await stack.close();
  }
});
