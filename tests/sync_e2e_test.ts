/**
 * End to end: syncing. New commits go live on /refresh; broken commits, refused credentials
 * and an unreachable server leave the last good index serving; a publish always renders the
 * templates of the revision it reports.
 */

import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { configJson, ECHO_JOB, jobEnv, startStack } from "./support/fixtures.ts";
import { RouterProcess } from "./support/router_process.ts";
import { GitServer } from "./support/git_server.ts";
import { KubeSim } from "./support/kube_sim/mod.ts";

const text = "text/plain";

Deno.test("new commits go live on refresh; bad ones never replace the good index", async (t) => {
  const stack = await startStack();
  const { router, repo, git } = stack;
  const publish = (topic: string) =>
    router.call(`/publish/${topic}`, {
      method: "POST",
      body: "x",
      headers: { "content-type": text },
    });
  try {
    const first = await repo.head();

    await t.step("refresh with nothing new answers changed: false", async () => {
      const { status, body } = await router.call("/refresh");
      assertEquals(status, 200);
      assertEquals(body, { revision: first, changed: false });
    });

    let second = "";
    await t.step("a pushed commit with a new topic is live after refresh", async () => {
      assertEquals((await publish("fresh")).status, 404);
      second = await repo.commitAndPush({
        "config.json": configJson({ echo: ["echo.yaml"], fresh: ["jobs/fresh.yaml"] }),
        "jobs/fresh.yaml": ECHO_JOB.replace("echo-{{RANDOM}}", "fresh-{{RANDOM}}"),
      }, "add a topic");
      const { status, body } = await router.call("/refresh", { method: "POST" });
      assertEquals(status, 200);
      assertEquals(body, { revision: second, changed: true });
      const published = await publish("fresh");
      assertEquals(published.status, 202, JSON.stringify(published.body));
      assertEquals(published.body.revision, second);
    });

    const brokenCases: [string, Record<string, string | null>, string][] = [
      ["a config that is not JSON", { "config.json": "{ not json" }, "config.json: not valid JSON"],
      [
        "config naming a missing file",
        { "config.json": configJson({ echo: ["echo.yaml", "gone.yaml"] }) },
        "config.json: topics[0].configs[1]: gone.yaml does not exist",
      ],
      [
        "a manifest with invalid YAML",
        { "echo.yaml": "apiVersion: v1\nkind: [\n" },
        "echo.yaml: line",
      ],
    ];
    for (const [name, files, problem] of brokenCases) {
      await t.step(`${name} is refused and the old index keeps serving`, async () => {
        const broken = await repo.commitAndPush(files, name);
        const { status, body } = await router.call("/refresh");
        assertEquals(status, 422, JSON.stringify(body));
        assertEquals(body.revision, broken);
        assert(
          body.problems.some((p: string) => p.includes(problem)),
          JSON.stringify(body.problems),
        );
        const published = await publish("fresh");
        assertEquals(published.status, 202);
        assertEquals(published.body.revision, second);
        const statusPage = (await router.call("/status")).body;
        assertEquals(statusPage.revision, second);
        assertEquals(statusPage.lastSync.outcome, "failed");
        assertEquals(statusPage.lastSync.revision, broken);
        assertStringIncludes(statusPage.lastSync.error, problem);
        assertEquals((await router.call("/readyz")).status, 200);
        // Repair for the next case.
        await repo.resetHard(second);
        await repo.push({ force: true });
        assertEquals((await router.call("/refresh")).body, { revision: second, changed: false });
      });
    }

    for (const fault of ["unauthorized", "down"] as const) {
      await t.step(`a Git server that is ${fault} leaves the last index serving`, async () => {
        git.setFault(fault);
        const { status, body } = await router.call("/refresh");
        assertEquals(status, 502, JSON.stringify(body));
        assertEquals(body.kind, fault === "down" ? "unreachable" : "auth");
        assertEquals((await publish("fresh")).status, 202);
        const statusPage = (await router.call("/status")).body;
        assertEquals(statusPage.revision, second);
        assertEquals(statusPage.lastSync.outcome, "failed");
        assertEquals(statusPage.lastSync.error.includes(git.token), false);
        git.setFault("none");
        const third = await repo.commitAndPush({ "note.txt": fault }, "after the fault");
        assertEquals((await router.call("/refresh")).body, { revision: third, changed: true });
        second = third;
      });
    }
  } finally {
    await stack.close();
  }
});

