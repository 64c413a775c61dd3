/**
 * Push webhook latency: from a signed delivery sent to the moment a topic added by the pushed
 * commit can be published, for repositories of 10, 1,000 and 10,000 manifests, on the
 * loopback Git server and the Kubernetes API simulator, with the router as its own process
 * (`deno task start`). The `git push` itself happens before the clock starts.
 *
 * Run: `deno bench --allow-all bench/webhook_bench.ts` (or `deno task bench`).
 * @module
 */

import { configJson, ECHO_JOB, manyManifests } from "../tests/support/fixtures.ts";
import { GitServer, type TestRepo } from "../tests/support/git_server.ts";
import { KubeSim } from "../tests/support/kube_sim/mod.ts";
import { RouterProcess } from "../tests/support/router_process.ts";
import { deliveryHeaders, pushPayload } from "../tests/support/webhook_payloads.ts";

const SECRET = "bench-webhook-secret";
const SIZES = [10, 1_000, 10_000];

interface Setup {
  size: number;
  repo: TestRepo;
  router: RouterProcess;
  topics: Record<string, string[]>;
  /** Sync durations (ms) the router reported for each measured delivery. */
  syncMs: number[];
  /** Syncs the router ran for each delivery until its commit was live. */
  attempts: number[];
  pushes: number;
}

const git = await GitServer.start();
const kube = await KubeSim.start({ tls: true });
const work = await Deno.makeTempDir({ prefix: "gitfaas-bench-" });
await kube.writeKubeconfig(`${work}/kubeconfig`);

async function setUp(size: number): Promise<Setup> {
  const files = manyManifests(size);
  const topics: Record<string, string[]> = Object.fromEntries(
    (JSON.parse(files["config.json"]).topics as { name: string; configs: string[] }[])
      .map((t) => [t.name, t.configs]),
  );
  const repo = await git.createRepo(`pipelines-${size}`, { files });
  const router = await RouterProcess.start({
    GIT_URL: git.repoUrl(`pipelines-${size}`),
    GIT_USER_NAME: git.user,
    GIT_PERSONAL_TOKEN: git.token,
    KUBECONFIG: `${work}/kubeconfig`,
    DATA_DIR: `${work}/data-${size}`,
    GIT_POLL_INTERVAL: "3600",
    WEBHOOK_SECRET: SECRET,
    LOG_LEVEL: "info",
  });
  await router.waitFor(async () => (await router.call("/readyz")).status === 200, 120_000);
  return { size, repo, router, topics, syncMs: [], attempts: [], pushes: 0 };
}

const setups: Setup[] = [];
for (const size of SIZES) setups.push(await setUp(size));

/** Pushes a commit that adds one topic; returns its sha and topic name. */
async function pushNewTopic(setup: Setup): Promise<{ sha: string; topic: string }> {
  const topic = `bench-${++setup.pushes}`;
  const path = `bench/${topic}.yaml`;
  setup.topics[topic] = [path];
  const sha = await setup.repo.commitAndPush({
    "config.json": configJson(setup.topics),
    [path]: ECHO_JOB.replace("echo-{{RANDOM}}", `${topic}-{{RANDOM}}`),
  }, `add ${topic}`);
  return { sha, topic };
}

/** Publishes (dry run) until the topic exists; throws after 30 s. */
async function waitPublishable(setup: Setup, topic: string, sha: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { status, body } = await setup.router.call(`/publish/${topic}?dryRun=true`, {
      method: "POST",
      body: "x",
      headers: { "content-type": "text/plain" },
    });
    if (status === 202) {
      if (body.revision !== sha) throw new Error(`published ${body.revision}, pushed ${sha}`);
      return;
    }
    if (status !== 404) throw new Error(`publish answered ${status}: ${JSON.stringify(body)}`);
    if (Date.now() > deadline) throw new Error(`${topic} not publishable after 30 s`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

for (const setup of setups) {
  Deno.bench({
    name: `push delivery → new topic publishable, ${setup.size} manifests`,
    n: 5,
    warmup: 1,
    async fn(b) {
      const { sha, topic } = await pushNewTopic(setup);
      const body = JSON.stringify(
        pushPayload("github", { repoUrl: git.repoUrl(`pipelines-${setup.size}`), after: sha }),
      );
      const headers = await deliveryHeaders("github", body, { secret: SECRET });
      b.start();
      const answer = await setup.router.call("/webhook/git", { method: "POST", headers, body });
      if (answer.status !== 202) throw new Error(`delivery answered ${answer.status}`);
      await waitPublishable(setup, topic, sha);
      b.end();
      const status = (await setup.router.call("/status")).body;
      setup.syncMs.push(status.lastSync.durationMs);
      setup.attempts.push(status.webhook.lastPush.attempts);
    },
  });
}

let tornDown = false;

// Tear down after the last bench: a bench that measures nothing and prints what the router
// reported about its own syncs.
Deno.bench({
  name: "teardown (not a measurement)",
  n: 1,
  warmup: 0,
  async fn() {
    if (tornDown) return; // Deno.bench always runs a warmup call first
    tornDown = true;
    for (const setup of setups) {
      const runs = setup.syncMs.length;
      if (runs > 0) {
        const sorted = [...setup.syncMs].sort((a, b) => a - b);
        console.log(
          `${setup.size} manifests: router-reported sync durations (ms) over ${runs} deliveries: ` +
            `min ${sorted[0]}, median ${sorted[Math.floor(runs / 2)]}, max ${sorted[runs - 1]}; ` +
            `syncs per delivery: ${setup.attempts.join(", ")}`,
        );
      }
      await setup.router.stop();
    }
    await kube.close();
    await git.close();
    await Deno.remove(work, { recursive: true }).catch(() => undefined);
  },
});
