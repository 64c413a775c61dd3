// deno-lint-ignore-file no-explicit-any -- tests read deep into reports and Kubernetes objects
/**
 * End to end against the API simulator: what a publish applies is what its request says, and
 * nothing else. Rendered names never become other paths (`..`, empty), an Idempotency-Key reused
 * with a different request is refused before anything is written, and a message too large for
 * a container's environment is refused before anything is applied.
 */

import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { configJson, fromBase64, startStack } from "./support/fixtures.ts";

const NAMED = `apiVersion: v1
kind: ConfigMap
metadata:
  name: "{{name}}"
  namespace: "{{ns}}"
data:
  message: "{{MESSAGE}}"
`;

const PAIR = `apiVersion: v1
kind: ConfigMap
metadata:
  name: first-{{RANDOM}}
data:
  message: "{{MESSAGE}}"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: "{{second}}"
data:
  message: "{{MESSAGE}}"
`;

/** Sends a publish and answers status and body. */
function publish(
  router: { call(path: string, init?: RequestInit): Promise<{ status: number; body: any }> },
  path: string,
  body: string | Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = {},
) {
  return router.call(path, {
    method: "POST",
    body,
    headers: { "content-type": "text/plain", ...headers },
  });
}

Deno.test("rendered names and namespaces never become other paths: 422, nothing written", async () => {
  const stack = await startStack({
    files: {
      "config.json": configJson({ named: ["named.yaml"], pair: ["pair.yaml"] }),
      "named.yaml": NAMED,
      "pair.yaml": PAIR,
    },
    env: { ALLOWED_NAMESPACES: "*" },
  });
  const { router, kube } = stack;
  try {
    const namespaceBefore = JSON.stringify(kube.getObject("v1", "Namespace", undefined, "default"));
    const cases = [
      "name=..&ns=default",
      "name=.&ns=default",
      "name=&ns=default",
      "name=a%2Fb&ns=default",
      "name=UPPER&ns=default",
      "name=ok&ns=..",
      "name=ok&ns=",
      "name=ok&ns=a.b",
      "name=ok&ns=default%2Fconfigmaps",
      `name=${"a".repeat(254)}&ns=default`,
    ];
    for (const query of cases) {
      const writes = kube.requests.filter((r) => r.method !== "GET").length;
      const { status, body } = await publish(router, `/publish/named?${query}`, "x");
      assertEquals(status, 422, `${query}: ${JSON.stringify(body)}`);
      assertStringIncludes(body.error, "named.yaml");
      assertStringIncludes(body.error, "nothing was applied");
      assertEquals(kube.requests.filter((r) => r.method !== "GET").length, writes, query);
    }
    assertEquals(kube.objects({ kind: "ConfigMap" }).length, 0);
    assertEquals(
      JSON.stringify(kube.getObject("v1", "Namespace", undefined, "default")),
      namespaceBefore,
    );

    // One bad object refuses the publish before the good one is written.
    const pair = await publish(router, "/publish/pair?second=..", "x");
    assertEquals(pair.status, 422, JSON.stringify(pair.body));
    assertStringIncludes(pair.body.error, `metadata.name ".."`);
    assertEquals(kube.objects({ kind: "ConfigMap" }).length, 0);

    // A valid name still works, and lands where it says.
    const ok = await publish(router, "/publish/named?name=fine.name&ns=default", "x");
    assertEquals(ok.status, 202, JSON.stringify(ok.body));
    assert(kube.getObject("v1", "ConfigMap", "default", "fine.name"));
  } finally {
    await stack.close();
  }
});

const INPUT = `apiVersion: v1
kind: ConfigMap
metadata:
  name: input-{{RANDOM}}
data:
  message: "{{MESSAGE}}"
  size: "{{size}}"
`;

const CONVERT = `apiVersion: batch/v1
kind: Job
metadata:
  generateName: convert-
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: convert
          image: busybox
          env:
            - { name: MESSAGE, value: "{{MESSAGE}}" }
            - { name: SIZE, value: "{{size}}" }
            - { name: TOKEN, value: "{{REQUEST_TOKEN}}" }
`;

