// deno-lint-ignore-file no-explicit-any -- tests read deep into reports and Kubernetes objects
/**
 * Reliability against a failing Kubernetes API server: 429 and 5xx answers and broken
 * connections are retried with backoff within the publish's deadline, Retry-After is honoured,
 * answers that retrying cannot fix are not retried, and a publish that runs out of time or never
 * reaches the API server says so per object. The router runs as `deno task start` does; faults
 * come from the API simulator.
 */

import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import {
  configJson,
  CONVERT_JOB,
  ECHO_JOB,
  INPUT_CONFIG_MAP,
  startStack,
} from "./support/fixtures.ts";
import type { SimRequest } from "./support/kube_sim/mod.ts";
import { generatedName, publishSeed } from "../src/publish/values.ts";

const APPLIED = new Set(["created", "configured", "unchanged"]);

const ELSEWHERE = `apiVersion: v1
kind: ConfigMap
metadata:
  name: elsewhere-{{RANDOM}}
  namespace: nowhere
data: {}
`;

const FILES = {
  "config.json": configJson({
    echo: ["echo.yaml"],
    pair: ["echo.yaml", "cm.yaml"],
    work: ["work.yaml"],
    elsewhere: ["elsewhere.yaml"],
  }),
  "echo.yaml": ECHO_JOB,
  "cm.yaml": INPUT_CONFIG_MAP,
  "work.yaml": CONVERT_JOB,
  "elsewhere.yaml": ELSEWHERE,
};

const isJobWrite = (r: { method: string; path: string }) =>
  (r.method === "PATCH" || r.method === "POST") && r.path.includes("/jobs");

function publishInit(body = "x", headers: Record<string, string> = {}): RequestInit {
  return { method: "POST", body, headers: { "content-type": "text/plain", ...headers } };
}

/** Requests the simulator saw for one object (by its path), from index `from` on. */
function requestsFor(requests: SimRequest[], name: string, from = 0): SimRequest[] {
  return requests.slice(from).filter((r) => r.path.endsWith(`/${name}`) || r.path.includes(name));
}

Deno.test("200 publishes through 2 s of 503s: every 202 report's Job exists, and no other Job does", async () => {
  // Discovery is cold too: the first discovery requests also meet the 503s.
  const stack = await startStack({ files: FILES });
  const { router, kube } = stack;
  try {
    kube.inject({ status: 503, forMs: 2000 });
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i * 5));
        return router.call("/publish/echo", publishInit(`message ${i}`));
      }),
    );
    const failed503 = kube.requests.filter((r) => r.status === 503).length;
    assert(failed503 > 0, "the API server's 503s were met");

    const reported = new Set<string>();
    for (const { status, body } of answers) {
      assert(
        [202, 502, 504].includes(status),
        `unexpected status ${status}: ${JSON.stringify(body)}`,
      );
      if (status === 202) {
        for (const object of body.objects) {
          assert(APPLIED.has(object.outcome), JSON.stringify(object));
          reported.add(object.name);
        }
      } else {
        assert(body.objects.some((o: any) => o.outcome === "failed"), JSON.stringify(body));
      }
    }
    // With a 10 s budget and 2 s of failures, retries carry every publish through.
    assertEquals(answers.filter((a) => a.status === 202).length, 200);
    const stored = new Set(
      kube.objects({ kind: "Job", labelSelector: "gitfaas.io/topic=echo" }).map((j) =>
        j.metadata.name as string
      ),
    );
    assertEquals(
      [...stored].sort(),
      [...reported].sort(),
      "the sim holds exactly the reported Jobs",
    );
    assert(Date.now() - started < 20_000, "the publishes finished well within their budget");
  } finally {
    await stack.close();
  }
});

