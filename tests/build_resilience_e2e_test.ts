/**
 * End to end: no commit can take the router down. While it builds a commit made to be as costly
 * as the limits allow (and costlier), it keeps answering /healthz and publishes; a build killed
 * halfway (as by the out-of-memory killer) is not started again by the restart, which keeps
 * serving the last good revision and says why on /status.
 */

import { assert, assertEquals } from "./support/assert.ts";
import { configJson, ECHO_JOB, startStack } from "./support/fixtures.ts";
import { RouterProcess } from "./support/router_process.ts";

const HEAD = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

/** Manifests that each cost the compile what the limits allow, or were made to cost more. */
function pathologicalFiles(): Record<string, string> {
  const list = Array.from({ length: 20_000 }, (_, i) => `  - ${i}\n`).join("");
  let merges = `${HEAD("merges")}m0: &m0 {${Array.from({ length: 10 }, (_, i) => `k${i}: v`)}}\n`;
  for (let i = 1; i < 12; i++) {
    merges += `m${i}: &m${i} {${
      Array.from({ length: 10 }, (_, j) => `k${j}: {<<: *m${i - 1}}`)
    }}\n`;
  }
  const files: Record<string, string> = {
    // Accepted, near the node limit: the most a file may make the router decode and check.
    "keys.yaml": `${HEAD("keys")}data:\n` +
      Array.from({ length: 24_000 }, (_, i) => `  k${i}: v${i}\n`).join(""),
    // mustache.js searched the rest of the file at each tag after a delimiter change.
    "delimiters.yaml": `{{=[[ ]]=}}\n${HEAD("delimiters")}data:\n` +
      Array.from({ length: 20_000 }, (_, i) => `  k${i}: "[[v]] x"\n`).join(""),
    // Refused: too many documents, aliases and merges expanding past the limits, deep nesting.
    "documents.yaml": `${HEAD("documents")}${"---\n".repeat(100_000)}`,
    "aliases.yaml": `${HEAD("aliases")}x: &a\n${list}data:\n` +
      Array.from({ length: 999 }, (_, i) => `  k${i}: *a\n`).join(""),
    "merges.yaml": merges,
    "deep.yaml": `${HEAD("deep")}data: ${"[".repeat(200_000)}${"]".repeat(200_000)}\n`,
  };
  const topics: Record<string, string[]> = { echo: ["echo.yaml"] };
  for (const path of Object.keys(files)) topics[path.replace(".yaml", "")] = [path];
  return { ...files, "echo.yaml": ECHO_JOB, "config.json": configJson(topics) };
}

const REFUSED = ["documents.yaml", "aliases.yaml", "merges.yaml", "deep.yaml"];

