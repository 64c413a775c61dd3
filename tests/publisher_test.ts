// deno-lint-ignore-file no-explicit-any -- tests read deep into reports and Kubernetes objects
/**
 * `Publisher` in process: a topic index built from a commit held in memory, and the API server
 * behind the `KubeConnection` seam (`support/fake_kube.ts`). What a publish answers and what it
 * leaves in the cluster, for every outcome: applied, refused by the API server, API server
 * failing, out of time, refused by the policy, turned away by back-pressure, and repeated with
 * an Idempotency-Key. A refusal is thrown; its HTTP answer is the error table's
 * (`http/error_response.ts`), as the router sends it. The end-to-end tests (`publish_e2e_test.ts`, `reliability_*`) run the same
 * paths through HTTP, a router process and the API simulator.
 */

import { assert, assertEquals, assertMatch, assertRejects } from "./support/assert.ts";
import { FakeKube, type FakeRequest } from "./support/fake_kube.ts";
import {
  configJson,
  CONVERT_JOB,
  ECHO_JOB,
  fromBase64,
  INPUT_CONFIG_MAP,
  jobEnv,
} from "./support/fixtures.ts";
import { memoryCommit } from "./support/memory_commit.ts";
import { errorAnswer } from "../src/http/error_response.ts";
import { OPEN_POLICY, parseKindList, type Policy } from "../src/policy/policy.ts";
import { Publisher, type PublisherOptions } from "../src/publish/publisher.ts";
import { DEFAULTS } from "../src/settings/settings.ts";
import { buildTopicIndex } from "../src/topics/topic_index.ts";

const REVISION = "c0ffee".padEnd(40, "0");
const FILES = {
  "config.json": configJson({ convert: ["input.yaml", "job.yaml"], echo: ["echo.yaml"] }),
  "input.yaml": INPUT_CONFIG_MAP,
  "job.yaml": CONVERT_JOB,
  "echo.yaml": ECHO_JOB,
};
const CONFIG_MAPS = "/api/v1/namespaces/default/configmaps";
const JOBS = "/apis/batch/v1/namespaces/default/jobs";
const BODY = '{"file":"a.gz"}';

/** A publisher over an index of `FILES`, applying through `kube`. */
async function publisherFor(
  kube: FakeKube,
  options: Partial<PublisherOptions> & { policy?: Policy } = {},
): Promise<Publisher> {
  const policy = options.policy ?? OPEN_POLICY;
  const index = await buildTopicIndex(await memoryCommit(REVISION, FILES), {
    configPath: "config.json",
    policy,
    maxManifestsPerTopic: DEFAULTS.maxManifestsPerTopic,
    maxObjectsPerPublish: DEFAULTS.maxObjectsPerPublish,
  });
  return new Publisher({
    index: () => index,
    kube,
    namespace: "default",
    policy,
    kubeTimeoutMs: 5_000,
    publishTimeoutMs: 5_000,
    maxQueue: 64,
    ...options,
  });
}

function request(topic: string, extra: { idempotencyKey?: string; dryRun?: boolean } = {}) {
  return {
    topic,
    body: new TextEncoder().encode(BODY),
    query: [["replicas", "2"]] as [string, string][],
    ...extra,
  };
}

const isJobWrite = (r: FakeRequest) => r.method !== "GET" && r.path.startsWith(JOBS);

Deno.test("a publish applies every object in order and reports each: 202", async () => {
  const kube = new FakeKube();
  const { status, report } = await (await publisherFor(kube)).publish(request("convert"));
  assertEquals(status, 202, JSON.stringify(report));
  assertEquals(report.topic, "convert");
  assertEquals(report.revision, REVISION);
  assertMatch(report.requestUuid, /^[0-9a-f-]{36}$/);
  assertEquals(report.dryRun, undefined);
  const objects = report.objects as any[];
  assertEquals(
    objects.map((o) => [o.manifest, o.apiVersion, o.kind, o.namespace, o.outcome]),
    [
      ["input.yaml", "v1", "ConfigMap", "default", "created"],
      ["job.yaml", "batch/v1", "Job", "default", "created"],
    ],
  );
  assertMatch(objects[0].name, /^input-[a-z0-9]{10}$/);
  assertMatch(objects[1].name, /^convert-[a-z0-9]{5}$/);

  // The ConfigMap by server-side apply, then the generateName Job created under its own name.
  assertEquals(
    kube.writes().map((r) => `${r.method} ${r.path.split("?")[0]}`),
    [`PATCH ${CONFIG_MAPS}/${objects[0].name}`, `POST ${JOBS}`],
  );
  const cm = kube.object(`${CONFIG_MAPS}/${objects[0].name}`) as any;
  const job = kube.object(`${JOBS}/${objects[1].name}`) as any;
  assertEquals(new TextDecoder().decode(fromBase64(cm.data.message)), BODY);
  assertEquals(cm.data.requestUuid, report.requestUuid);
  assertEquals(jobEnv(job, "MESSAGE"), cm.data.message);
  for (const object of [cm, job]) {
    assertEquals(object.metadata.labels["gitfaas.io/topic"], "convert");
    assertEquals(object.metadata.labels["gitfaas.io/request-uuid"], report.requestUuid);
  }
});

Deno.test("query values fill the template and a dry run stores nothing", async () => {
  const kube = new FakeKube();
  const publisher = await publisherFor(kube);
  const { status, report } = await publisher.publish(request("echo", { dryRun: true }));
  assertEquals(status, 202, JSON.stringify(report));
  assertEquals(report.dryRun, true);
  const [object] = report.objects as any[];
  assertEquals(object.outcome, "dry-run");
  assertEquals(object.object.spec.parallelism, 2);
  assertEquals(kube.writes()[0].query.get("dryRun"), "All");
  assertEquals(kube.objects(), []);
});

