// deno-lint-ignore-file no-explicit-any no-control-regex -- tests read deep into answers; values hold control characters
/**
 * End to end: what a caller can and cannot make the router do. Values never change structure,
 * the policy holds at index build and at publish, the token guards what it should, and every
 * limit answers with a clear error.
 */

import fc from "fast-check";
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { configJson, ECHO_JOB, fromBase64, jobEnv, startStack } from "./support/fixtures.ts";

const ROLE = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: escalate-{{RANDOM}}
rules: []
`;

const JOB_IN_NAMESPACE = ECHO_JOB.replace(
  "name: echo-{{RANDOM}}",
  "name: echo-{{RANDOM}}\n  namespace: '{{ns}}'",
);

const VALUES = `apiVersion: v1
kind: ConfigMap
metadata:
  name: values-{{RANDOM}}
data:
  plain: x {{v}}
  quoted: "{{v}}"
  single: '{{v}}'
  list: "[{{v}}]"
  block: |
    {{v}}
binaryData:
  message: {{MESSAGE}}
`;

Deno.test("values cannot change what is applied, whatever they hold", async (t) => {
  const stack = await startStack({
    files: { "config.json": configJson({ values: ["values.yaml"] }), "values.yaml": VALUES },
  });
  const { router, kube } = stack;
  try {
    await t.step("the upstream's attacks are refused or land as plain data", async () => {
      const newline = await router.call("/publish/values?v=x%0Akind:%20Role", {
        method: "POST",
        body: "x",
      });
      assertEquals(newline.status, 400);
      assertStringIncludes(newline.body.error, 'query parameter "v" contains a control character');
      assertEquals(kube.objects({ kind: "ConfigMap" }).length, 0);

      const closeQuote = `x", "evil": "yes`;
      const { status, body } = await router.call(
        `/publish/values?v=${encodeURIComponent(closeQuote)}`,
        { method: "POST", body: "y" },
      );
      assertEquals(status, 202, JSON.stringify(body));
      const cm = kube.getObject("v1", "ConfigMap", "default", body.objects[0].name)!;
      assertEquals(Object.keys(cm.data).sort(), ["block", "list", "plain", "quoted", "single"]);
      assertEquals(cm.data.quoted, closeQuote);
      assertEquals(cm.data.plain, `x ${closeQuote}`);
      assertEquals(cm.data.single, closeQuote);
      assertEquals(cm.data.block, `${closeQuote}\n`);
    });

    await t.step("random bodies and values: 400, or the same keys and the exact body", async () => {
      const value = fc.oneof(
        fc.string({
          unit: fc.constantFrom(..."\"'\\\n\t:-#&*!|>%@`{}[], \u00e9\u{1F680}"),
          maxLength: 30,
        }),
        fc.constantFrom("---", "...", "{{v}}", "\n---\nkind: Secret", "x".repeat(4000)),
      );
      const body = fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.string({ unit: fc.constantFrom(..."\"'\\\n\r\t:-#{}[]"), maxLength: 200 }),
      );
      await fc.assert(
        fc.asyncProperty(value, body, async (v, text) => {
          const answer = await router.call(`/publish/values?v=${encodeURIComponent(v)}`, {
            method: "POST",
            body: text,
            headers: { "content-type": "text/plain" },
          });
          if (/[\u0000-\u001f\u007f]/.test(v)) {
            assertEquals(answer.status, 400);
            return;
          }
          assertEquals(answer.status, 202, JSON.stringify(answer.body));
          const cm = kube.getObject("v1", "ConfigMap", "default", answer.body.objects[0].name)!;
          assertEquals(Object.keys(cm.data).sort(), ["block", "list", "plain", "quoted", "single"]);
          assertEquals(cm.data.quoted, v);
          assertEquals(new TextDecoder().decode(fromBase64(cm.binaryData.message)), text);
        }),
        { numRuns: 150 },
      );
    });
  } finally {
    await stack.close();
  }
});

