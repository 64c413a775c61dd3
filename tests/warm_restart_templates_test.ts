// deno-lint-ignore-file no-explicit-any -- Kubernetes objects from the simulator
/**
 * A restart with a warm DATA_DIR takes the compiled templates kept there instead of parsing every
 * manifest again, and what it applies is the same as what a fresh compile applies. A push after
 * the restart compiles only the changed file.
 */

import { assert, assertEquals } from "./support/assert.ts";
import { ECHO_JOB, manyManifests, startStack } from "./support/fixtures.ts";
import { RouterProcess } from "./support/router_process.ts";

const MANIFESTS = 40;

/** The templates counts of the router's "topic index updated" log lines, in order. */
function builds(router: RouterProcess) {
  return router.logs().filter((l) => l.message === "topic index updated").map((l) => ({
    compiled: l.templatesCompiled,
    reused: l.templatesReused,
  }));
}

Deno.test("a warm restart reuses compiled templates from DATA_DIR and applies the same objects", async () => {
  const stack = await startStack({ files: manyManifests(MANIFESTS) });
  const { kube, repo } = stack;
  const publish = (router: RouterProcess, topic: string, key: string) =>
    router.call(`/publish/${topic}?replicas=2`, {
      method: "POST",
      body: "hello",
      headers: { "content-type": "text/plain", "idempotency-key": key },
    });
  let restarted: RouterProcess | undefined;
  try {
    assertEquals(builds(stack.router), [{ compiled: MANIFESTS, reused: 0 }]);
    const first = await publish(stack.router, "t7", "before");
    assertEquals(first.status, 202, JSON.stringify(first.body));
    assertEquals((await stack.router.stop()).code, 0);
    const kept = [...Deno.readDirSync(stack.dataDir)].flatMap((cache) =>
      [...Deno.readDirSync(`${stack.dataDir}/${cache.name}`)].map((e) => e.name)
    );
    assert(kept.includes("gitfaas-templates.json"), kept.join(", "));

    restarted = await RouterProcess.start(stack.env);
    await restarted.waitFor(async () => (await restarted!.call("/readyz")).status === 200);
    assertEquals(builds(restarted), [{ compiled: 0, reused: MANIFESTS }]);
    const second = await publish(restarted, "t7", "after");
    assertEquals(second.status, 202, JSON.stringify(second.body));

    // The same template, rendered once from a fresh compile and once from DATA_DIR.
    const jobs = kube.objects({ kind: "Job" });
    assertEquals(jobs.length, 2);
    const comparable = (job: Record<string, any>) => ({
      spec: { ...job.spec, template: { ...job.spec.template, metadata: undefined } },
      namePrefix: job.metadata.name.replace(/-[^-]+$/, ""),
    });
    const [a, b] = jobs.map(comparable);
    assertEquals(a.namePrefix, "job-7");
    assertEquals(a.spec.parallelism, 2);
    const envOf = (spec: any) =>
      spec.template.spec.containers[0].env.filter((e: any) => !/UUID|UID/.test(e.name));
    assertEquals(envOf(a.spec), envOf(b.spec));
    assertEquals(a.spec.backoffLimit, b.spec.backoffLimit);

    // A push after the restart compiles the changed file only.
    await repo.commitAndPush({
      "jobs/0/job-3.yaml": ECHO_JOB.replace("echo-{{RANDOM}}", "changed-{{RANDOM}}"),
    });
    assertEquals((await restarted.call("/refresh")).status, 200);
    assertEquals(builds(restarted).at(-1), { compiled: 1, reused: MANIFESTS - 1 });
  } finally {
    await restarted?.stop();
    await stack.close();
  }
});
