/**
 * The poller's backoff, timed against a source that fails on command: after a failure it tries
 * again after 1 s, then 2 s, 4 s... capped at the poll interval, and once a sync succeeds it is
 * back to the poll interval. A failure never drops the index that is serving.
 */

import { assert, assertEquals } from "./support/assert.ts";
import type { CommitFiles, RepoEntry, RevisionSource } from "../src/sync/source.ts";
import { DEFAULTS } from "../src/settings/settings.ts";
import { Syncer } from "../src/sync/syncer.ts";

const FILES: Record<string, string> = {
  "config.json": JSON.stringify({ topics: [{ name: "t", configs: ["t.yaml"] }] }),
  "t.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: t-{{RANDOM}}\n",
};

/** A source with one revision whose `head()` fails while `down` is true; it notes each call. */
class FlakySource implements RevisionSource {
  down = false;
  readonly calls: number[] = [];

  head(): Promise<string> {
    this.calls.push(performance.now());
    return this.down
      ? Promise.reject(new Error("cannot reach the Git server (test)"))
      : Promise.resolve("r1");
  }

  load(revision: string): Promise<CommitFiles> {
    const encoder = new TextEncoder();
    return Promise.resolve({
      revision,
      entry: (path: string): Promise<RepoEntry> =>
        Promise.resolve(path in FILES ? { kind: "file", oid: path } : { kind: "missing" }),
      read: (oid: string) => Promise.resolve(encoder.encode(FILES[oid])),
    });
  }
}

Deno.test("the poller backs off 1 s, 2 s, then the poll interval, and returns to the interval after a success", async () => {
  const source = new FlakySource();
  const syncer = new Syncer(source, {
    configPath: "config.json",
    maxManifestsPerTopic: DEFAULTS.maxManifestsPerTopic,
    maxObjectsPerPublish: DEFAULTS.maxObjectsPerPublish,
    policy: { deniedKinds: [], allowedClusterKinds: [], allowedNamespaces: "*" },
  });
  const waitForCalls = async (n: number) => {
    const deadline = Date.now() + 20_000;
    while (source.calls.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${source.calls.length} polls`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    syncer.startPolling(2500);
    await waitForCalls(1);
    await new Promise((r) => setTimeout(r, 50));
    assertEquals(syncer.index?.revision, "r1");

    // The poll after 2.5 s fails, and the next ones come after 1 s, 2 s, then 2.5 s (4 s
    // capped at the interval); the one after that succeeds, and the next is an interval later.
    source.down = true;
    await waitForCalls(5);
    source.down = false;
    await waitForCalls(7);

    const gaps = source.calls.slice(1).map((t, i) => Math.round(t - source.calls[i]));
    const expected = [2500, 1000, 2000, 2500, 2500, 2500];
    for (const [i, gap] of gaps.entries()) {
      assert(
        gap >= expected[i] - 50 && gap < expected[i] + 500,
        `gaps ${JSON.stringify(gaps)}, expected about ${JSON.stringify(expected)}`,
      );
    }
    assertEquals(syncer.index?.revision, "r1", "the index served throughout");
    const status = syncer.status();
    assertEquals([status.consecutiveFailures, status.lastSync?.outcome], [0, "unchanged"]);
  } finally {
    await syncer.stop();
  }
});