Deno.test("Kubernetes API answers: retried when retrying can help, refused at once when it cannot", async (t) => {
  const stack = await startStack({ files: FILES, env: { ALLOWED_NAMESPACES: "*" } });
  const { router, kube } = stack;
  try {
    // Warm discovery, so the counts below are about the object requests alone.
    assertEquals((await router.call("/publish/pair", publishInit())).status, 202);

    await t.step("429 with Retry-After: 1 is retried no sooner than 1 s later", async () => {
      const from = kube.requests.length;
      kube.inject({ status: 429, retryAfter: 1, times: 1, match: isJobWrite });
      const { status, body } = await router.call("/publish/echo", publishInit());
      assertEquals(status, 202, JSON.stringify(body));
      assertEquals(body.objects[0].outcome, "created");
      const writes = requestsFor(kube.requests, body.objects[0].name, from)
        .filter((r) => r.method === "PATCH");
      assertEquals(writes.map((r) => r.status), [429, 201]);
      const waited = writes[1].time - writes[0].time;
      assert(waited >= 1000, `the retry came ${waited} ms after the 429`);
      assert(waited < 3000, `the retry came ${waited} ms after the 429, far beyond Retry-After`);
    });

    await t.step("500 and broken connections are retried until the object is applied", async () => {
      for (const fault of [{ status: 500 }, { reset: true }] as const) {
        const from = kube.requests.length;
        kube.inject({ ...fault, times: 2, match: isJobWrite });
        const { status, body } = await router.call("/publish/echo", publishInit());
        assertEquals(status, 202, JSON.stringify(body));
        const writes = requestsFor(kube.requests, body.objects[0].name, from);
        assertEquals(writes.length, 3, JSON.stringify(writes));
        assertEquals(writes[2].status, 201);
      }
    });

    for (const code of [400, 403, 404, 409, 422]) {
      await t.step(`an injected ${code} is reported with its code and not retried`, async () => {
        const from = kube.requests.length;
        kube.inject({ status: code, times: 1, match: isJobWrite });
        const { status, body } = await router.call("/publish/echo", publishInit());
        assertEquals(status, 422, JSON.stringify(body));
        const [object] = body.objects;
        assertEquals(object.outcome, "failed");
        assertEquals(object.code, code);
        assert(object.reason, "the Status reason is reported");
        assertEquals(object.attempts, undefined, "not given up after retries: refused");
        // A retry would have gone through (the fault was for one request): exactly one was made.
        assertEquals(requestsFor(kube.requests, object.name, from).length, 1);
        assertEquals(kube.getObject("batch/v1", "Job", "default", object.name), undefined);
      });
    }

    await t.step("a missing namespace (a real 404) is refused without a retry", async () => {
      const from = kube.requests.length;
      const { status, body } = await router.call("/publish/elsewhere", publishInit());
      assertEquals(status, 422, JSON.stringify(body));
      const [object] = body.objects;
      assertEquals([object.outcome, object.code, object.reason], ["failed", 404, "NotFound"]);
      assertEquals(requestsFor(kube.requests, object.name, from).length, 1);
    });

    await t.step(
      "a generateName create colliding with a foreign object is refused, not claimed",
      async () => {
        // The name this publish will create its Job under, derived from topic and key.
        const key = `collide-${crypto.randomUUID()}`;
        const name = generatedName(publishSeed("work", key), "convert-", "0:0");
        const foreign = await createForeignJob(stack, name);
        assertEquals(foreign, 201);
        const from = kube.requests.length;
        const { status, body } = await router.call(
          "/publish/work",
          publishInit("x", { "idempotency-key": key }),
        );
        assertEquals(status, 422, JSON.stringify(body));
        const [object] = body.objects;
        assertEquals([object.name, object.outcome, object.code], [name, "failed", 409]);
        assertEquals(object.reason, "AlreadyExists");
        // A look before any write (the Idempotency-Key), one create, one look at the owner
        // label; no retry.
        const seen = requestsFor(kube.requests, "/jobs", from).map((r) => r.method);
        assertEquals(seen, ["GET", "POST", "GET"]);
        const job = kube.getObject("batch/v1", "Job", "default", name)!;
        assertEquals(job.metadata.labels?.["gitfaas.io/request-uuid"], undefined);
      },
    );

    await t.step("a second run of the same request claims its own earlier create", async () => {
      const key = `own-${crypto.randomUUID()}`;
      const first = await router.call(
        "/publish/work",
        publishInit("x", { "idempotency-key": key }),
      );
      assertEquals(first.status, 202, JSON.stringify(first.body));
      assertEquals(first.body.objects[0].outcome, "created");
      const again = await router.call(
        "/publish/work",
        publishInit("x", { "idempotency-key": key }),
      );
      assertEquals(again.status, 202, JSON.stringify(again.body));
      assertEquals(again.body.objects[0].outcome, "unchanged");
      assertEquals(again.body.objects[0].name, first.body.objects[0].name);
      assertEquals(again.body.requestUuid, first.body.requestUuid);
    });
  } finally {
    await stack.close();
  }
});

