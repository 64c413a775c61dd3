/**
 * Tests of the Kubernetes API server simulator: raw REST behaviour, and the
 * real `@kubernetes/client-node` 2 against it over HTTPS and plain HTTP.
 */

import {
  ApiException,
  BatchV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
} from "@kubernetes/client-node";
import nodeAssert from "node:assert/strict";
import { KubeSim, type KubeSimOptions } from "./support/kube_sim/mod.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

const assert: (value: unknown, message?: string) => asserts value = (value, message) =>
  nodeAssert.ok(value, message ?? "assertion failed");
const assertEquals = (actual: unknown, expected: unknown, message?: string) =>
  nodeAssert.deepStrictEqual(actual, expected, message ?? "values differ");
const assertStringIncludes = (text: string, part: string) =>
  nodeAssert.ok(
    text.includes(part),
    `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
  );

/** Awaits a rejection of the given class and returns the error. */
async function assertRejects<E>(
  run: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  type: abstract new (...args: any[]) => E,
): Promise<E> {
  try {
    await run();
  } catch (error) {
    nodeAssert.ok(error instanceof type, `expected ${type.name}, got ${error}`);
    return error;
  }
  throw new nodeAssert.AssertionError({ message: `expected ${type.name} to be rejected` });
}

interface Reply {
  status: number;
  headers: Headers;
  body: Json;
}

/** A simulator plus a raw HTTP client trusting its CA. */
class Harness {
  readonly #client: Deno.HttpClient;

  private constructor(readonly sim: KubeSim) {
    this.#client = Deno.createHttpClient(sim.caPem ? { caCerts: [sim.caPem] } : {});
  }

  static async start(options?: KubeSimOptions): Promise<Harness> {
    return new Harness(await KubeSim.start(options));
  }

  async call(
    method: string,
    path: string,
    options: { body?: unknown; text?: string; contentType?: string; token?: string | null } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = {};
    const token = options.token === undefined ? this.sim.token : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined = options.text;
    if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
    const res = await fetch(this.sim.url + path, { method, headers, body, client: this.#client });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {} };
  }

  #closed = false;

  async close(): Promise<void> {
    if (!this.#closed) this.#client.close();
    this.#closed = true;
    await this.sim.close();
  }
}

async function withSim(
  fn: (h: Harness) => Promise<void>,
  options?: KubeSimOptions,
): Promise<void> {
  const h = await Harness.start(options);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

function job(name: string, labels: Record<string, string> = {}): Json {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, labels },
    spec: {
      template: {
        spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox" }] },
      },
    },
  };
}

const jobs = "/apis/batch/v1/namespaces/default/jobs";
const configMaps = "/api/v1/namespaces/default/configmaps";

function clientFor(sim: KubeSim): KubernetesObjectApi {
  const kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfig());
  return KubernetesObjectApi.makeApiClient(kc);
}

async function apiError(promise: Promise<unknown>): Promise<{ code: number; status: Json }> {
  const error = await assertRejects(() => promise, ApiException<unknown>);
  const body = error.body;
  return {
    code: error.code,
    status: typeof body === "string" ? JSON.parse(body) : body as Json,
  };
}

Deno.test("discovery documents describe the built-in resources", async () => {
  await withSim(async (h) => {
    const version = await h.call("GET", "/version");
    assertEquals(version.body.major, "1");
    assertEquals(version.headers.get("content-type"), "application/json");

    const api = await h.call("GET", "/api");
    assertEquals(api.body.kind, "APIVersions");
    assertEquals(api.body.versions, ["v1"]);

    const core = await h.call("GET", "/api/v1");
    assertEquals(core.body.kind, "APIResourceList");
    const resources = new Map<string, Json>(core.body.resources.map((r: Json) => [r.name, r]));
    const byName = { get: (name: string): Json => resources.get(name) ?? {} };
    assertEquals(byName.get("namespaces").namespaced, false);
    assertEquals(byName.get("configmaps").shortNames, ["cm"]);
    assertEquals(byName.get("pods").kind, "Pod");
    assert(byName.get("secrets").verbs.includes("patch"));
    for (const name of ["services", "serviceaccounts", "persistentvolumeclaims", "events"]) {
      assertEquals(byName.get(name).namespaced, true, name);
    }
    assertEquals(byName.get("persistentvolumes").namespaced, false);

    const groups = await h.call("GET", "/apis");
    const names = groups.body.groups.map((g: Json) => g.name);
    for (
      const g of [
        "apps",
        "batch",
        "rbac.authorization.k8s.io",
        "networking.k8s.io",
        "apiextensions.k8s.io",
      ]
    ) {
      assert(names.includes(g), g);
    }
    const batch = await h.call("GET", "/apis/batch/v1");
    const jobRes = batch.body.resources.find((r: Json) => r.name === "jobs");
    assertEquals([jobRes.singularName, jobRes.kind, jobRes.namespaced], ["job", "Job", true]);
    const rbac = await h.call("GET", "/apis/rbac.authorization.k8s.io/v1");
    const clusterRoles = rbac.body.resources.find((r: Json) => r.name === "clusterroles");
    assertEquals(clusterRoles.namespaced, false);

    const missing = await h.call("GET", "/apis/nope/v1");
    assertEquals(missing.status, 404);
    assertEquals(missing.body.kind, "Status");
    assertEquals(missing.body.reason, "NotFound");
    assertEquals(missing.body.message, "the server could not find the requested resource");
    assertEquals((await h.call("GET", "/apis/batch/v1/widgets")).status, 404);
  });
});

Deno.test("requests without the bearer token get 401 Unauthorized", async () => {
  await withSim(async (h) => {
    for (const token of [null, "wrong"]) {
      const reply = await h.call("GET", "/api/v1/namespaces", { token });
      assertEquals(reply.status, 401);
      assertEquals(reply.body.reason, "Unauthorized");
      assertEquals(reply.body.code, 401);
    }
    assertEquals(h.sim.requests.map((r) => r.status), [401, 401]);
  }, { token: "s3cret" });
});

Deno.test("client-node over HTTPS: create, read, list, patch, apply, delete", async () => {
  await withSim(async ({ sim }) => {
    const api = clientFor(sim);
    const created: Json = await api.create(job("hello", { app: "demo" }));
    assertEquals(created.metadata?.namespace, "default");
    assert(created.metadata?.uid);
    assertEquals(created.metadata?.generation, 1);

    const read: Json = await api.read({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "hello", namespace: "default" },
    });
    assertEquals(read.metadata?.resourceVersion, created.metadata?.resourceVersion);

    const list = await api.list(
      "batch/v1",
      "Job",
      "default",
      undefined,
      undefined,
      undefined,
      undefined,
      "app=demo",
    );
    assertEquals(list.items.map((j) => j.metadata?.name), ["hello"]);

    const merged: Json = await api.patch(
      { apiVersion: "batch/v1", kind: "Job", metadata: { name: "hello", labels: { tier: "x" } } },
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    assertEquals(merged.metadata?.labels, { app: "demo", tier: "x" });

    const applied: Json = await api.patch(
      job("hello", { app: "demo", owner: "gitfaas" }),
      undefined,
      undefined,
      "gitfaas",
      true,
      PatchStrategy.ServerSideApply,
    );
    assertEquals(applied.metadata?.labels?.owner, "gitfaas");
    const managers = applied.metadata?.managedFields?.map((m: Json) =>
      `${m.manager}/${m.operation}`
    );
    assert(managers?.includes("gitfaas/Apply"), String(managers));

    await api.delete({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "hello" } });
    assertEquals(sim.objects({ kind: "Job" }), []);
    assertEquals(
      sim.requests.filter((r) => r.resource === "jobs").map((r) => `${r.verb} ${r.status}`),
      ["create 201", "get 200", "list 200", "patch 200", "patch 200", "delete 200"],
    );
  });
});

Deno.test("client-node: generateName, 409 AlreadyExists and 422 Invalid as ApiException", async () => {
  await withSim(async ({ sim }) => {
    const api = clientFor(sim);
    const generated: Json = await api.create({ ...job(""), metadata: { generateName: "run-" } });
    assert(/^run-[bcdfghjklmnpqrstvwxz2456789]{5}$/.test(generated.metadata.name));

    await api.create(job("dup"));
    const dup = await apiError(api.create(job("dup")));
    assertEquals(dup.code, 409);
    assertEquals(dup.status.reason, "AlreadyExists");
    assertEquals(dup.status.message, 'jobs.batch "dup" already exists');
    assertEquals(dup.status.details, { name: "dup", group: "batch", kind: "jobs" });

    const bad = await apiError(api.create(job("Bad_Name")));
    assertEquals(bad.code, 422);
    assertEquals(bad.status.reason, "Invalid");
    assertStringIncludes(
      bad.status.message,
      'Job.batch "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain',
    );
    assertEquals(bad.status.details.causes[0].field, "metadata.name");

    const unnamed = await apiError(api.create({ ...job(""), metadata: {} }));
    assertEquals(
      unnamed.status.message,
      'Job.batch "" is invalid: metadata.name: Required value: name or generateName is required',
    );
    const applyAs = (manager: string, labels: Record<string, string>) =>
      api.patch(
        job("dup", labels),
        undefined,
        undefined,
        manager,
        undefined,
        PatchStrategy.ServerSideApply,
      );
    await applyAs("one", { team: "a" });
    const clash = await apiError(applyAs("two", { team: "b" }));
    assertEquals([clash.code, clash.status.reason], [409, "Conflict"]);
    assertEquals(
      clash.status.message,
      'Apply failed with 1 conflict: conflict with "one": .metadata.labels.team',
    );

    const missing = await apiError(
      api.read({
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: "nope", namespace: "default" },
      }),
    );
    assertEquals([missing.code, missing.status.message], [404, 'jobs.batch "nope" not found']);
  });
});

Deno.test("client-node loadFromCluster reaches the simulator through a service account", async () => {
  await withSim(async ({ sim }) => {
    const prefix = await Deno.makeTempDir({ prefix: "kube_sim_sa_" });
    try {
      const env = await sim.writeServiceAccount(prefix, "kube-system");
      const kc = new KubeConfig();
      const saved = Object.keys(env).map((k) => [k, Deno.env.get(k)] as const);
      // client-node reads the variables only while loading; restore them at once.
      for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
      try {
        kc.loadFromCluster(prefix);
      } finally {
        for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
      }
      const batch = kc.makeApiClient(BatchV1Api);
      await batch.createNamespacedJob({ namespace: "kube-system", body: job("in-cluster") });
      const list = await batch.listNamespacedJob({ namespace: "kube-system" });
      assertEquals(list.items.map((j) => j.metadata?.name), ["in-cluster"]);
      assert(sim.getObject("batch/v1", "Job", "kube-system", "in-cluster"));
    } finally {
      await Deno.remove(prefix, { recursive: true });
    }
  });
});

Deno.test("client-node over plain HTTP", async () => {
  await withSim(async ({ sim }) => {
    assert(sim.url.startsWith("http://"));
    assertEquals(sim.caPem, undefined);
    assertStringIncludes(sim.kubeconfig(), "insecure-skip-tls-verify: true");
    const api = clientFor(sim);
    await api.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cm" },
      data: { a: "1" },
    });
    const read = await api.read({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cm", namespace: "default" },
    });
    assertEquals((read as Json).data, { a: "1" });
    const conflict = await apiError(
      api.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm" } }),
    );
    assertEquals(conflict.status.message, 'configmaps "cm" already exists');
  }, { tls: false });
});

Deno.test("client-node watch streams changes", async () => {
  await withSim(async ({ sim }) => {
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig());
    const api = KubernetesObjectApi.makeApiClient(kc);
    const seen: string[] = [];
    const done = Promise.withResolvers<void>();
    const watch = await new Watch(kc).watch(jobs, {}, (type, obj) => {
      seen.push(`${type} ${obj.metadata.name}`);
      if (type === "DELETED") done.resolve();
    }, () => {});
    await api.create(job("w"));
    await api.patch(
      { apiVersion: "batch/v1", kind: "Job", metadata: { name: "w", labels: { x: "y" } } },
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
    await api.delete({ apiVersion: "batch/v1", kind: "Job", metadata: { name: "w" } });
    await done.promise;
    watch.abort();
    assertEquals(seen, ["ADDED w", "MODIFIED w", "DELETED w"]);
  });
});

Deno.test("label and field selectors", async () => {
  await withSim(async (h) => {
    const labels: Record<string, Record<string, string>> = {
      a: { tier: "web", env: "prod" },
      b: { tier: "db", env: "prod" },
      c: { tier: "web" },
      d: {},
    };
    for (const [name, l] of Object.entries(labels)) {
      assertEquals(
        (await h.call("POST", configMaps, { body: { metadata: { name, labels: l } } })).status,
        201,
      );
    }
    const names = async (query: string) => {
      const reply = await h.call("GET", `${configMaps}?${query}`);
      assertEquals(reply.status, 200, JSON.stringify(reply.body));
      return reply.body.items.map((i: Json) => i.metadata.name).join(",");
    };
    const sel = (s: string) => `labelSelector=${encodeURIComponent(s)}`;
    assertEquals(await names(sel("tier=web")), "a,c");
    assertEquals(await names(sel("tier==web")), "a,c");
    assertEquals(await names(sel("tier!=web")), "b,d");
    assertEquals(await names(sel("env")), "a,b");
    assertEquals(await names(sel("!env")), "c,d");
    assertEquals(await names(sel("tier in (db, web),env")), "a,b");
    assertEquals(await names(sel("tier notin (web)")), "b,d");
    assertEquals(await names(sel("tier=web,env=prod")), "a");
    assertEquals(await names(`fieldSelector=${encodeURIComponent("metadata.name=b")}`), "b");
    assertEquals(await names(`fieldSelector=${encodeURIComponent("metadata.name!=b")}`), "a,c,d");
    const bad = await h.call("GET", `${configMaps}?${sel("a b c")}`);
    assertEquals([bad.status, bad.body.reason], [400, "BadRequest"]);
    // Typed lists carry no per-item apiVersion/kind, like the real apiserver.
    const list = await h.call("GET", configMaps);
    assertEquals([list.body.kind, list.body.apiVersion, list.body.items[0].kind], [
      "ConfigMapList",
      "v1",
      undefined,
    ]);
  });
});

Deno.test("lists across namespaces and pages with limit/continue", async () => {
  await withSim(async (h) => {
    h.sim.addNamespace("team-a");
    for (const ns of ["default", "team-a"]) {
      for (const name of ["j1", "j2"]) {
        const reply = await h.call("POST", `/apis/batch/v1/namespaces/${ns}/jobs`, {
          body: job(name),
        });
        assertEquals(reply.status, 201);
      }
    }
    const all = await h.call("GET", "/apis/batch/v1/jobs");
    assertEquals(all.body.items.map((j: Json) => `${j.metadata.namespace}/${j.metadata.name}`), [
      "default/j1",
      "default/j2",
      "team-a/j1",
      "team-a/j2",
    ]);
    const first = await h.call("GET", "/apis/batch/v1/jobs?limit=3");
    assertEquals(first.body.items.length, 3);
    assertEquals(first.body.metadata.remainingItemCount, 1);
    const rest = await h.call(
      "GET",
      `/apis/batch/v1/jobs?limit=3&continue=${first.body.metadata.continue}`,
    );
    assertEquals(rest.body.items.map((j: Json) => j.metadata.name), ["j2"]);
    assertEquals(rest.body.metadata.continue, undefined);
  });
});

Deno.test("objects get server metadata; update checks resourceVersion and bumps generation", async () => {
  await withSim(async (h) => {
    const created = (await h.call("POST", jobs, { body: job("u") })).body;
    const meta = created.metadata;
    assertEquals(meta.namespace, "default");
    assertEquals(meta.generation, 1);
    assert(/^\d+$/.test(meta.resourceVersion));
    assert(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(meta.creationTimestamp));
    assertEquals(created.status, {});

    const next = structuredClone(created);
    next.spec.template.spec.containers[0].image = "alpine";
    const updated = await h.call("PUT", `${jobs}/u`, { body: next });
    assertEquals(updated.status, 200);
    assertEquals(updated.body.metadata.generation, 2);
    assert(Number(updated.body.metadata.resourceVersion) > Number(meta.resourceVersion));

    const stale = await h.call("PUT", `${jobs}/u`, { body: next });
    assertEquals(stale.status, 409);
    assertEquals(stale.body.reason, "Conflict");
    assertEquals(
      stale.body.message,
      'Operation cannot be fulfilled on jobs.batch "u": the object has been modified; please apply your changes to the latest version and try again',
    );

    // Label-only changes leave generation alone.
    const relabel = structuredClone(updated.body);
    relabel.metadata.labels = { x: "y" };
    const relabeled = await h.call("PUT", `${jobs}/u`, { body: relabel });
    assertEquals(relabeled.body.metadata.generation, 2);

    const missing = await h.call("PUT", `${jobs}/nope`, { body: job("nope") });
    assertEquals([missing.status, missing.body.message], [404, 'jobs.batch "nope" not found']);
    const renamed = await h.call("PUT", `${jobs}/u`, { body: job("other") });
    assertEquals(renamed.status, 400);
  });
});

Deno.test("server-side apply: create, no-op, ownership, conflicts and force", async () => {
  await withSim(async (h) => {
    const apply = (body: Json, query: string) =>
      h.call("PATCH", `${jobs}/ssa?${query}`, {
        body,
        contentType: "application/apply-patch+yaml",
      });
    const noManager = await apply(job("ssa"), "");
    assertEquals(noManager.status, 422);
    assertEquals(
      noManager.body.message,
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );

    const created = await apply(job("ssa", { a: "1" }), "fieldManager=alice");
    assertEquals(created.status, 201);
    const entry = created.body.metadata.managedFields[0];
    assertEquals([entry.manager, entry.operation, entry.fieldsType], [
      "alice",
      "Apply",
      "FieldsV1",
    ]);
    assertEquals(entry.fieldsV1["f:metadata"], { "f:labels": { "f:a": {} } });
    assert(/Z$/.test(entry.time));

    const again = await apply(job("ssa", { a: "1" }), "fieldManager=alice");
    assertEquals(again.status, 200);
    assertEquals(again.body.metadata.resourceVersion, created.body.metadata.resourceVersion);

    // YAML bodies are accepted too.
    const yaml = [
      "apiVersion: batch/v1",
      "kind: Job",
      "metadata:",
      "  name: ssa",
      "  labels: {b: '2'}",
    ].join("\n");
    const bob = await h.call("PATCH", `${jobs}/ssa?fieldManager=bob`, {
      text: yaml,
      contentType: "application/apply-patch+yaml",
    });
    assertEquals(bob.status, 200);
    assertEquals(bob.body.metadata.labels, { a: "1", b: "2" });

    const clash = await apply(job("ssa", { a: "1", b: "3" }), "fieldManager=alice");
    assertEquals(clash.status, 409);
    assertEquals(clash.body.reason, "Conflict");
    assertEquals(
      clash.body.message,
      'Apply failed with 1 conflict: conflict with "bob": .metadata.labels.b',
    );
    assertEquals(clash.body.details.causes[0].field, ".metadata.labels.b");

    const forced = await apply(job("ssa", { a: "1", b: "3" }), "fieldManager=alice&force=true");
    assertEquals(forced.status, 200);
    assertEquals(forced.body.metadata.labels.b, "3");

    // Fields alice stops sending go away (bob no longer owns b after the force).
    const trimmed = await apply(job("ssa", {}), "fieldManager=alice");
    assertEquals(trimmed.body.metadata.labels ?? {}, {});

    // A non-apply update takes ownership; re-applying a different value conflicts with it.
    await h.call("PATCH", `${jobs}/ssa?fieldManager=editor`, {
      body: { spec: { parallelism: 2 } },
      contentType: "application/merge-patch+json",
    });
    const withUpdater = await apply(
      { ...job("ssa"), spec: { ...job("ssa").spec, parallelism: 5 } },
      "fieldManager=alice",
    );
    assertEquals(withUpdater.status, 409);
    assertEquals(
      withUpdater.body.message,
      'Apply failed with 1 conflict: conflict with "editor" using batch/v1: .spec.parallelism',
    );
    const wrongKind = await apply({ ...job("ssa"), kind: undefined }, "fieldManager=alice");
    assertEquals(wrongKind.status, 400);
  });
});

Deno.test("merge, strategic merge and JSON patches; unknown patch types are 415", async () => {
  await withSim(async (h) => {
    await h.call("POST", configMaps, {
      body: { metadata: { name: "p" }, data: { a: "1", b: "2" } },
    });
    const merge = await h.call("PATCH", `${configMaps}/p`, {
      body: { data: { a: null, c: "3" } },
      contentType: "application/merge-patch+json",
    });
    assertEquals(merge.body.data, { b: "2", c: "3" });
    const strategic = await h.call("PATCH", `${configMaps}/p`, {
      body: { data: { d: "4" } },
      contentType: "application/strategic-merge-patch+json",
    });
    assertEquals(strategic.body.data, { b: "2", c: "3", d: "4" });
    const jsonPatch = await h.call("PATCH", `${configMaps}/p`, {
      body: [{ op: "replace", path: "/data/b", value: "20" }, { op: "remove", path: "/data/c" }],
      contentType: "application/json-patch+json",
    });
    assertEquals(jsonPatch.body.data, { b: "20", d: "4" });
    const failedTest = await h.call("PATCH", `${configMaps}/p`, {
      body: [{ op: "test", path: "/data/b", value: "nope" }],
      contentType: "application/json-patch+json",
    });
    assertEquals(failedTest.status, 422);
    const unknown = await h.call("PATCH", `${configMaps}/p`, {
      body: {},
      contentType: "text/plain",
    });
    assertEquals(unknown.status, 415);
    assertEquals(unknown.body.reason, "UnsupportedMediaType");
    const absent = await h.call("PATCH", `${configMaps}/absent`, {
      body: {},
      contentType: "application/merge-patch+json",
    });
    assertEquals([absent.status, absent.body.message], [404, 'configmaps "absent" not found']);
    const forced = await h.call("PATCH", `${configMaps}/p?force=true`, {
      body: {},
      contentType: "application/merge-patch+json",
    });
    assertEquals(forced.status, 422);
  });
});

Deno.test("dryRun=All validates and answers without storing", async () => {
  await withSim(async (h) => {
    const rv = () =>
      h.sim.objects().map((o) => Number(o.metadata.resourceVersion)).reduce((a, b) =>
        Math.max(a, b)
      );
    const before = rv();
    const dry = await h.call("POST", `${jobs}?dryRun=All`, { body: job("dry") });
    assertEquals(dry.status, 201);
    assertEquals(dry.body.metadata.name, "dry");
    assertEquals(h.sim.getObject("batch/v1", "Job", "default", "dry"), undefined);
    const invalid = await h.call("POST", `${jobs}?dryRun=All`, { body: job("Nope!") });
    assertEquals(invalid.status, 422);
    assertEquals(rv(), before);

    await h.call("POST", jobs, { body: job("real") });
    const stored = h.sim.getObject("batch/v1", "Job", "default", "real")!;
    const patch = await h.call("PATCH", `${jobs}/real?dryRun=All`, {
      body: { metadata: { labels: { x: "y" } } },
      contentType: "application/merge-patch+json",
    });
    assertEquals(patch.body.metadata.labels, { x: "y" });
    const applied = await h.call("PATCH", `${jobs}/new?dryRun=All&fieldManager=m`, {
      body: job("new"),
      contentType: "application/apply-patch+yaml",
    });
    assertEquals(applied.status, 201);
    const put = await h.call("PUT", `${jobs}/real?dryRun=All`, {
      body: { ...stored, metadata: { ...stored.metadata, labels: { z: "1" } } },
    });
    assertEquals(put.body.metadata.labels, { z: "1" });
    const del = await h.call("DELETE", `${jobs}/real?dryRun=All`);
    assertEquals(del.status, 200);
    assertEquals(h.sim.getObject("batch/v1", "Job", "default", "real"), stored);
    assertEquals(h.sim.getObject("batch/v1", "Job", "default", "new"), undefined);
    assert(h.sim.requests.filter((r) => r.query.includes("dryRun")).every((r) => r.dryRun));
    const bad = await h.call("POST", `${jobs}?dryRun=Some`, { body: job("x") });
    assertEquals(bad.status, 422);
  });
});

Deno.test("namespaces: missing namespace is 404, create adds, delete removes with contents", async () => {
  await withSim(async (h) => {
    const missing = await h.call("POST", "/apis/batch/v1/namespaces/ghost/jobs", {
      body: job("j"),
    });
    assertEquals(missing.status, 404);
    assertEquals(missing.body.message, 'namespaces "ghost" not found');
    assertEquals(missing.body.details, { name: "ghost", kind: "namespaces" });

    const ns = await h.call("POST", "/api/v1/namespaces", {
      body: { metadata: { name: "ghost" } },
    });
    assertEquals(ns.status, 201);
    assertEquals(ns.body.status.phase, "Active");
    assertEquals(
      (await h.call("POST", "/apis/batch/v1/namespaces/ghost/jobs", { body: job("j") })).status,
      201,
    );
    assertEquals(h.sim.objects({ namespace: "ghost" }).length, 1);

    const gone = await h.call("DELETE", "/api/v1/namespaces/ghost");
    assertEquals(gone.status, 200);
    assertEquals(h.sim.objects({ namespace: "ghost" }), []);
    assertEquals(h.sim.getObject("v1", "Namespace", undefined, "ghost"), undefined);
    assertEquals(h.sim.objects({ kind: "Namespace" }).map((n) => n.metadata.name).sort(), [
      "default",
      "kube-system",
    ]);
  });
});

Deno.test("bad requests: body/URL mismatches, malformed bodies, wrong methods", async () => {
  await withSim(async (h) => {
    const otherNs = await h.call("POST", jobs, {
      body: { ...job("j"), metadata: { name: "j", namespace: "kube-system" } },
    });
    assertEquals(otherNs.status, 400);
    assertEquals(
      otherNs.body.message,
      "the namespace of the provided object does not match the namespace sent on the request",
    );
    const otherVersion = await h.call("POST", jobs, {
      body: { ...job("j"), apiVersion: "apps/v1" },
    });
    assertEquals(otherVersion.status, 400);
    assertEquals(
      otherVersion.body.message,
      "the API version in the data (apps/v1) does not match the expected API version (batch/v1)",
    );
    const otherKind = await h.call("POST", jobs, { body: { ...job("j"), kind: "CronJob" } });
    assertEquals([otherKind.status, otherKind.body.reason], [400, "BadRequest"]);
    const malformed = await h.call("POST", jobs, { text: "{not json" });
    assertEquals([malformed.status, malformed.body.reason], [400, "BadRequest"]);
    const badYaml = await h.call("POST", jobs, { text: "a: [", contentType: "application/yaml" });
    assertEquals(badYaml.status, 400);
    const noTemplate = await h.call("POST", jobs, { body: { ...job("j"), spec: {} } });
    assertEquals(noTemplate.status, 422);
    assertStringIncludes(noTemplate.body.message, "spec.template.spec.containers: Required value");
    const long = await h.call("POST", jobs, { body: job("a".repeat(254)) });
    assertEquals(long.status, 422);
    assertStringIncludes(long.body.message, "must be no more than 253 characters");
    const postToObject = await h.call("POST", `${jobs}/j`, { body: job("j") });
    assertEquals([postToObject.status, postToObject.body.reason], [405, "MethodNotAllowed"]);
    const withRv = await h.call("POST", jobs, {
      body: { ...job("j"), metadata: { name: "j", resourceVersion: "5" } },
    });
    assertEquals(withRv.status, 500);
  });
});

Deno.test("YAML create bodies, secrets stringData, status subresource", async () => {
  await withSim(async (h) => {
    const yaml =
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  token: héllo\n";
    const secret = await h.call("POST", "/api/v1/namespaces/default/secrets", {
      text: yaml,
      contentType: "application/yaml",
    });
    assertEquals(secret.status, 201);
    assertEquals(secret.body.type, "Opaque");
    assertEquals(secret.body.stringData, undefined);
    assertEquals(
      new TextDecoder().decode(
        Uint8Array.from(atob(secret.body.data.token), (c) => c.charCodeAt(0)),
      ),
      "héllo",
    );

    await h.call("POST", jobs, { body: { ...job("st"), status: { succeeded: 9 } } });
    // Main-resource writes ignore status; the status subresource writes only status.
    assertEquals(h.sim.getObject("batch/v1", "Job", "default", "st")!.status, {});
    const status = await h.call("PATCH", `${jobs}/st/status`, {
      body: { status: { succeeded: 1 }, metadata: { labels: { ignored: "yes" } } },
      contentType: "application/merge-patch+json",
    });
    assertEquals(status.status, 200);
    assertEquals(status.body.status, { succeeded: 1 });
    assertEquals(status.body.metadata.labels, {});
    assertEquals(h.sim.requests.at(-1)!.resource, "jobs/status");
  });
});

Deno.test("CustomResourceDefinitions add served resources", async () => {
  await withSim(async (h) => {
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "functions.gitfaas.dev" },
      spec: {
        group: "gitfaas.dev",
        scope: "Namespaced",
        names: { plural: "functions", singular: "function", kind: "Function", shortNames: ["fn"] },
        versions: [{
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: "object" } },
        }],
      },
    };
    const created = await h.call(
      "POST",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      { body: crd },
    );
    assertEquals(created.status, 201);
    assertEquals(
      created.body.status.conditions.find((c: Json) => c.type === "Established").status,
      "True",
    );
    const discovery = await h.call("GET", "/apis/gitfaas.dev/v1");
    assertEquals(discovery.body.resources[0].shortNames, ["fn"]);
    const path = "/apis/gitfaas.dev/v1/namespaces/default/functions";
    const fn = await h.call("POST", path, {
      body: {
        apiVersion: "gitfaas.dev/v1",
        kind: "Function",
        metadata: { name: "f" },
        spec: { a: 1 },
      },
    });
    assertEquals(fn.status, 201);
    const list = await h.call("GET", path);
    assertEquals(list.body.items[0].kind, "Function");
    const smp = await h.call("PATCH", `${path}/f`, {
      body: {},
      contentType: "application/strategic-merge-patch+json",
    });
    assertEquals(smp.status, 415);
    await h.call(
      "DELETE",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/functions.gitfaas.dev",
    );
    assertEquals((await h.call("GET", path)).status, 404);
    assertEquals(h.sim.objects({ kind: "Function" }), []);
  });
});

Deno.test("objects() and getObject() return filtered deep copies", async () => {
  await withSim(async (h) => {
    await h.call("POST", jobs, { body: job("a", { app: "x" }) });
    await h.call("POST", jobs, { body: job("b", { app: "y" }) });
    await h.call("POST", configMaps, { body: { metadata: { name: "a", labels: { app: "x" } } } });
    assertEquals(h.sim.objects({ apiVersion: "batch/v1", kind: "Job" }).length, 2);
    assertEquals(h.sim.objects({ labelSelector: "app=x" }).map((o) => o.kind).sort(), [
      "ConfigMap",
      "Job",
    ]);
    assertEquals(h.sim.objects({ namespace: "kube-system" }), []);
    const copy = h.sim.getObject("batch/v1", "Job", "default", "a")!;
    copy.metadata.name = "mutated";
    assertEquals(h.sim.getObject("batch/v1", "Job", "default", "a")!.metadata.name, "a");
  });
});

Deno.test("aggregated discovery Accept headers get plain JSON", async () => {
  await withSim(async (h) => {
    const client = Deno.createHttpClient({ caCerts: [h.sim.caPem!] });
    try {
      const res = await fetch(`${h.sim.url}/apis`, {
        client,
        headers: {
          authorization: `Bearer ${h.sim.token}`,
          accept:
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
        },
      });
      // No `g=apidiscovery.k8s.io` parameter: clients take this as the legacy APIGroupList.
      assertEquals(res.headers.get("content-type"), "application/json");
      assertEquals((await res.json()).kind, "APIGroupList");
    } finally {
      client.close();
    }
  });
});

Deno.test("fault injection: status with Retry-After, times, forMs, match", async () => {
  await withSim(async (h) => {
    h.sim.inject({
      status: 429,
      retryAfter: 3,
      times: 2,
      match: (r) => r.path.endsWith("/configmaps"),
    });
    const first = await h.call("GET", configMaps);
    assertEquals(first.status, 429);
    assertEquals(first.headers.get("retry-after"), "3");
    assertEquals([first.body.kind, first.body.reason, first.body.details.retryAfterSeconds], [
      "Status",
      "TooManyRequests",
      3,
    ]);
    assertEquals((await h.call("GET", "/api/v1/namespaces")).status, 200);
    assertEquals((await h.call("GET", configMaps)).status, 429);
    assertEquals((await h.call("GET", configMaps)).status, 200);

    h.sim.inject({ status: 503, forMs: 150 });
    assertEquals((await h.call("GET", configMaps)).status, 503);
    await new Promise((r) => setTimeout(r, 200));
    assertEquals((await h.call("GET", configMaps)).status, 200);

    h.sim.inject({ status: 500 });
    assertEquals((await h.call("GET", configMaps)).status, 500);
    assertEquals((await h.call("GET", configMaps)).status, 500);
    h.sim.clearFaults();
    assertEquals((await h.call("GET", configMaps)).status, 200);
  });
});

Deno.test("fault injection: reset breaks the connection, hang is released by close", async () => {
  const h = await Harness.start();
  try {
    h.sim.inject({ reset: true, times: 1 });
    await assertRejects(() => h.call("GET", "/api/v1/namespaces"), Error);
    assertEquals((await h.call("GET", "/api/v1/namespaces")).status, 200);

    // client-node sees the reset as a plain network error, not an ApiException.
    h.sim.inject({ reset: true, times: 1 });
    const api = clientFor(h.sim);
    const error = await assertRejects(() => api.list("v1", "Namespace"), Error);
    assert(!(error instanceof ApiException));

    h.sim.inject({ hang: true, times: 1 });
    const hung = h.call("GET", "/api/v1/namespaces").then(() => "answered", () => "failed");
    const raced = await Promise.race([
      hung,
      new Promise((r) => setTimeout(() => r("pending"), 100)),
    ]);
    assertEquals(raced, "pending");
    await h.close();
    assertEquals(await hung, "failed");
    assertEquals(h.sim.requests.at(-1)!.status, 0);
  } finally {
    await h.close();
  }
});

Deno.test("latency is added before answering", async () => {
  await withSim(async (h) => {
    let start = performance.now();
    await h.call("GET", "/version");
    assert(performance.now() - start >= 80);
    h.sim.setLatency(0);
    start = performance.now();
    await h.call("GET", "/version");
    assert(performance.now() - start < 80);
  }, { latencyMs: 100 });
});

Deno.test("kubeconfig and writeKubeconfig carry server, CA, token and namespace", async () => {
  await withSim(async ({ sim }) => {
    const dir = await Deno.makeTempDir({ prefix: "kube_sim_kc_" });
    try {
      await sim.writeKubeconfig(`${dir}/config`, { namespace: "kube-system" });
      const kc = new KubeConfig();
      kc.loadFromFile(`${dir}/config`);
      assertEquals(kc.getCurrentCluster()?.server, sim.url);
      assertEquals(atob(kc.getCurrentCluster()!.caData!), sim.caPem);
      assertEquals(kc.getCurrentUser()?.token, sim.token);
      assertEquals(kc.getContextObject(kc.getCurrentContext())?.namespace, "kube-system");
      const api = KubernetesObjectApi.makeApiClient(kc);
      const created: Json = await api.create({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "c" },
      });
      assertEquals(created.metadata?.namespace, "kube-system");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("concurrent creates are each stored once, under their own name", async () => {
  // How many creates a second the simulator takes is measured in bench/kube_sim_bench.ts.
  await withSim(async (h) => {
    const n = 200;
    for (let i = 0; i < n; i += 50) {
      const replies = await Promise.all(
        Array.from(
          { length: 50 },
          (_, j) => h.call("POST", configMaps, { body: { metadata: { name: `c${i + j}` } } }),
        ),
      );
      assertEquals(replies.map((r) => r.status), Array(50).fill(201));
    }
    const names = h.sim.objects({ kind: "ConfigMap" }).map((o) => o.metadata.name).sort();
    assertEquals(names, Array.from({ length: n }, (_, i) => `c${i}`).sort());
  });
});
