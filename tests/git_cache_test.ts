/**
 * The clone cache in DATA_DIR (issue 14, items 11 and 12): what a crash leaves there (a torn
 * pack index, a torn pack, temporary files) is checked at start, so a restart serves; and the
 * cache keeps only what the serving commit needs instead of a full tree per push.
 */

import { assert, assertEquals } from "./support/assert.ts";
import { configJson, ECHO_JOB, startStack } from "./support/fixtures.ts";
import type { GitServer } from "./support/git_server.ts";
import { RouterProcess } from "./support/router_process.ts";

/** The one clone cache in DATA_DIR. */
async function cacheDir(dataDir: string): Promise<string> {
  const caches = [];
  for await (const entry of Deno.readDir(dataDir)) {
    if (entry.isDirectory && entry.name.endsWith(".git")) caches.push(`${dataDir}/${entry.name}`);
  }
  assertEquals(caches.length, 1);
  return caches[0];
}

async function packFiles(cache: string): Promise<string[]> {
  const names = [];
  for await (const entry of Deno.readDir(`${cache}/objects/pack`)) names.push(entry.name);
  return names.sort();
}

/** `git count-objects -v` of the cache: objects in packs, packs, and their size. */
async function countObjects(git: GitServer, cache: string) {
  const out = await git.git.run(["--git-dir", cache, "count-objects", "-v"]);
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, "m").exec(out)![1]);
  return { inPack: field("in-pack"), packs: field("packs"), sizeKiB: field("size-pack") };
}

const text = { "content-type": "text/plain" };

Deno.test("a torn pack index or pack in DATA_DIR does not stop a restart from serving", async (t) => {
  const stack = await startStack();
  const { repo, git } = stack;
  const routers: RouterProcess[] = [];
  const restart = async () => {
    const router = await RouterProcess.start(stack.env);
    routers.push(router);
    await router.waitFor(async () => (await router.call("/readyz")).status === 200);
    return router;
  };
  try {
    const head = await repo.head();
    assertEquals((await stack.router.stop()).code, 0);
    const cache = await cacheDir(stack.dataDir);

    await t.step("a 0-byte .idx: the index is rebuilt from its pack, no fetch", async () => {
      const [idx] = (await packFiles(cache)).filter((n) => n.endsWith(".idx"));
      await Deno.writeFile(`${cache}/objects/pack/${idx}`, new Uint8Array(0));
      git.requests.length = 0;
      const router = await restart();
      assertEquals((await router.call("/readyz")).body.revision, head);
      const published = await router.call("/publish/echo", {
        method: "POST",
        body: "x",
        headers: text,
      });
      assertEquals([published.status, published.body.revision], [202, head]);
      assertEquals(git.requests.filter((r) => r.command === "fetch").length, 0);
      assert(router.output.includes("rebuilt the index of pack"), router.output);
      // And it follows new pushes.
      const next = await repo.commitAndPush({ "note.txt": "after the repair" }, "next");
      assertEquals((await router.call("/refresh")).body, { revision: next, changed: true });
      assertEquals((await router.stop()).code, 0);
    });

    await t.step(
      "a 0-byte .pack, a lone .idx and temporary files: removed, then fetched",
      async () => {
        // The largest pack: the first commit's tree, which the later commit's pack builds on.
        const packs = (await packFiles(cache)).filter((n) => n.endsWith(".pack"));
        assert(packs.length >= 2, packs.join(" "));
        const sizes = await Promise.all(
          packs.map(async (n) => (await Deno.stat(`${cache}/objects/pack/${n}`)).size),
        );
        const pack = packs[sizes.indexOf(Math.max(...sizes))];
        await Deno.writeFile(`${cache}/objects/pack/${pack}`, new Uint8Array(0));
        const orphan = `pack-${"1".repeat(40)}.idx`;
        await Deno.writeTextFile(`${cache}/objects/pack/${orphan}`, "torn");
        await Deno.writeTextFile(`${cache}/objects/pack/tmp_pack_interrupted`, "PACK");
        const router = await restart();
        const head = await repo.head();
        assertEquals((await router.call("/readyz")).body.revision, head);
        const published = await router.call("/publish/echo", {
          method: "POST",
          body: "x",
          headers: text,
        });
        assertEquals([published.status, published.body.revision], [202, head]);
        assertEquals((await router.stop()).code, 0);
        const files = await packFiles(cache);
        const left = files.filter((n) => n === orphan || n.startsWith("tmp") || n === pack);
        assertEquals(left, []);
        await git.git.run(["--git-dir", cache, "fsck", "--no-progress"]);
      },
    );
  } finally {
    for (const router of routers) await router.stop();
    await stack.close();
  }
});

Deno.test("the cache keeps what the serving commit needs, not a full tree per push", async () => {
  const files: Record<string, string> = {};
  const topics: Record<string, string[]> = {};
  for (let i = 0; i < 60; i++) {
    files[`jobs/job-${i}.yaml`] = ECHO_JOB.replace("echo-{{RANDOM}}", `job-${i}-{{RANDOM}}`);
    topics[`t${i}`] = [`jobs/job-${i}.yaml`];
  }
  files["config.json"] = configJson(topics);
  const stack = await startStack({ files });
  const { router, repo, git } = stack;
  try {
    const cache = await cacheDir(stack.dataDir);
    for (let i = 0; i < 20; i++) {
      const next = await repo.commitAndPush({ [`notes/${i}.txt`]: `push ${i}` }, `push ${i}`);
      assertEquals((await router.call("/refresh")).body, { revision: next, changed: true });
    }
    const serving = await repo.head();

    // A fetch cut off half-way leaves nothing behind.
    git.setFault("truncate-pack");
    await repo.commitAndPush({ "notes/cut.txt": "cut" }, "cut");
    assertEquals((await router.call("/refresh")).status, 502);
    git.setFault("none");
    assertEquals((await packFiles(cache)).filter((n) => !n.startsWith("pack-")), []);

    // Stopped, the router has finished pruning.
    assertEquals((await router.stop()).code, 0);
    const needed = (await git.git.run([
      "--git-dir",
      repo.bareDir,
      "rev-list",
      "--objects",
      "--no-walk",
      serving,
    ])).split("\n").length;
    const counted = await countObjects(git, cache);
    // Each push adds one small pack; once they pile up, one pack of the needed objects.
    assert(counted.packs <= 9, JSON.stringify(counted));
    assert(counted.inPack <= needed * 1.25 + 9 * 6, `${JSON.stringify(counted)}, ${needed} needed`);
    await git.git.run(["--git-dir", cache, "fsck", "--no-progress"]);
  } finally {
    await stack.close();
  }
});
