/**
 * What values add to a publish's objects is bounded: a template within its own limits can still
 * use a value thousands of times, and each publish would render the value that many times over.
 * Past PUBLISH_VALUE_TEXT_LIMIT the publish is answered 413 and nothing is applied. In process:
 * the real handler, syncer and publisher on a fake connection.
 */

import { assertEquals, assertStringIncludes, assertThrows } from "./support/assert.ts";
import { configJson } from "./support/fixtures.ts";
import { FakeKube } from "./support/fake_kube.ts";
import { createHandler } from "../src/http/handler.ts";
import { Metrics } from "../src/metrics/metrics.ts";
import { Publisher } from "../src/publish/publisher.ts";
import {
  compileTemplate,
  PUBLISH_VALUE_TEXT_LIMIT,
  renderBudget,
  RenderLimitError,
  renderTemplate,
} from "../src/render/template.ts";
import { DEFAULTS } from "../src/settings/settings.ts";
import type { CommitFiles, RepoEntry, RevisionSource } from "../src/sync/source.ts";
import { Syncer } from "../src/sync/syncer.ts";

/** A ConfigMap whose one value is `{{v}}` written `times` times: small, and within limits. */
function repeated(times: number): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: many-\n` +
    `data:\n  a: "${"{{v}}".repeat(times)}"\n`;
}

const FILES: Record<string, string> = {
  "config.json": configJson({ many: ["many.yaml"] }),
  "many.yaml": repeated(5000),
};

class OneCommit implements RevisionSource {
  head(): Promise<string> {
    return Promise.resolve("c1");
  }
  load(revision: string): Promise<CommitFiles> {
    return Promise.resolve({
      revision,
      entry: (path: string): Promise<RepoEntry> =>
        Promise.resolve(path in FILES ? { kind: "file", oid: path } : { kind: "missing" }),
      read: (oid: string) => Promise.resolve(new TextEncoder().encode(FILES[oid])),
    });
  }
}

Deno.test("a publish whose values would fill its templates past the limit is answered 413", async () => {
  const policy = { deniedKinds: [], allowedClusterKinds: [], allowedNamespaces: "*" as const };
  const syncer = new Syncer(new OneCommit(), {
    configPath: "config.json",
    policy,
    maxManifestsPerTopic: DEFAULTS.maxManifestsPerTopic,
    maxObjectsPerPublish: DEFAULTS.maxObjectsPerPublish,
  });
  await syncer.sync();
  const kube = new FakeKube();
  const publisher = new Publisher({
    index: () => syncer.index,
    kube,
    namespace: "default",
    policy,
    kubeTimeoutMs: 5_000,
    publishTimeoutMs: 5_000,
    maxQueue: 4,
  });
  const handle = createHandler({
    syncer,
    publisher,
    maxBodyBytes: 1024,
    maxQueryParams: DEFAULTS.maxQueryParams,
    maxQueryValueBytes: DEFAULTS.maxQueryValueBytes,
    source: { url: "memory" },
    metrics: new Metrics(),
  });
  const publish = async (v: string) => {
    const response = await handle(
      new Request(`http://router.test/publish/many?v=${v}`, { method: "POST", body: "x" }),
    );
    return { status: response.status, body: await response.json() };
  };

  // 5,000 × 4,000 characters: 20 million, over the 16 Mi limit.
  const large = await publish("x".repeat(4000));
  assertEquals(large.status, 413, JSON.stringify(large.body));
  assertStringIncludes(large.body.error, "would hold more than 16,777,216 characters");
  assertEquals(kube.requests.filter((r) => r.method !== "GET"), [], "nothing was applied");

  const small = await publish("x".repeat(100));
  assertEquals(small.status, 202, JSON.stringify(small.body));
});

Deno.test("one budget is spent by every render of a publish, by the strings values are set in", () => {
  const template = compileTemplate(repeated(10));
  const budget = renderBudget(100);
  renderTemplate(template, { v: "1234" }, { budget }); // 40 characters
  assertEquals(budget.remaining, 60);
  renderTemplate(template, { v: "12345" }, { budget }); // 50 more
  const error = assertThrows(
    () => renderTemplate(template, { v: "12" }, { budget }),
    RenderLimitError,
  );
  assertEquals(error.limit, 100);
  // Without a budget, nothing is counted.
  renderTemplate(template, { v: "x".repeat(10_000) });
  assertEquals(PUBLISH_VALUE_TEXT_LIMIT, 16 * 1024 * 1024);
});
