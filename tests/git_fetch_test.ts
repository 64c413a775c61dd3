/**
 * What syncing downloads. A poll asks for the followed branch only, however many refs the
 * server holds (issue 14, item 13: protocol v2 `ls-refs` with a ref prefix; a protocol v0
 * server still works). A fetch after a push downloads what changed, not the whole tree
 * (issue 19), and a force-push is followed whether or not the server still knows the commit
 * served before.
 */

import { assert, assertEquals } from "./support/assert.ts";
import { manyManifests, startStack } from "./support/fixtures.ts";
import type { GitRequest, TestRepo } from "./support/git_server.ts";

const sent = (requests: GitRequest[]) => requests.reduce((n, r) => n + r.bytes, 0);
const fetches = (requests: GitRequest[]) => requests.filter((r) => r.command === "fetch");

/** Gives the served repository `count` more refs, as a busy forge has (pull requests). */
async function addRefs(repo: TestRepo, count: number) {
  const head = await repo.head();
  const lines = ["# pack-refs with: peeled fully-peeled sorted"];
  for (let i = 0; i < count; i++) {
    lines.push(`${head} refs/pull/${String(i).padStart(6, "0")}/head`);
  }
  await Deno.writeTextFile(`${repo.bareDir}/packed-refs`, lines.join("\n") + "\n");
}

Deno.test("a poll downloads the followed branch only, with 20,000 refs on the server", async () => {
  const stack = await startStack();
  const { router, repo, git } = stack;
  try {
    await addRefs(repo, 20_000);
    const head = await repo.head();
    const from = git.requests.length;
    assertEquals((await router.call("/refresh")).body, { revision: head, changed: false });
    const poll = git.requests.slice(from);
    assert(sent(poll) < 1_000, `a poll downloaded ${sent(poll)} bytes`);
    assertEquals(poll.map((r) => r.command), ["ls-refs"], JSON.stringify(poll));

    // A restart asks the server what it speaks first: still small.
    assertEquals((await router.stop()).code, 0);
    const before = git.requests.length;
    const { RouterProcess } = await import("./support/router_process.ts");
    const again = await RouterProcess.start(stack.env);
    try {
      await again.waitFor(async () => (await again.call("/readyz")).status === 200);
      const start = git.requests.slice(before);
      assert(sent(start) < 2_000, `a restart downloaded ${sent(start)} bytes`);
    } finally {
      await again.stop();
    }
  } finally {
    await stack.close();
  }
});

Deno.test("a protocol v0 server is followed too (its ref listing holds every ref)", async () => {
  const stack = await startStack({
    git: { protocolV2: false },
    files: manyManifests(100),
  });
  const { router, repo, git } = stack;
  try {
    const first = fetches(git.requests);
    assertEquals(first.length, 1);
    await addRefs(repo, 2_000);
    const next = await repo.commitAndPush({ "jobs/0/job-0.yaml": "kind: ConfigMap\n" }, "one");
    const from = git.requests.length;
    assertEquals((await router.call("/refresh")).body.revision, next);
    const sync = git.requests.slice(from);
    assertEquals(sync.map((r) => r.command), [undefined, undefined, "fetch"]);
    // The listing is large on v0, but the pack holds only what changed.
    assert(sent(fetches(sync)) < first[0].bytes / 5, `${sent(fetches(sync))} of ${first[0].bytes}`);
  } finally {
    await stack.close();
  }
});

Deno.test("a fetch after a push downloads what changed; force-pushes are followed", async (t) => {
  const stack = await startStack({ files: manyManifests(300) });
  const { router, repo, git } = stack;
  const text = { "content-type": "text/plain" };
  const publishedName = async (topic: string) => {
    const answer = await router.call(`/publish/${topic}?dryRun=true`, {
      method: "POST",
      body: "x",
      headers: text,
    });
    assertEquals(answer.status, 202, JSON.stringify(answer.body));
    return { revision: answer.body.revision, name: answer.body.objects[0].name as string };
  };
  try {
    const [cold] = fetches(git.requests);

    await t.step("a one-file change: a few hundred bytes, not the whole tree", async () => {
      const job = "jobs/1/job-150.yaml";
      const changed = (await Deno.readTextFile(`${repo.workDir}/${job}`))
        .replace("job-150-{{RANDOM}}", "changed-{{RANDOM}}");
      const next = await repo.commitAndPush({ [job]: changed }, "one file");
      const from = git.requests.length;
      assertEquals((await router.call("/refresh")).body, { revision: next, changed: true });
      const [fetch] = fetches(git.requests.slice(from));
      assert(fetch.bytes < 2_000, `${fetch.bytes} bytes after a push (cold: ${cold.bytes})`);
      const published = await publishedName("t150");
      assertEquals(published.revision, next);
      assert(published.name.startsWith("changed-"), published.name);
    });

    await t.step("a rewritten last commit (force-push): only what it does not share", async () => {
      await repo.resetHard("HEAD~1");
      const job = "jobs/2/job-250.yaml";
      const changed = (await Deno.readTextFile(`${repo.workDir}/${job}`))
        .replace("job-250-{{RANDOM}}", "rewritten-{{RANDOM}}");
      await repo.write({ [job]: changed });
      const rewritten = await repo.commit("rewritten");
      await repo.push({ force: true });
      const from = git.requests.length;
      assertEquals((await router.call("/refresh")).body, { revision: rewritten, changed: true });
      const [fetch] = fetches(git.requests.slice(from));
      assert(fetch.bytes < 2_000, `${fetch.bytes} bytes after a force-push`);
      assert((await publishedName("t250")).name.startsWith("rewritten-"));
      assert((await publishedName("t150")).name.startsWith("job-150-"));
    });

    await t.step(
      "a new history the server alone has: a shallow fetch of the whole tree",
      async () => {
        await repo.git("checkout", "--quiet", "--orphan", "fresh");
        const job = "jobs/0/job-5.yaml";
        const changed = (await Deno.readTextFile(`${repo.workDir}/${job}`))
          .replace("job-5-{{RANDOM}}", "fresh-{{RANDOM}}");
        await repo.write({ [job]: changed });
        const fresh = await repo.commit("a new root");
        await repo.push({ force: true });
        // The server forgets every commit the router knows, so none can be named as held.
        await git.git.run(["reflog", "expire", "--expire=now", "--all"], { cwd: repo.bareDir });
        await git.git.run(["gc", "--quiet", "--prune=now"], { cwd: repo.bareDir });
        const from = git.requests.length;
        assertEquals((await router.call("/refresh")).body, { revision: fresh, changed: true });
        const [fetch] = fetches(git.requests.slice(from));
        assert(fetch.bytes > cold.bytes / 2, `${fetch.bytes} bytes, ${cold.bytes} cold`);
        assert((await publishedName("t5")).name.startsWith("fresh-"));
        // The new root was made from the rewritten commit's files.
        assert((await publishedName("t250")).name.startsWith("rewritten-"));
      },
    );
  } finally {
    await stack.close();
  }
});
