/**
 * A sync after a push reads and compiles only the blobs that changed: templates of unchanged
 * blobs come from the index being replaced. This is what keeps webhook-to-live latency flat
 * in the size of the repository. Sources whose ids are not content hashes never reuse.
 */

import { assert, assertEquals, assertNotEquals } from "./support/assert.ts";
import { configJson, ECHO_JOB } from "./support/fixtures.ts";
import { memoryCommit } from "./support/memory_commit.ts";
import { parseKindList } from "../src/policy/policy.ts";
import { DEFAULTS } from "../src/settings/settings.ts";
import { buildTopicIndex, IndexBuildError } from "../src/topics/topic_index.ts";
import { assertRejects } from "./support/assert.ts";

const policy = {
  deniedKinds: parseKindList("none"),
  allowedNamespaces: "*" as const,
  allowedClusterKinds: parseKindList("none"),
};

/** A commit held in memory; blob ids are content hashes when `contentAddressed`. */
function commit(revision: string, files: Record<string, string>, contentAddressed = true) {
  return memoryCommit(revision, files, { contentAddressed });
}

function repository(size: number, extra: Record<string, string> = {}): Record<string, string> {
  const files: Record<string, string> = {};
  const topics: Record<string, string[]> = {};
  for (let i = 0; i < size; i++) {
    files[`jobs/job-${i}.yaml`] = ECHO_JOB.replace("echo-{{RANDOM}}", `job-${i}-{{RANDOM}}`);
    topics[`t${i}`] = [`jobs/job-${i}.yaml`];
  }
  for (const path of Object.keys(extra)) topics[path.replace(/\W/g, "-")] = [path];
  return { ...files, ...extra, "config.json": configJson(topics) };
}

const options = {
  configPath: "config.json",
  policy,
  maxManifestsPerTopic: DEFAULTS.maxManifestsPerTopic,
  maxObjectsPerPublish: DEFAULTS.maxObjectsPerPublish,
};

Deno.test("unchanged blobs are neither read nor compiled again", async () => {
  const first = await commit("a".repeat(40), repository(100));
  const before = await buildTopicIndex(first, options);
  assertEquals(first.reads.length, 101); // config.json and every manifest

  const changed = ECHO_JOB.replace("busybox", "alpine");
  const second = await commit("b".repeat(40), repository(100, { "new.yaml": changed }));
  const after = await buildTopicIndex(second, { ...options, previous: before });
  assertEquals(second.reads.length, 2, "config.json and the one new blob");
  assertEquals(after.topics.size, 101);
  assert(
    after.topics.get("t7")!.manifests[0].template ===
      before.topics.get("t7")!.manifests[0].template,
  );

  // A path whose content changed is compiled from its new blob.
  const third = await commit("c".repeat(40), {
    ...repository(100, { "new.yaml": changed }),
    "jobs/job-7.yaml": ECHO_JOB.replace("busybox", "debian"),
  });
  const next = await buildTopicIndex(third, { ...options, previous: after });
  assertEquals(third.reads.length, 2, "config.json and job-7's new blob");
  assertNotEquals(
    JSON.stringify(next.topics.get("t7")!.manifests[0].template),
    JSON.stringify(after.topics.get("t7")!.manifests[0].template),
  );
  assert(JSON.stringify(next.topics.get("t7")!.manifests[0].template).includes("debian"));
  // Two generations on, templates kept unchanged are still shared.
  assert(
    next.topics.get("t8")!.manifests[0].template === before.topics.get("t8")!.manifests[0].template,
  );
});

Deno.test("sources whose ids are paths (development folders) always read and compile", async () => {
  const first = await commit("dir-1", repository(10), false);
  const before = await buildTopicIndex(first, options);
  const second = await commit("dir-2", {
    ...repository(10),
    "jobs/job-3.yaml": ECHO_JOB.replace("busybox", "alpine"),
  }, false);
  const after = await buildTopicIndex(second, { ...options, previous: before });
  assertEquals(second.reads.length, 11);
  assert(JSON.stringify(after.topics.get("t3")!.manifests[0].template).includes("alpine"));
});

Deno.test("a build that reuses templates still reports every problem", async () => {
  const first = await commit("a".repeat(40), repository(5));
  const before = await buildTopicIndex(first, options);
  const files = repository(5);
  files["config.json"] = configJson({ t0: ["jobs/job-0.yaml", "missing.yaml"] });
  const broken = await commit("b".repeat(40), files);
  await assertRejects(
    () => buildTopicIndex(broken, { ...options, previous: before }),
    IndexBuildError,
    "missing.yaml does not exist",
  );
});