Deno.test("an Idempotency-Key reused with another body or query: 422 before anything is written; the same request again: unchanged", async () => {
  const stack = await startStack({
    files: {
      "config.json": configJson({ convert: ["input.yaml", "convert.yaml"], named: ["named.yaml"] }),
      "input.yaml": INPUT,
      "convert.yaml": CONVERT,
      "named.yaml": NAMED,
    },
    env: { PUBLISH_TOKEN: "publish-secret" },
  });
  const { router, kube } = stack;
  const auth = { authorization: "Bearer publish-secret" };
  const writes = () => kube.requests.filter((r) => r.method !== "GET").length;
  try {
    const key = { ...auth, "idempotency-key": `order-${crypto.randomUUID()}` };
    const first = await publish(router, "/publish/convert?size=2", "first body", key);
    assertEquals(first.status, 202, JSON.stringify(first.body));
    assertEquals(first.body.objects.map((o: any) => o.outcome), ["created", "created"]);
    const stored = () =>
      kube.objects({ labelSelector: `gitfaas.io/request-uuid=${first.body.requestUuid}` });
    const before = JSON.stringify(stored());

    for (
      const [path, body] of [
        ["/publish/convert?size=2", "second body"],
        ["/publish/convert?size=3", "first body"],
        ["/publish/convert", "first body"],
        ["/publish/convert?size=2&extra=1", "first body"],
      ]
    ) {
      const writesBefore = writes();
      const reused = await publish(router, path, body, key);
      assertEquals(reused.status, 422, `${path} ${body}: ${JSON.stringify(reused.body)}`);
      assertStringIncludes(
        reused.body.error,
        "Idempotency-Key is already used with a different request payload",
      );
      assertEquals(writes(), writesBefore, `${path} ${body}: nothing written`);
    }
    assertEquals(JSON.stringify(stored()), before, "the first request's objects are untouched");

    // The identical request, again (the hour-rounded REQUEST_TOKEN and the labels included).
    const again = await publish(router, "/publish/convert?size=2", "first body", key);
    assertEquals(again.status, 202, JSON.stringify(again.body));
    assertEquals(again.body.objects.map((o: any) => o.outcome), ["unchanged", "unchanged"]);
    assertEquals(again.body.requestUuid, first.body.requestUuid);
    // The same values in another order, and the router's own controls, are the same request.
    const reordered = await publish(
      router,
      "/publish/convert?dryRun=false&size=2",
      "first body",
      key,
    );
    assertEquals(reordered.status, 202, JSON.stringify(reordered.body));
    assertEquals(JSON.stringify(stored()), before);
    assertEquals(stored().length, 2);

    // A fixed-name object is not overwritten by a reused key either.
    const named = { ...auth, "idempotency-key": `named-${crypto.randomUUID()}` };
    const one = await publish(router, "/publish/named?name=report&ns=default", "one", named);
    assertEquals(one.status, 202, JSON.stringify(one.body));
    const two = await publish(router, "/publish/named?name=report&ns=default", "two", named);
    assertEquals(two.status, 422, JSON.stringify(two.body));
    const report = kube.getObject("v1", "ConfigMap", "default", "report")!;
    assertEquals(atob(report.data.message), "one");
    const three = await publish(router, "/publish/named?name=report&ns=default", "one", named);
    assertEquals([three.status, three.body.objects[0].outcome], [202, "unchanged"]);

    // Without a key, a fixed-name object is applied like `kubectl apply`, as before.
    const plain = await publish(router, "/publish/named?name=report&ns=default", "three", auth);
    assertEquals([plain.status, plain.body.objects[0].outcome], [202, "configured"]);
  } finally {
    await stack.close();
  }
});

const BINARY = `apiVersion: v1
kind: ConfigMap
metadata:
  generateName: bytes-
binaryData:
  message: "{{MESSAGE}}"
`;

const IN_ENV = `apiVersion: batch/v1
kind: Job
metadata:
  generateName: env-
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: step
          image: busybox
          env:
            - { name: MESSAGE, value: "{{MESSAGE}}" }
`;

const IN_ARGS = `apiVersion: v1
kind: ConfigMap
metadata:
  generateName: first-
data:
  note: written first
---
apiVersion: batch/v1
kind: Job
metadata:
  generateName: args-
spec:
  template:
    spec:
      restartPolicy: Never
      initContainers:
        - name: fetch
          image: busybox
          args: ["--message", "{{MESSAGE}}"]
      containers:
        - name: step
          image: busybox
`;

/** A Job whose one container gets the message in ten variables: none too long, all too many. */
const MANY = IN_ENV.replace(
  '            - { name: MESSAGE, value: "{{MESSAGE}}" }\n',
  Array.from({ length: 10 }, (_, i) => `            - { name: M${i}, value: "{{MESSAGE}}" }\n`)
    .join(""),
);

Deno.test("bytes as a body; a message too large for a container's environment or arguments is 413, nothing applied", async () => {
  const stack = await startStack({
    files: {
      "config.json": configJson({
        binary: ["binary.yaml"],
        env: ["env.yaml"],
        args: ["args.yaml"],
        many: ["many.yaml"],
      }),
      "binary.yaml": BINARY,
      "env.yaml": IN_ENV,
      "args.yaml": IN_ARGS,
      "many.yaml": MANY,
    },
  });
  const { router, kube } = stack;
  const writes = () => kube.requests.filter((r) => r.method !== "GET").length;
  try {
    // MESSAGE is bytes: any bytes, sent as application/octet-stream, arrive unchanged.
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const binary = await publish(router, "/publish/binary", bytes, {
      "content-type": "application/octet-stream",
    });
    assertEquals(binary.status, 202, JSON.stringify(binary.body));
    const cm = kube.getObject("v1", "ConfigMap", "default", binary.body.objects[0].name)!;
    assertEquals(fromBase64(cm.binaryData.message), bytes);

    // 100,000 bytes are 133,336 in base64: more than one variable may hold.
    const large = new Uint8Array(100_000).fill(7);
    for (
      const [topic, names] of [
        ["env", ["env.yaml", 'container "step"', "MESSAGE"]],
        ["args", ["args.yaml", 'container "fetch"', "args[1]"]],
      ] as const
    ) {
      const before = writes();
      const { status, body } = await publish(router, `/publish/${topic}`, large, {
        "content-type": "application/octet-stream",
      });
      assertEquals(status, 413, JSON.stringify(body));
      for (const name of names) assertStringIncludes(body.error, name);
      assertStringIncludes(body.error, "131071");
      assertStringIncludes(body.error, "nothing was applied");
      assertEquals(writes(), before, `${topic}: nothing written`);
    }

    // Ten variables of 120,000 bytes each: each fits, the pod's 1.2 MB do not.
    const before = writes();
    const many = await publish(router, "/publish/many", new Uint8Array(90_000));
    assertEquals(many.status, 413, JSON.stringify(many.body));
    assertStringIncludes(many.body.error, "many.yaml");
    assertStringIncludes(many.body.error, "1048576");
    assertEquals(writes(), before);

    // A message that fits goes through.
    const fits = await publish(router, "/publish/env", new Uint8Array(90_000));
    assertEquals(fits.status, 202, JSON.stringify(fits.body));
  } finally {
    await stack.close();
  }
});