Deno.test("time budgets: a hanging API server gives 504 within the timeout, each object marked", async (t) => {
  const stack = await startStack({ files: FILES, env: { KUBE_TIMEOUT: "2" } });
  const { router, kube } = stack;
  try {
    await t.step("hanging from the start (discovery cold): 504 within KUBE_TIMEOUT", async () => {
      kube.inject({ hang: true, times: 1000 });
      const started = Date.now();
      const { status, body } = await router.call("/publish/pair", publishInit());
      const took = Date.now() - started;
      kube.clearFaults();
      assertEquals(status, 504, JSON.stringify(body));
      assert(took < 4000, `answered after ${took} ms`);
      assertEquals(body.objects.length, 2);
      assertEquals(body.objects[0].outcome, "failed");
      assertEquals(body.objects[0].reason, "Timeout");
      assert(["failed", "skipped"].includes(body.objects[1].outcome), JSON.stringify(body));
      assertEquals(kube.objects({ labelSelector: "gitfaas.io/topic=pair" }), []);
    });

    await t.step(
      "once the hang is over, discovery is asked again and publishes succeed",
      async () => {
        const { status, body } = await router.call("/publish/pair", publishInit());
        assertEquals(status, 202, JSON.stringify(body));
      },
    );

    await t.step(
      "hanging on the first object: it times out, the next is marked not applied",
      async () => {
        kube.inject({ hang: true, match: isJobWrite });
        const started = Date.now();
        const { status, body } = await router.call("/publish/pair", publishInit());
        const took = Date.now() - started;
        kube.clearFaults();
        assertEquals(status, 504, JSON.stringify(body));
        assert(took >= 1900 && took < 4000, `answered after ${took} ms`);
        const [job, configMap] = body.objects;
        assertEquals([job.kind, job.outcome, job.reason, job.code], [
          "Job",
          "failed",
          "Timeout",
          0,
        ]);
        assertEquals([configMap.kind, configMap.outcome], ["ConfigMap", "failed"]);
        assertEquals(configMap.reason, "Timeout");
        assertStringIncludes(configMap.error, "not applied");
        assertEquals(kube.getObject("v1", "ConfigMap", "default", configMap.name), undefined);
      },
    );

    await t.step("an API server that keeps answering 503 gives 502 with the attempts", async () => {
      kube.inject({ status: 503, match: isJobWrite });
      const started = Date.now();
      const { status, body } = await router.call("/publish/echo", publishInit());
      const took = Date.now() - started;
      kube.clearFaults();
      assertEquals(status, 502, JSON.stringify(body));
      const [object] = body.objects;
      assertEquals([object.outcome, object.code], ["failed", 503]);
      assert(object.attempts > 2, JSON.stringify(object));
      assert(took < 4000, `answered after ${took} ms`);
    });

    await t.step(
      "an API server that stopped listening gives 502 (Unreachable) after retries",
      async () => {
        await kube.close();
        const started = Date.now();
        const { status, body } = await router.call("/publish/echo", publishInit());
        assertEquals(status, 502, JSON.stringify(body));
        const [object] = body.objects;
        assertEquals([object.outcome, object.code, object.reason], ["failed", 0, "Unreachable"]);
        assert(object.attempts > 1, `retried: ${JSON.stringify(object)}`);
        assertStringIncludes(object.error, "cannot reach the API server");
        assert(Date.now() - started < 4000, "within KUBE_TIMEOUT (2 s) and some slack");
      },
    );
  } finally {
    await stack.close();
  }
});

Deno.test("PUBLISH_TIMEOUT below KUBE_TIMEOUT sets the budget", async () => {
  const stack = await startStack({
    files: FILES,
    env: { KUBE_TIMEOUT: "10", PUBLISH_TIMEOUT: "1.5" },
  });
  const { router, kube } = stack;
  try {
    assertEquals((await router.call("/publish/echo", publishInit())).status, 202);
    kube.inject({ hang: true, match: isJobWrite });
    const started = Date.now();
    const { status, body } = await router.call("/publish/echo", publishInit());
    const took = Date.now() - started;
    kube.clearFaults();
    assertEquals(status, 504, JSON.stringify(body));
    assertEquals(body.objects[0].reason, "Timeout");
    assert(took >= 1400 && took < 3500, `answered after ${took} ms`);
  } finally {
    await stack.close();
  }
});

/** Creates a Job named `name` in the simulator as another client would, without our labels. */
async function createForeignJob(
  stack: { kube: { url: string; token: string; caPem?: string } },
  name: string,
): Promise<number> {
  const { kube } = stack;
  const client = Deno.createHttpClient({ caCerts: kube.caPem ? [kube.caPem] : [] });
  try {
    const response = await fetch(`${kube.url}/apis/batch/v1/namespaces/default/jobs`, {
      method: "POST",
      client,
      headers: { authorization: `Bearer ${kube.token}`, "content-type": "application/json" },
      body: JSON.stringify({
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name, labels: { owner: "someone-else" } },
        spec: {
          template: {
            spec: { restartPolicy: "Never", containers: [{ name: "x", image: "busybox" }] },
          },
        },
      }),
    });
    await response.body?.cancel();
    return response.status;
  } finally {
    client.close();
  }
}
