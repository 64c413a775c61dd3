/**
 * Reliability against a failing Git server: down, refusing credentials, hanging, a force-push,
 * a deleted branch and a truncated pack. The last good index keeps serving throughout, /status
 * says what is wrong, the poller backs off and recovers by itself, and the clone cache in
 * DATA_DIR survives every failure: a restart serves from it without fetching, even while the Git
 * server is down.
 */

import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { configJson, ECHO_JOB, startStack } from "./support/fixtures.ts";
import type { GitRequest, GitServer, TestRepo } from "./support/git_server.ts";
import { RouterProcess } from "./support/router_process.ts";

const text = { "content-type": "text/plain" };

/** A Job template whose annotation tells which commit rendered it. */
function echoJob(variant: string): string {
  return ECHO_JOB.replace(
    "name: echo-{{RANDOM}}",
    `name: echo-{{RANDOM}}\n  annotations: {variant: "${variant}"}`,
  );
}

const FILES = { "config.json": configJson({ echo: ["echo.yaml"] }), "echo.yaml": echoJob("a") };

/** Commits `files` and puts the commit on the server's branch without going through HTTP. */
async function pushBehindTheServer(repo: TestRepo, files: Record<string, string>) {
  await repo.write(files);
  const sha = await repo.commit("pushed while the server was unreachable to us");
  await repo.git("push", "--quiet", repo.bareDir, `HEAD:refs/heads/${repo.branch}`);
  return sha;
}

const refRequests = (requests: GitRequest[]) =>
  requests.filter((r) => r.path.endsWith("/info/refs") && r.query === "service=git-upload-pack");
/** Requests for a pack (not ref listings, which protocol v2 also POSTs to git-upload-pack). */
const packRequests = (requests: GitRequest[]) =>
  requests.filter((r) =>
    r.method === "POST" && r.path.endsWith("/git-upload-pack") && r.command === "fetch"
  );

async function sleep(ms: number) {
  await new Promise((r) => setTimeout(r, ms));
}

Deno.test("Git down, refusing credentials or hanging: the last index serves, /status says why, the poller recovers by itself", async (t) => {
  const stack = await startStack({
    files: FILES,
    env: { GIT_POLL_INTERVAL: "1", GIT_TIMEOUT: "1" },
  });
  const { router, repo, git, kube } = stack;
  const status = async () => (await router.call("/status")).body;
  const publish = () => router.call("/publish/echo", { method: "POST", body: "x", headers: text });
  try {
    let serving = await repo.head();
    const cases = [
      ["down", "cannot reach the Git server"],
      ["unauthorized", "refused the credentials"],
      ["forbidden", "refused the credentials"],
      ["hang", "did not answer in time"],
    ] as const;
    for (const [fault, message] of cases) {
      await t.step(
        `${fault}: the last index serves and the poller picks up a commit pushed meanwhile`,
        async () => {
          git.setFault(fault);
          await git.settled();
          const next = await pushBehindTheServer(repo, { "echo.yaml": echoJob(fault) });

          await router.waitFor(async () => {
            const s = await status();
            return s.lastSync?.outcome === "failed" && s.lastSync.error.includes(message);
          });
          const during = await status();
          assertEquals(during.revision, serving);
          assert(during.consecutiveFailures >= 1);
          assertEquals(during.lastSync.error.includes(git.token), false);
          const ready = await router.call("/readyz");
          assertEquals([ready.status, ready.body.revision], [200, serving]);
          const published = await publish();
          assertEquals(published.status, 202, JSON.stringify(published.body));
          assertEquals(published.body.revision, serving);

          // The poller retries at most once a second (the poll interval caps the backoff).
          const from = git.requests.length;
          await sleep(3000);
          const tries = refRequests(git.requests.slice(from)).length;
          assert(tries <= 4, `${tries} ref requests in 3 s`);
          assertEquals(packRequests(git.requests.slice(from)).length, 0);

          git.setFault("none");
          await git.settled();
          await router.waitFor(async () => (await status()).revision === next, 10_000);
          const after = await status();
          assertEquals(after.consecutiveFailures, 0);
          assertEquals(after.lastSync.outcome, "changed");
          const fresh = await publish();
          assertEquals(fresh.status, 202, JSON.stringify(fresh.body));
          assertEquals(fresh.body.revision, next);
          const job = kube.getObject("batch/v1", "Job", "default", fresh.body.objects[0].name)!;
          assertEquals(job.metadata.annotations.variant, fault);
          serving = next;
        },
      );
    }
  } finally {
    await stack.close();
  }
});