Deno.test("concurrent refreshes coalesce into at most one follow-up sync", async () => {
  const stack = await startStack();
  try {
    const next = await stack.repo.commitAndPush({ "note.txt": "1" }, "one");
    const before = stack.git.requests.length;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => stack.router.call("/refresh")),
    );
    for (const answer of answers) {
      assertEquals(answer.status, 200);
      assertEquals(answer.body.revision, next);
    }
    // One running sync and one follow-up: at most two ref checks and one fetch (2 requests).
    const infoRefs = stack.git.requests.slice(before).filter((r) =>
      r.path.endsWith("/info/refs") && r.query === "service=git-upload-pack"
    );
    assert(infoRefs.length <= 3, `expected at most 3 ref requests, saw ${infoRefs.length}`);
  } finally {
    await stack.close();
  }
});

Deno.test("a router that cannot reach Git at start is alive, not ready, and says why", async () => {
  const git = await GitServer.start();
  const kube = await KubeSim.start();
  await git.createRepo("pipelines", {
    files: { "config.json": configJson({ echo: ["echo.yaml"] }), "echo.yaml": ECHO_JOB },
  });
  const dir = await Deno.makeTempDir();
  await kube.writeKubeconfig(`${dir}/kubeconfig`);
  const router = await RouterProcess.start({
    GIT_URL: git.repoUrl("pipelines"),
    GIT_USER_NAME: git.user,
    GIT_PERSONAL_TOKEN: "wrong-token",
    KUBECONFIG: `${dir}/kubeconfig`,
    DATA_DIR: `${dir}/data`,
  });
  try {
    await router.waitFor(async () => (await router.call("/status")).body.lastSync !== null);
    assertEquals((await router.call("/healthz")).status, 200);
    assertEquals((await router.call("/readyz")).status, 503);
    const published = await router.call("/publish/echo", { method: "POST", body: "x" });
    assertEquals(published.status, 503);
    assertStringIncludes(published.body.error, "no topic index");
    const status = (await router.call("/status")).body;
    assertEquals(status.revision, null);
    assertStringIncludes(status.lastSync.error, "refused the credentials");
    assertEquals(router.output.includes("wrong-token"), false);
  } finally {
    await router.stop();
    await kube.close();
    await git.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every publish renders the templates of the revision it reports", async () => {
  const variant = (name: string) =>
    ECHO_JOB.replace(
      "name: echo-{{RANDOM}}",
      `name: echo-{{RANDOM}}\n  annotations: {variant: ${name}}`,
    );
  const stack = await startStack({
    files: { "config.json": configJson({ echo: ["echo.yaml"] }), "echo.yaml": variant("a") },
  });
  const { router, repo, kube } = stack;
  try {
    const a = await repo.head();
    const b = await repo.commitAndPush({ "echo.yaml": variant("b") }, "variant b");
    const expected: Record<string, string> = { [a]: "a", [b]: "b" };

    const publish = async (body: string) => {
      const answer = await router.call("/publish/echo", { method: "POST", body });
      assertEquals(answer.status, 202, JSON.stringify(answer.body));
      return answer.body;
    };
    // Publishes run for as long as the syncs do, however slow either is on a busy machine. Each
    // sync is also followed by a publish of its own, sent before the next sync starts, so both
    // revisions are published to whatever the timing.
    const reports: { revision: string; objects: { name: string }[]; requestUuid: string }[] = [];
    let syncing = true;
    const syncs = (async () => {
      try {
        for (let i = 0; i < 20; i++) {
          const revision = i % 2 === 0 ? b : a;
          await repo.resetHard(revision);
          await repo.push({ force: true });
          const { status, body } = await router.call("/refresh");
          assertEquals([status, body.revision], [200, revision]);
          const report = await publish(`after sync ${i}`);
          assertEquals(report.revision, revision);
          reports.push(report);
        }
      } finally {
        syncing = false;
      }
    })();
    let sent = 0;
    const publishers = Array.from({ length: 4 }, async () => {
      while (syncing) reports.push(await publish(`${sent++}`));
    });
    // Settled, not raced: a failure is reported once every publisher and the syncs have stopped.
    for (const outcome of await Promise.allSettled([syncs, ...publishers])) {
      if (outcome.status === "rejected") throw outcome.reason;
    }
    for (const report of reports) {
      const job = kube.getObject("batch/v1", "Job", "default", report.objects[0].name)!;
      assertEquals(job.metadata.annotations.variant, expected[report.revision]);
      assertEquals(jobEnv(job, "REQUEST_UUID"), report.requestUuid);
    }
  } finally {
    await stack.close();
  }
});
