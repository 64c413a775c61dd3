/**
 * A commit whose build stopped the process is not built again: the build under way is recorded
 * in DATA_DIR before it starts, a record found at the next start marks its commit bad, and the
 * restarted router serves the revision it served before (as it does for any commit that cannot
 * be used while nothing serves yet), reporting the failure.
 */

import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { DEFAULTS } from "../src/settings/settings.ts";
import type { CommitFiles, RepoEntry, RevisionSource } from "../src/sync/source.ts";
import { type BuildJournal, FileBuildJournal } from "../src/sync/build_journal.ts";
import { Syncer } from "../src/sync/syncer.ts";
import { IndexBuildError } from "../src/topics/topic_index.ts";

const GOOD: Record<string, string> = {
  "config.json": JSON.stringify({ topics: [{ name: "t", configs: ["t.yaml"] }] }),
  "t.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: t-{{RANDOM}}\n",
};
const BROKEN = { ...GOOD, "t.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [\n" };

/** Revisions held in memory; `head` names the branch's commit, `served` the remembered one. */
class MemorySource implements RevisionSource {
  readonly loads: string[] = [];
  constructor(
    readonly revisions: Record<string, Record<string, string>>,
    public headRevision: string,
    public served?: string,
  ) {}

  head(): Promise<string> {
    return Promise.resolve(this.headRevision);
  }

  load(revision: string): Promise<CommitFiles> {
    this.loads.push(revision);
    const files = this.revisions[revision];
    const encoder = new TextEncoder();
    return Promise.resolve({
      revision,
      entry: (path: string): Promise<RepoEntry> =>
        Promise.resolve(path in files ? { kind: "file", oid: path } : { kind: "missing" }),
      read: (oid: string) => Promise.resolve(encoder.encode(files[oid])),
    });
  }

  remember(revision: string): Promise<void> {
    this.served = revision;
    return Promise.resolve();
  }

  remembered(): Promise<string | undefined> {
    return Promise.resolve(this.served);
  }
}

/** A journal in memory that records what the syncer tells it. */
class MemoryJournal implements BuildJournal {
  readonly steps: string[] = [];
  constructor(readonly left?: string) {}
  crashed(): Promise<string | undefined> {
    return Promise.resolve(this.left);
  }
  begin(revision: string): Promise<void> {
    this.steps.push(`begin ${revision}`);
    return Promise.resolve();
  }
  end(): Promise<void> {
    this.steps.push("end");
    return Promise.resolve();
  }
}

const options = {
  configPath: "config.json",
  policy: { deniedKinds: [], allowedClusterKinds: [], allowedNamespaces: "*" as const },
  maxManifestsPerTopic: DEFAULTS.maxManifestsPerTopic,
  maxObjectsPerPublish: DEFAULTS.maxObjectsPerPublish,
};

Deno.test("each build is recorded before it starts and cleared when it ends, whatever its outcome", async () => {
  const source = new MemorySource({ good: GOOD, broken: BROKEN }, "good");
  const journal = new MemoryJournal();
  const syncer = new Syncer(source, { ...options, buildJournal: journal });
  await syncer.sync();
  source.headRevision = "broken";
  await assertRejects(() => syncer.sync(), IndexBuildError);
  await assertRejects(() => syncer.sync(), IndexBuildError); // known bad: not built again
  assertEquals(journal.steps, ["begin good", "end", "begin broken", "end"]);
});

Deno.test("a commit whose build stopped the last process is not built: the revision served before is", async () => {
  const source = new MemorySource({ good: GOOD, crashed: GOOD, next: GOOD }, "crashed", "good");
  const syncer = new Syncer(source, { ...options, buildJournal: new MemoryJournal("crashed") });
  const error = await assertRejects(() => syncer.sync(), IndexBuildError);
  assertEquals(error.revision, "crashed");
  assert(error.problems[0].startsWith("the router stopped while fetching or building"));
  assertEquals(source.loads, ["good"], "the crashed commit is not even fetched");
  assertEquals(syncer.index?.revision, "good");
  const status = syncer.status();
  assertEquals(status.revision, "good");
  assertEquals(status.lastSync?.outcome, "failed");
  assertEquals(status.lastSync?.revision, "crashed");
  assertEquals(source.served, "good");

  // Asked again, the same answer without a fetch; a new commit is built as usual.
  await assertRejects(() => syncer.sync(), IndexBuildError);
  source.headRevision = "next";
  assertEquals(await syncer.sync(), { revision: "next", changed: true });
  assertEquals(source.loads, ["good", "next"]);
});

Deno.test("after a restart, a commit that cannot be used leaves the revision served before serving", async () => {
  const source = new MemorySource({ good: GOOD, broken: BROKEN }, "broken", "good");
  const syncer = new Syncer(source, options);
  await assertRejects(() => syncer.sync(), IndexBuildError, "t.yaml");
  assertEquals(syncer.index?.revision, "good");
  assertEquals(source.served, "good", "the served revision stays recorded");
  assertEquals(syncer.status().lastSync?.revision, "broken");

  // With nothing served before, nothing serves, and the failure is reported all the same.
  const fresh = new Syncer(new MemorySource({ broken: BROKEN }, "broken"), options);
  await assertRejects(() => fresh.sync(), IndexBuildError);
  assertEquals(fresh.index, null);
});

Deno.test("the journal in DATA_DIR: a build left unfinished is found by the next process", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gitfaas-journal-" });
  try {
    const first = new FileBuildJournal(`${dir}/cache`);
    assertEquals(await first.crashed(), undefined, "a fresh folder holds no record");
    await first.begin("a".repeat(40));
    await first.end();
    assertEquals(await new FileBuildJournal(`${dir}/cache`).crashed(), undefined);

    await first.begin("b".repeat(40));
    // The process dies here; a write it had started is left behind too.
    await Deno.writeTextFile(`${dir}/cache/gitfaas-building.1234.tmp`, "c".repeat(20));
    const second = new FileBuildJournal(`${dir}/cache`);
    assertEquals(await second.crashed(), "b".repeat(40));
    assertEquals([...Deno.readDirSync(`${dir}/cache`)].map((e) => e.name), ["gitfaas-crashed"]);
    // It stays known across later restarts, until another build is left unfinished.
    await second.begin("d".repeat(40));
    await second.end();
    assertEquals(await new FileBuildJournal(`${dir}/cache`).crashed(), "b".repeat(40));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the index goes live with its status, not while the build record is being cleared", async () => {
  // /readyz reads the index and /status the sync's report: a probe answered between the two
  // (clearing the record is a write to DATA_DIR, slow on a busy disk) saw a router ready to
  // serve whose /status said it served nothing. Both paths: an ordinary build, and a restart
  // that serves the revision served before because the branch's commit stopped the last process.
  for (const [left, head] of [[undefined, "good"], ["crashed", "crashed"]] as const) {
    const source = new MemorySource({ good: GOOD, crashed: GOOD }, head, "good");
    const clearing = Promise.withResolvers<void>();
    const cleared = Promise.withResolvers<void>();
    const journal = new MemoryJournal(left);
    journal.end = () => {
      clearing.resolve();
      return cleared.promise;
    };
    const syncer = new Syncer(source, { ...options, buildJournal: journal });
    const sync = syncer.sync().catch(() => undefined);
    await clearing.promise;
    assertEquals([syncer.index, syncer.status().revision], [null, null], `${head}: mid-way`);
    cleared.resolve();
    await sync;
    assertEquals([syncer.index?.revision, syncer.status().revision], ["good", "good"], head);
  }
});
