// deno-lint-ignore-file no-explicit-any -- tests read deep into JSON answers
/**
 * The HTTP API in process: `createHandler` with a real `Syncer` over commits held in memory,
 * a real `Publisher` on a fake `KubeConnection`, and real metrics. Each route's answers, the
 * error table (statuses, bodies, Retry-After), HEAD on the read-only routes, the token, and a
 * bug during a publish (500, logged, counted). The end-to-end tests (`publish_e2e_test.ts`…)
 * run the same routes in a router process against a Git server and the API simulator.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "./support/assert.ts";
import { configJson } from "./support/fixtures.ts";
import { fakeAnswer, FakeKube, type FakeKubeOptions } from "./support/fake_kube.ts";
import { GitError } from "../src/git/git_source.ts";
import { createHandler, type HandlerOptions } from "../src/http/handler.ts";
import type { Logger } from "../src/log/logger.ts";
import { Metrics } from "../src/metrics/metrics.ts";
import type { Policy } from "../src/policy/policy.ts";
import { Publisher } from "../src/publish/publisher.ts";
import { DEFAULTS } from "../src/settings/settings.ts";
import type { CommitFiles, RepoEntry, RevisionSource } from "../src/sync/source.ts";
import { Syncer } from "../src/sync/syncer.ts";

const NOTE = `apiVersion: v1
kind: ConfigMap
metadata:
  generateName: note-
  namespace: "{{ns}}"
data:
  message: "{{MESSAGE}}"
`;

const FILES = {
  "config.json": configJson({ note: ["note.yaml"], broken: ["cluster.yaml"] }),
  "note.yaml": NOTE,
  // Cluster-scoped kinds are not allowed by POLICY: the topic is unusable.
  "cluster.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-x\n",
};

const POLICY: Policy = {
  deniedKinds: [],
  allowedClusterKinds: [],
  allowedNamespaces: new Set(["default"]),
};

/** Commits in memory, each a map of path → text; `head` is the one the remote points at. */
class MemorySource implements RevisionSource {
  head_ = "c1";
  fail: Error | undefined;
  readonly commits = new Map<string, Record<string, string>>([["c1", FILES]]);

  head(): Promise<string> {
    return this.fail ? Promise.reject(this.fail) : Promise.resolve(this.head_);
  }

  load(revision: string): Promise<CommitFiles> {
    const files = this.commits.get(revision)!;
    return Promise.resolve({
      revision,
      entry: (path: string): Promise<RepoEntry> =>
        Promise.resolve(path in files ? { kind: "file", oid: path } : { kind: "missing" }),
      read: (oid: string) => Promise.resolve(new TextEncoder().encode(files[oid])),
    });
  }
}

/** A logger that keeps every line. */
function recordingLogger(): Logger & { lines: { level: string; message: string; fields?: any }[] } {
  const lines: { level: string; message: string; fields?: any }[] = [];
  const at = (level: string) => (message: string, fields?: any) => {
    lines.push({ level, message, fields });
  };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

interface Setup {
  kube?: FakeKubeOptions;
  handler?: Partial<HandlerOptions>;
  /** Leave the syncer without an index. */
  noSync?: boolean;
  /** KUBE_TIMEOUT, which bounds retries. */
  kubeTimeoutMs?: number;
}

async function setup(options: Setup = {}) {
  const source = new MemorySource();
  const logger = recordingLogger();
  const syncer = new Syncer(source, {
    configPath: "config.json",
    policy: POLICY,
    maxManifestsPerTopic: DEFAULTS.maxManifestsPerTopic,
    maxObjectsPerPublish: DEFAULTS.maxObjectsPerPublish,
  });
  if (!options.noSync) await syncer.sync();
  const kube = new FakeKube(options.kube);
  const metrics = new Metrics();
  const publisher = new Publisher({
    index: () => syncer.index,
    kube,
    namespace: "default",
    policy: POLICY,
    kubeTimeoutMs: options.kubeTimeoutMs ?? 5_000,
    publishTimeoutMs: 5_000,
    maxQueue: 4,
    logger,
  });
  const handle = createHandler({
    syncer,
    publisher,
    maxBodyBytes: 1024,
    maxQueryParams: DEFAULTS.maxQueryParams,
    maxQueryValueBytes: DEFAULTS.maxQueryValueBytes,
    source: { url: "memory" },
    metrics,
    logger,
    ...options.handler,
  });
  const call = async (path: string, init: RequestInit = {}) => {
    const response = await handle(new Request(`http://router.test${path}`, init));
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      text,
      body: text && response.headers.get("content-type")?.startsWith("application/json")
        ? JSON.parse(text)
        : undefined,
    };
  };
  const publishes = async () =>
    (await metrics.text()).split("\n").filter((l) => l.startsWith("gitfaas_publishes_total{"));
  return { source, syncer, kube, logger, call, publishes };
}