Deno.test("the policy holds when the index is built and at publish", async (t) => {
  const stack = await startStack({
    files: {
      "config.json": configJson({
        echo: ["echo.yaml"],
        escalate: ["echo.yaml", "role.yaml"],
        placed: ["placed.yaml"],
      }),
      "echo.yaml": ECHO_JOB,
      "role.yaml": ROLE,
      "placed.yaml": JOB_IN_NAMESPACE,
    },
    namespaces: ["jobs", "other"],
    env: { NAMESPACE: "jobs", ALLOWED_NAMESPACES: "jobs" },
  });
  const { router, kube } = stack;
  try {
    await t.step("a denied kind makes its topic unusable; the others serve", async () => {
      const status = (await router.call("/status")).body;
      assertEquals(Object.keys(status.unusableTopics), ["escalate"]);
      assertStringIncludes(
        status.unusableTopics.escalate[0],
        "role.yaml: line 1: document 1: Role.rbac.authorization.k8s.io is a denied kind",
      );
      const topics = (await router.call("/topics")).body.topics;
      assertEquals(topics.find((t: any) => t.name === "escalate").usable, false);
      assertEquals(topics.find((t: any) => t.name === "echo").usable, true);

      const refused = await router.call("/publish/escalate", { method: "POST", body: "x" });
      assertEquals(refused.status, 403);
      assertStringIncludes(refused.body.error, "denied kind");
      assertEquals(kube.objects({ kind: "Job" }).length, 0, "nothing of the topic was applied");
      assertEquals((await router.call("/publish/echo", { method: "POST", body: "x" })).status, 202);
    });

    await t.step("a value that moves an object to another namespace is refused", async () => {
      const before = kube.objects({ kind: "Job" }).length;
      const refused = await router.call("/publish/placed?ns=other", { method: "POST", body: "x" });
      assertEquals(refused.status, 403, JSON.stringify(refused.body));
      assertStringIncludes(refused.body.error, 'namespace "other" is not allowed');
      assertStringIncludes(refused.body.error, "placed.yaml");
      assertEquals(kube.objects({ kind: "Job" }).length, before);
      const allowed = await router.call("/publish/placed?ns=jobs", { method: "POST", body: "x" });
      assertEquals(allowed.status, 202, JSON.stringify(allowed.body));
      assertEquals(allowed.body.objects[0].namespace, "jobs");
    });
  } finally {
    await stack.close();
  }
});

Deno.test("with PUBLISH_TOKEN, publish and refresh need it; probes stay open", async () => {
  const token = "s3cret-publish-token";
  const stack = await startStack({ env: { PUBLISH_TOKEN: token } });
  const { router } = stack;
  try {
    for (
      const [path, method] of [["/publish/echo", "POST"], ["/refresh", "GET"], ["/status", "GET"], [
        "/topics",
        "GET",
      ]]
    ) {
      const none = await router.call(path, { method, body: method === "POST" ? "x" : undefined });
      assertEquals(none.status, 401, path);
      assertStringIncludes(none.body.error, "bearer token");
      const wrong = await router.call(path, {
        method,
        body: method === "POST" ? "x" : undefined,
        headers: { authorization: "Bearer wrong" },
      });
      assertEquals(wrong.status, 401, path);
      const right = await router.call(path, {
        method,
        body: method === "POST" ? "x" : undefined,
        headers: { authorization: `Bearer ${token}` },
      });
      assert(right.status < 300, `${path}: ${right.status}`);
    }
    assertEquals((await router.call("/healthz")).status, 200);
    assertEquals((await router.call("/readyz")).status, 200);
    assertEquals(router.output.includes(token), false);
    assertStringIncludes(router.output, "auth on");
  } finally {
    await stack.close();
  }
});

Deno.test("limits answer with clear errors", async (t) => {
  const stack = await startStack({ env: { MAX_QUERY_PARAMS: "3", MAX_QUERY_VALUE_BYTES: "16" } });
  const { router, repo } = stack;
  try {
    await t.step("too many or too long query parameters: 400", async () => {
      const many = await router.call("/publish/echo?a=1&b=2&c=3&d=4", { method: "POST" });
      assertEquals(many.status, 400);
      assertStringIncludes(many.body.error, "4 query parameters, more than the limit of 3");
      const long = await router.call(`/publish/echo?a=${"x".repeat(17)}`, { method: "POST" });
      assertEquals(long.status, 400);
      assertStringIncludes(long.body.error, 'query parameter "a" is longer than the limit of 16');
      const ok = await router.call(`/publish/echo?a=${"x".repeat(16)}`, { method: "POST" });
      assertEquals(ok.status, 202);
      assertEquals(
        jobEnv(
          stack.kube.getObject("batch/v1", "Job", "default", ok.body.objects[0].name)!,
          "GREETING",
        ),
        "",
      );
    });

    await t.step("too many manifests or objects for one topic: a config error", async () => {
      const many = Array.from({ length: 51 }, (_, i) => `m${i}.yaml`);
      const files: Record<string, string> = { "config.json": configJson({ echo: many }) };
      for (const name of many) files[name] = ECHO_JOB;
      const sha = await repo.commitAndPush(files, "too many manifests");
      const { status, body } = await router.call("/refresh");
      assertEquals(status, 422);
      assertEquals(body.revision, sha);
      assert(
        body.problems.some((p: string) =>
          p.includes("51 manifest files, more than the limit of 50")
        ),
        JSON.stringify(body.problems),
      );
      const objects = Array.from(
        { length: 101 },
        (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${i}-{{RANDOM}}}\n`,
      ).join("---\n");
      await repo.commitAndPush(
        { "config.json": configJson({ echo: ["big.yaml"] }), "big.yaml": objects },
        "too many objects",
      );
      const big = await router.call("/refresh");
      assertEquals(big.status, 422);
      assert(
        big.body.problems.some((p: string) =>
          p.includes("101 objects, more than the limit of 100")
        ),
        JSON.stringify(big.body.problems),
      );
    });
  } finally {
    await stack.close();
  }
});