Deno.test("force-push, deleted branch, truncated pack: followed or survived, and the cache stays sound", async (t) => {
  const stack = await startStack({ files: FILES });
  const { router, repo, git, kube } = stack;
  const publish = async () => {
    const answer = await router.call("/publish/echo", { method: "POST", body: "x", headers: text });
    assertEquals(answer.status, 202, JSON.stringify(answer.body));
    const job = kube.getObject("batch/v1", "Job", "default", answer.body.objects[0].name)!;
    return { revision: answer.body.revision, variant: job.metadata.annotations.variant };
  };
  try {
    const first = await repo.head();

    await t.step("a force-push back to an older commit is followed, from the cache", async () => {
      const second = await repo.commitAndPush({ "echo.yaml": echoJob("b") }, "b");
      assertEquals((await router.call("/refresh")).body, { revision: second, changed: true });
      assertEquals(await publish(), { revision: second, variant: "b" });
      await repo.resetHard(first);
      await repo.push({ force: true });
      const from = git.requests.length;
      assertEquals((await router.call("/refresh")).body, { revision: first, changed: true });
      assertEquals(packRequests(git.requests.slice(from)).length, 0, "no fetch: it is cached");
      assertEquals(await publish(), { revision: first, variant: "a" });
    });

    await t.step("a deleted branch keeps the last index serving and says so", async () => {
      // A bare repository refuses to delete its HEAD branch unless told otherwise.
      await git.git.run(["config", "receive.denyDeleteCurrent", "ignore"], { cwd: repo.bareDir });
      await repo.deleteRemoteBranch(repo.branch);
      const refresh = await router.call("/refresh");
      assertEquals(refresh.status, 502, JSON.stringify(refresh.body));
      assertEquals(refresh.body.kind, "not-found");
      assertStringIncludes(refresh.body.error, `branch "${repo.branch}" does not exist`);
      const status = (await router.call("/status")).body;
      assertEquals(status.revision, first);
      assertEquals(status.lastSync.outcome, "failed");
      assertStringIncludes(status.lastSync.error, "does not exist");
      assertEquals((await router.call("/readyz")).status, 200);
      assertEquals(await publish(), { revision: first, variant: "a" });
      await repo.push();
      assertEquals((await router.call("/refresh")).body, { revision: first, changed: false });
    });

    await t.step("a truncated pack fails the sync cleanly; the next sync succeeds", async () => {
      const third = await repo.commitAndPush({ "echo.yaml": echoJob("c") }, "c");
      git.setFault("truncate-pack");
      const from = git.requests.length;
      const refresh = await router.call("/refresh");
      assertEquals(refresh.status, 502, JSON.stringify(refresh.body));
      assert(packRequests(git.requests.slice(from)).length >= 1, "the pack was asked for");
      const status = (await router.call("/status")).body;
      assertEquals([status.revision, status.lastSync.outcome], [first, "failed"]);
      assertEquals(await publish(), { revision: first, variant: "a" });

      git.setFault("none");
      assertEquals((await router.call("/refresh")).body, { revision: third, changed: true });
      assertEquals(await publish(), { revision: third, variant: "c" });
      // Stopped, the router has finished any work on the cache.
      assertEquals((await router.stop()).code, 0);
      await fsck(git, stack.dataDir);
    });
  } finally {
    await stack.close();
  }
});

Deno.test("a restart with a warm DATA_DIR serves without fetching, and serves the cached revision while Git is down", async (t) => {
  const stack = await startStack({ files: FILES });
  const { repo, git } = stack;
  const env = { ...stack.env, GIT_TIMEOUT: "2" };
  const routers: RouterProcess[] = [];
  const restart = async () => {
    const router = await RouterProcess.start(env);
    routers.push(router);
    await router.waitFor(async () => (await router.call("/readyz")).status === 200);
    return router;
  };
  try {
    const head = await repo.head();
    // The first start was cold: it fetched the pack.
    assert(packRequests(git.requests).length >= 1);
    assertEquals((await stack.router.stop()).code, 0);

    await t.step("Git up: one ref request, no pack fetched", async () => {
      git.requests.length = 0;
      const router = await restart();
      assertEquals((await router.call("/readyz")).body.revision, head);
      assertEquals(refRequests(git.requests).length, 1, JSON.stringify(git.requests));
      assertEquals(packRequests(git.requests).length, 0, JSON.stringify(git.requests));
      const published = await router.call("/publish/echo", { method: "POST", body: "warm" });
      assertEquals([published.status, published.body.revision], [202, head]);
      assertEquals((await router.stop()).code, 0);
    });

    await t.step("Git down: ready with the cached revision", async () => {
      git.setFault("down");
      await git.settled();
      const router = await restart();
      assertEquals((await router.call("/readyz")).body.revision, head);
      const published = await router.call("/publish/echo", { method: "POST", body: "cold" });
      assertEquals([published.status, published.body.revision], [202, head]);
      // Serving, and saying that Git could not be reached.
      const status = (await router.call("/status")).body;
      assertEquals([status.revision, status.topics, status.lastSync.outcome], [head, 1, "failed"]);
      assertStringIncludes(status.lastSync.error, "cannot reach the Git server");
      assert(status.consecutiveFailures >= 1);
      git.setFault("none");
      await git.settled();
      // When Git is back, the poller (retrying soon, as after any failure) finds it by itself.
      await router.waitFor(async () => {
        const s = (await router.call("/status")).body;
        return s.consecutiveFailures === 0 && s.lastSync.outcome === "unchanged";
      }, 10_000);
      assertEquals((await router.call("/refresh")).body, { revision: head, changed: false });
      assertEquals((await router.stop()).code, 0);
    });
  } finally {
    for (const router of routers) await router.stop();
    await stack.close();
  }
});

/** Runs `git fsck` on every clone cache in `dataDir`. */
async function fsck(git: GitServer, dataDir: string): Promise<void> {
  let caches = 0;
  for await (const entry of Deno.readDir(dataDir)) {
    if (!entry.isDirectory || !entry.name.endsWith(".git")) continue;
    caches++;
    await git.git.run(["--git-dir", `${dataDir}/${entry.name}`, "fsck", "--no-progress"]);
  }
  assertEquals(caches, 1);
}
