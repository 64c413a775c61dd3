// deno-lint-ignore-file no-explicit-any -- tests read deep into reports and Kubernetes objects
/**
 * End to end against the API simulator: what a publish applies is what its request says, and
 * nothing else. Rendered names never become other paths (`..`, empty), an Idempotency-Key reused
 * with a different request is refused before anything is written, and a message too large for
 * a container's environment is refused before anything is applied.
 */

import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { configJson, startStack } from "./support/fixtures.ts";

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