Deno.test("probes answer GET and HEAD, HEAD without a body", async () => {
  const { call, syncer } = await setup({ noSync: true });
  assertEquals((await call("/healthz")).body, { status: "ok" });
  const head = await call("/healthz", { method: "HEAD" });
  assertEquals([head.status, head.text], [200, ""]);

  const notReady = await call("/readyz");
  assertEquals([notReady.status, notReady.body.error], [503, "no topic index loaded yet"]);
  const notReadyHead = await call("/readyz", { method: "HEAD" });
  assertEquals([notReadyHead.status, notReadyHead.text], [503, ""]);

  await syncer.sync();
  assertEquals((await call("/readyz")).body, { ready: true, revision: "c1" });
  assertEquals((await call("/readyz", { method: "HEAD" })).status, 200);
});

Deno.test("readyz answers 503 while shutting down", async () => {
  const { call } = await setup({ handler: { draining: () => true } });
  const answer = await call("/readyz");
  assertEquals([answer.status, answer.body.error], [503, "shutting down"]);
});

Deno.test("no route: 404 for an unknown path, 405 naming the methods a path has", async () => {
  const { call } = await setup();
  const missing = await call("/nowhere");
  assertEquals(missing.status, 404);
  assertStringIncludes(missing.body.error, "no such endpoint: /nowhere");
  assertMatch(missing.headers.get("content-type")!, /^application\/json/);

  const getPublish = await call("/publish/note");
  assertEquals([getPublish.status, getPublish.headers.get("allow")], [405, "POST"]);
  assertStringIncludes(getPublish.body.error, "use POST");
  const postProbe = await call("/healthz", { method: "POST" });
  assertEquals([postProbe.status, postProbe.headers.get("allow")], [405, "GET, HEAD"]);
  // /refresh syncs, so it is not a read-only route: HEAD is not allowed there.
  const headRefresh = await call("/refresh", { method: "HEAD" });
  assertEquals([headRefresh.status, headRefresh.headers.get("allow")], [405, "GET, POST"]);
  assertEquals(headRefresh.text, "");
});

Deno.test("topics and status show the live index and its unusable topics", async () => {
  const before = await setup({ noSync: true });
  assertEquals((await before.call("/topics")).status, 503);

  const { call } = await setup();
  const topics = await call("/topics");
  assertEquals(topics.body.revision, "c1");
  assertEquals(topics.body.topics.map((t: any) => [t.name, t.usable]), [
    ["note", true],
    ["broken", false],
  ]);
  const status = await call("/status");
  assertEquals(status.body.revision, "c1");
  assertEquals(Object.keys(status.body.unusableTopics), ["broken"]);
  assertEquals(status.body.webhook, { enabled: false });
  assertEquals((await call("/status", { method: "HEAD" })).text, "");
});

Deno.test("refresh: 200 with the sync, 422 for a commit that cannot serve, 502 for Git", async () => {
  const { call, source } = await setup();
  assertEquals((await call("/refresh", { method: "POST" })).body, {
    revision: "c1",
    changed: false,
  });

  source.commits.set("c2", { ...FILES, "config.json": "{not json" });
  source.head_ = "c2";
  const broken = await call("/refresh");
  assertEquals(broken.status, 422);
  assertEquals(broken.body.revision, "c2");
  assertStringIncludes(broken.body.problems[0], "config.json");

  source.fail = new GitError("unreachable", "cannot reach the Git server");
  const git = await call("/refresh");
  assertEquals([git.status, git.body], [502, {
    error: "cannot reach the Git server",
    kind: "unreachable",
  }]);

  source.fail = new Error("the folder went away");
  const other = await call("/refresh");
  assertEquals([other.status, other.body.error], [500, "sync failed: the folder went away"]);
});

Deno.test("webhooks and metrics that are off answer 404 saying how to turn them on", async () => {
  const { call } = await setup({ handler: { metrics: undefined } });
  const webhook = await call("/webhook/git", { method: "POST", body: "{}" });
  assertEquals(webhook.status, 404);
  assertStringIncludes(webhook.body.error, "WEBHOOK_SECRET");
  assertEquals((await call("/metrics")).status, 404);
});