Deno.test("an object the API server refuses is reported with its reason: 422", async () => {
  const kube = new FakeKube();
  kube.fail({
    match: isJobWrite,
    status: 422,
    reason: "Invalid",
    message: 'Job.batch "convert-x" is invalid: spec.template: Required value',
  });
  const { status, report } = await (await publisherFor(kube)).publish(request("convert"));
  assertEquals(status, 422, JSON.stringify(report));
  const [cm, job] = report.objects as any[];
  assertEquals(cm.outcome, "created");
  assertEquals([job.outcome, job.code, job.reason], ["failed", 422, "Invalid"]);
  assertEquals(job.error, 'Job.batch "convert-x" is invalid: spec.template: Required value');
  assertEquals(kube.writes().filter(isJobWrite).length, 1, "a refusal is not retried");
});

Deno.test("an API server failing: 502, and 202 when the failures pass within the time", async () => {
  // Asked to come back later than the publish has time for: given up at once.
  const failing = new FakeKube();
  failing.fail({
    match: isJobWrite,
    status: 503,
    reason: "ServiceUnavailable",
    retryAfterSeconds: 60,
  });
  const { status, report } = await (await publisherFor(failing)).publish(request("echo"));
  assertEquals(status, 502, JSON.stringify(report));
  const [job] = report.objects as any[];
  assertEquals([job.outcome, job.code, job.reason], ["failed", 503, "ServiceUnavailable"]);
  assertEquals(job.attempts, 1);
  assertEquals(failing.objects(), []);

  // Two refused connections, then an answer: retried, applied once.
  const recovering = new FakeKube();
  recovering.fail({ match: isJobWrite, unreachable: true, times: 2 });
  const again = await (await publisherFor(recovering)).publish(request("echo"));
  assertEquals(again.status, 202, JSON.stringify(again.report));
  assertEquals(recovering.writes().length, 3);
  assertEquals(recovering.objects().length, 1);
});

Deno.test("an API server that does not answer: 504 once the time is up, nothing applied", async () => {
  const kube = new FakeKube();
  kube.fail({ hang: true });
  const publisher = await publisherFor(kube, { kubeTimeoutMs: 200 });
  const { status, report } = await publisher.publish(request("convert"));
  assertEquals(status, 504, JSON.stringify(report));
  const [first, second] = report.objects as any[];
  assertEquals([first.outcome, first.reason, first.code], ["failed", "Timeout", 0]);
  assert(["failed", "skipped"].includes(second.outcome), JSON.stringify(second));
  assertEquals(kube.writes(), [], "discovery never answered, so nothing was sent");
});

Deno.test("a publish the policy refuses applies nothing: 403", async () => {
  // Known from the templates: the index marks the topic unusable.
  const denied = new FakeKube();
  const deniedJobs = { ...OPEN_POLICY, deniedKinds: parseKindList("Job.batch") };
  const unusable = await assertRejects(
    async () =>
      await (await publisherFor(denied, { policy: deniedJobs })).publish(request("convert")),
    Error,
    "Job.batch is a denied kind",
  );
  assertEquals(errorAnswer(unusable).status, 403);
  assertEquals(denied.requests, []);

  // Known only once settled: the templates name no namespace, and the publish's namespace is
  // not allowed. The ConfigMap, first in order, is not applied either.
  const elsewhere = new FakeKube();
  const onlyJobs = { ...OPEN_POLICY, allowedNamespaces: new Set(["jobs"]) };
  const refused = await assertRejects(
    async () =>
      await (await publisherFor(elsewhere, { policy: onlyJobs })).publish(request("convert")),
    Error,
    "nothing was applied",
  );
  assertEquals(errorAnswer(refused).status, 403);
  assertEquals(elsewhere.writes(), []);
  assertEquals(elsewhere.objects(), []);
});

Deno.test("a queue of API requests over the limit turns a publish away: 503", async () => {
  const kube = new FakeKube();
  kube.queued = 8;
  const publisher = await publisherFor(kube, { maxQueue: 8 });
  const error = await assertRejects(() => publisher.publish(request("echo")), Error);
  const answer = errorAnswer(error);
  assertEquals([answer.status, answer.headers["retry-after"]], [503, "1"]);
  assertEquals(kube.requests, []);
});

Deno.test("the same Idempotency-Key derives the same names, on any publisher", async () => {
  const kube = new FakeKube();
  const first = await (await publisherFor(kube)).publish(
    request("convert", { idempotencyKey: "order-1" }),
  );
  assertEquals(first.status, 202, JSON.stringify(first.report));
  assertEquals(first.report.objects.map((o) => o.outcome), ["created", "created"]);
  assertEquals(first.report.idempotencyKey, "order-1");

  // Another publisher (a restart, or another replica) knows nothing of the first publish.
  const again = await (await publisherFor(kube)).publish(
    request("convert", { idempotencyKey: "order-1" }),
  );
  assertEquals(again.status, 202, JSON.stringify(again.report));
  assertEquals(again.report.requestUuid, first.report.requestUuid);
  assertEquals(
    again.report.objects.map((o) => o.name),
    first.report.objects.map((o) => o.name),
  );
  assertEquals(again.report.objects.map((o) => o.outcome), ["unchanged", "unchanged"]);
  assertEquals(kube.objects().length, 2);

  const other = await (await publisherFor(kube)).publish(
    request("convert", { idempotencyKey: "order-2" }),
  );
  assertEquals(other.status, 202, JSON.stringify(other.report));
  assert(other.report.requestUuid !== first.report.requestUuid);
  for (const [i, object] of other.report.objects.entries()) {
    assert(object.name !== first.report.objects[i].name, JSON.stringify(object));
  }
  assertEquals(kube.objects().length, 4);
});