// The 100 ms target is measured in BENCHMARKS.md ("Requests during a build"), where the machine's
// load is recorded next to the figure; this test keeps what a user sees: the router is not frozen
// by the build (it was, for 30 to 45 s), whatever else the machine is running.
Deno.test("while it builds a pathological commit, the router keeps answering /healthz", async () => {
  // The costly files are fetched at start, unused; the commit under test only lists them in
  // config.json, so what is probed is the index build (a large fetch is capped on its own).
  const files = pathologicalFiles();
  const stack = await startStack({
    files: { ...files, "config.json": configJson({ echo: ["echo.yaml"] }) },
  });
  const { router, repo } = stack;
  // A second router of the same commit that builds nothing. Probed together, the two see the
  // same machine (a busy test machine delays any process now and then); what the building one
  // takes longer is what its build holds it up.
  const idle = await RouterProcess.start({ ...stack.env, DATA_DIR: `${stack.dataDir}-idle` });
  try {
    await idle.waitFor(async () => (await idle.call("/readyz")).status === 200);
    const good = await repo.head();
    const bad = await repo.commitAndPush({ "config.json": files["config.json"] }, "use them");

    let building = true;
    const probes: { building: number; idle: number }[] = [];
    const time = async (target: RouterProcess) => {
      const started = performance.now();
      const response = await target.fetch("/healthz");
      await response.body?.cancel();
      assertEquals(response.status, 200);
      return performance.now() - started;
    };
    // Probes count from the start of the index build: the fetch before it has limits of its own.
    const builds = () => router.output.split('"building the topic index"').length - 1;
    const before = builds();
    const started = () => builds() > before;
    const probe = (async () => {
      while (building) {
        const counts = started();
        const [b, i] = await Promise.all([time(router), time(idle)]);
        if (counts) probes.push({ building: b, idle: i });
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const publish = router.call("/publish/echo", { method: "POST", body: "during the build" });
    const refresh = await router.call("/refresh").finally(() => building = false);
    await probe;

    assertEquals(refresh.status, 422, JSON.stringify(refresh.body));
    assertEquals(refresh.body.revision, bad);
    for (const path of REFUSED) {
      assert(
        refresh.body.problems.some((p: string) => p.startsWith(`${path}: line `)),
        `${path} is not among the problems: ${refresh.body.problems.join("\n")}`,
      );
    }
    assertEquals(refresh.body.problems.length, REFUSED.length, refresh.body.problems.join("\n"));
    assertEquals((await publish).status, 202);
    const status = await router.call("/status");
    assertEquals(status.body.revision, good, "the last good index keeps serving");

    assert(probes.length >= 10, `the build was probed ${probes.length} times only`);
    const held = Math.max(...probes.map((p) => p.building - p.idle));
    assert(held < 1000, `/healthz took ${Math.round(held)} ms longer than on an idle router`);
  } finally {
    await idle.stop();
    await stack.close();
  }
});

Deno.test("a build killed halfway is not started again: the restart serves the last good revision", async () => {
  const stack = await startStack();
  const { router, repo, dataDir } = stack;
  let restarted: RouterProcess | undefined;
  try {
    const good = await repo.head();
    const bad = await repo.commitAndPush(pathologicalFiles(), "pathological manifests");
    const marker = async () => {
      for await (const cache of Deno.readDir(dataDir)) {
        const path = `${dataDir}/${cache.name}/gitfaas-building`;
        if (await Deno.stat(path).then(() => true, () => false)) return path;
      }
      return undefined;
    };
    assertEquals(await marker(), undefined, "no build is under way");

    // Killed as the out-of-memory killer would, once the build has started.
    const refresh = router.fetch("/refresh").catch(() => undefined);
    await router.waitFor(async () => (await marker()) !== undefined, 30_000);
    assertEquals(Deno.readTextFileSync((await marker())!).trim(), bad);
    await router.stop("SIGKILL");
    await refresh;

    restarted = await RouterProcess.start(stack.env);
    await restarted.waitFor(async () => (await restarted!.call("/readyz")).status === 200);
    const status = (await restarted.call("/status")).body;
    assertEquals(status.revision, good, JSON.stringify(status));
    assertEquals(status.lastSync.outcome, "failed");
    assertEquals(status.lastSync.revision, bad);
    assert(
      status.lastSync.problems[0].startsWith("the router stopped while fetching or building"),
      status.lastSync.problems[0],
    );
    assertEquals(await marker(), undefined, "the bad commit is not being built");
    const logs = restarted.logs();
    assert(
      logs.some((l) =>
        l.message === "a commit stopped the previous router process: it is not built again" &&
        l.revision === bad
      ),
    );
    const fallback = logs.filter((l) =>
      l.message === "the branch's commit cannot be used: serving the revision served before"
    );
    assertEquals(fallback.map((l) => [l.revision, l.failedRevision]), [[good, bad]]);

    const publish = await restarted.call("/publish/echo", { method: "POST", body: "after" });
    assertEquals(publish.status, 202, JSON.stringify(publish.body));
    assertEquals(publish.body.revision, good);
    // Asked again, the bad commit is refused at once, without a fetch or a build.
    const again = await restarted.call("/refresh");
    assertEquals(again.status, 422);

    // A new commit on the branch is built as usual.
    const fixed = await repo.commitAndPush(
      Object.fromEntries(REFUSED.map((p) => [p, `${HEAD(p.replace(".yaml", ""))}`])),
      "fixed",
    );
    const refreshed = await restarted.call("/refresh");
    assertEquals(refreshed.status, 200, JSON.stringify(refreshed.body));
    assertEquals(refreshed.body.revision, fixed);
  } finally {
    await restarted?.stop();
    await stack.close();
  }
});