Deno.test("a publish applies through the connection and is counted", async () => {
  const { call, kube, publishes } = await setup();
  const answer = await call("/publish/note?ns=default", { method: "POST", body: "hi" });
  assertEquals(answer.status, 202, answer.text);
  assertEquals(answer.body.revision, "c1");
  const [object] = answer.body.objects;
  assertEquals([object.kind, object.namespace, object.outcome], [
    "ConfigMap",
    "default",
    "created",
  ]);
  assertMatch(object.name, /^note-[a-z0-9]{5}$/);
  assertEquals(kube.requests.map((r) => [r.method, r.path.split("?")[0]]), [
    ["POST", "/api/v1/namespaces/default/configmaps"],
  ]);
  assertEquals((kube.requests[0].body as any).metadata.name, object.name);
  assertEquals(await publishes(), ['gitfaas_publishes_total{topic="note",status="202"} 1']);
});

Deno.test("publish refusals: status, body and Retry-After from the error table", async () => {
  const { call, kube, publishes } = await setup();
  const post = (path: string) => call(path, { method: "POST", body: "x" });

  const unknown = await post("/publish/nope");
  assertEquals([unknown.status, unknown.body.error], [404, 'unknown topic "nope"']);

  const unusable = await post("/publish/broken");
  assertEquals(unusable.status, 403);
  assertEquals(unusable.body.problems.length, 1);

  const policy = await post("/publish/note?ns=kube-system");
  assertEquals(policy.status, 403);
  assertStringIncludes(policy.body.error, 'namespace "kube-system" is not allowed');
  assertEquals(kube.requests.length, 0);

  kube.queued = 4;
  const busy = await post("/publish/note?ns=default");
  assertEquals([busy.status, busy.headers.get("retry-after")], [503, "1"]);

  const bad = await call("/publish/note", {
    method: "POST",
    body: "{",
    headers: { "content-type": "application/json" },
  });
  assertEquals(bad.status, 400);

  assertEquals(
    (await publishes()).sort(),
    [
      'gitfaas_publishes_total{topic="note",status="400"} 1',
      'gitfaas_publishes_total{topic="note",status="403"} 1',
      'gitfaas_publishes_total{topic="note",status="503"} 1',
      'gitfaas_publishes_total{topic="broken",status="403"} 1',
      'gitfaas_publishes_total{topic="unknown",status="404"} 1',
    ].sort(),
  );
});

Deno.test("a publish before the first sync is 503 with Retry-After", async () => {
  const { call } = await setup({ noSync: true });
  const answer = await call("/publish/note", { method: "POST", body: "x" });
  assertEquals([answer.status, answer.headers.get("retry-after")], [503, "5"]);
  assertStringIncludes(answer.body.error, "no topic index is loaded yet");
});

Deno.test("a percent-encoded topic is published and counted under its name", async () => {
  const { call, publishes } = await setup();
  const answer = await call("/publish/n%6Fte&ns=default", { method: "POST", body: "x" });
  assertEquals(answer.status, 202, answer.text);
  assertEquals(await publishes(), ['gitfaas_publishes_total{topic="note",status="202"} 1']);
});

Deno.test("a bug during a publish is a 500 that says so, logged with its stack and counted", async () => {
  const { call, logger, publishes } = await setup({
    kube: {
      answer: () => {
        throw new TypeError("cannot read properties of undefined (reading 'metadata')");
      },
    },
  });
  const answer = await call("/publish/note?ns=default", { method: "POST", body: "x" });
  assertEquals(answer.status, 500);
  assertStringIncludes(answer.body.error, "a bug in gitfaas");
  assertStringIncludes(answer.body.error, "TypeError: cannot read properties of undefined");
  assertEquals(answer.headers.get("retry-after"), null);
  const logged = logger.lines.filter((l) => l.level === "error");
  assertEquals(logged.length, 1);
  assertEquals(logged[0].fields.path, "/publish/note");
  assertStringIncludes(logged[0].fields.error, "TypeError");
  assertStringIncludes(logged[0].fields.error, "at "); // the stack
  assertEquals(await publishes(), ['gitfaas_publishes_total{topic="note",status="500"} 1']);
});

Deno.test("an API server that refuses or fails is reported per object, not as a bug", async () => {
  const status = { reason: "Invalid", message: "name is invalid", kind: "Status" };
  const refused = await setup({ kube: { answer: () => fakeAnswer(422, status) } });
  const answer = await refused.call("/publish/note?ns=default", { method: "POST", body: "x" });
  assertEquals(answer.status, 422);
  assertEquals(answer.body.objects[0].reason, "Invalid");

  // A 2xx answer that is not JSON (a proxy in the way) is the API server's fault: 502.
  const garbled = await setup({
    kube: { answer: () => ({ status: 201, headers: new Headers(), text: "<html>" }) },
    kubeTimeoutMs: 300,
  });
  const bad = await garbled.call("/publish/note?ns=default", { method: "POST", body: "x" });
  assertEquals(bad.status, 502, bad.text);
  assertEquals([bad.body.objects[0].reason, bad.body.objects[0].code], ["BadAnswer", 0]);
  assert(bad.body.objects[0].attempts >= 1);
  assertEquals(garbled.logger.lines.filter((l) => l.level === "error"), []);
});

Deno.test("with a token, only the probes, webhooks and metrics stay open", async () => {
  const { call } = await setup({ handler: { publishToken: "s3cret-token" } });
  for (
    const [path, method] of [["/publish/note", "POST"], ["/status", "GET"], ["/topics", "GET"]]
  ) {
    const answer = await call(path, { method, body: method === "POST" ? "x" : undefined });
    assertEquals(answer.status, 401, path);
    assertEquals(answer.headers.get("www-authenticate"), 'Bearer realm="gitfaas"');
  }
  const authorized = await call("/topics", { headers: { authorization: "Bearer s3cret-token" } });
  assertEquals(authorized.status, 200);
  assertEquals((await call("/healthz")).status, 200);
  assert((await call("/metrics")).text.includes("gitfaas_publishes_total"));
});

Deno.test("render: the objects a publish would apply and their problems, nothing sent", async () => {
  const preview = { namespace: "default", policy: POLICY };
  const before = await setup({ noSync: true, handler: { preview } });
  const early = await before.call("/render/note", { method: "POST", body: "" });
  assertEquals([early.status, early.headers.get("retry-after")], [503, "5"]);

  const { call, kube } = await setup({ handler: { preview } });
  const fine = await call("/render/note?ns=default", { method: "POST", body: "hi" });
  assertEquals(fine.status, 200, fine.text);
  assertEquals([fine.body.topic, fine.body.revision, fine.body.problems], ["note", "c1", []]);
  const [object] = fine.body.objects;
  assertEquals([object.kind, object.namespace, object.manifest], [
    "ConfigMap",
    "default",
    "note.yaml",
  ]);
  assertMatch(object.name, /^note-[a-z0-9]{5}$/);
  assertEquals(atob(object.object.data.message), "hi");

  const elsewhere = await call("/render/note?ns=kube-system", { method: "POST", body: "" });
  assertEquals(elsewhere.body.problems, [
    `note.yaml: document 1 (ConfigMap "${elsewhere.body.objects[0].name}"): namespace ` +
    `"kube-system" is not allowed (ALLOWED_NAMESPACES: default)`,
  ]);
  // A fragment is not part of the query, even one that looks like it.
  const fragment = await call("/render/note?ns=default#?ns=kube-system", {
    method: "POST",
    body: "",
  });
  assertEquals([fragment.body.objects[0].namespace, fragment.body.problems], ["default", []]);
  const broken = await call("/render/broken", { method: "POST", body: "" });
  assertEquals(broken.status, 200);
  assertEquals(broken.body.problems.length, 2, broken.text);
  assertStringIncludes(broken.body.problems[0], "cluster.yaml: line 1: document 1:");
  assertStringIncludes(broken.body.problems[1], 'cluster.yaml: document 1 (Namespace "team-x")');

  const unknown = await call("/render/nope", { method: "POST", body: "" });
  assertEquals([unknown.status, unknown.body.error], [404, 'unknown topic "nope"']);
  const get = await call("/render/note");
  assertEquals([get.status, get.headers.get("allow")], [405, "POST"]);
  assertEquals(kube.requests, []);
});

Deno.test("render is off without its options, and needs the token when one is set", async () => {
  const off = await setup();
  assertEquals((await off.call("/render/note", { method: "POST", body: "" })).status, 404);
  const { call } = await setup({
    handler: { preview: { namespace: "default", policy: POLICY }, publishToken: "t0ken" },
  });
  assertEquals((await call("/render/note", { method: "POST", body: "" })).status, 401);
  const authorized = await call("/render/note", {
    method: "POST",
    body: "",
    headers: { authorization: "Bearer t0ken" },
  });
  assertEquals(authorized.status, 200);
});

Deno.test("status says how the router runs; topics name their kinds and values", async () => {
  const runtime = { mode: "render-only" as const, namespace: "team-a", pollIntervalSeconds: null };
  const { call } = await setup({ handler: { runtime } });
  const status = (await call("/status")).body;
  assertEquals([status.mode, status.namespace, status.pollIntervalSeconds], [
    "render-only",
    "team-a",
    null,
  ]);
  const topics = (await call("/topics")).body.topics;
  assertEquals(topics.map((t: any) => [t.name, t.kinds, t.values]), [
    ["note", [{ apiVersion: "v1", kind: "ConfigMap" }], ["ns"]],
    ["broken", [{ apiVersion: "v1", kind: "Namespace" }], []],
  ]);
});
