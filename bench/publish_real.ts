/**
 * Publish against the real API server, next to the simulator, in one run: the same router
 * command, repository and load (topic `job`, one Job per publish) sent to a router applying to
 * the simulator (`sim_server.ts`, behind TLS) and to one applying to the test control plane
 * (`tests/support/cluster/`: kube-apiserver with etcd, and the Job controller, scheduler and
 * kwok running every Job the publishes create, all on the same cores).
 *
 * Run: `deno run -A bench/publish_real.ts [--quick]`. Builds the control plane first if its
 * cache is empty (see README, "A real cluster on your machine").
 * @module
 */

import { startCluster } from "../tests/support/cluster/control_plane.ts";
import { createNamespace, deleteNamespace } from "../tests/support/cluster/testing.ts";
import { GitServer } from "../tests/support/git_server.ts";
import { RouterProcess } from "../tests/support/router_process.ts";
import { BenchChild } from "./lib/child.ts";
import { type LoadResult, runLoad } from "./lib/load.ts";
import { FILES, PUBLISH } from "./lib/templates.ts";

const quick = Deno.args.includes("--quick");
const CONCURRENCY = [1, 16];
const progress = (line: string) => console.error(line);

const work = await Deno.makeTempDir({ prefix: "gitfaas-bench-real-" });
const cluster = await startCluster({ progress });
const sim = await BenchChild.start("sim_server.ts", [work]);
const git = await GitServer.start();
const routers: RouterProcess[] = [];
const rows: { target: string; result: LoadResult }[] = [];
try {
  await git.createRepo("publish", { files: FILES });
  const namespace = await createNamespace(cluster, "bench");
  const env = (kubeconfig: string, dataDir: string, namespace: string) => ({
    GIT_URL: git.repoUrl("publish"),
    GIT_USER_NAME: git.user,
    GIT_PERSONAL_TOKEN: git.token,
    KUBECONFIG: kubeconfig,
    NAMESPACE: namespace,
    DATA_DIR: `${work}/${dataDir}`,
    GIT_POLL_INTERVAL: "3600",
    LOG_LEVEL: "info",
  });
  const targets: [string, RouterProcess][] = [];
  for (
    const [target, kubeconfig, jobsNamespace] of [
      ["simulator", String(sim.ready.kubeconfig), "default"],
      [`kube-apiserver ${cluster.version}`, cluster.kubeconfigPath, namespace],
    ]
  ) {
    const router = await RouterProcess.start(
      env(kubeconfig, target.split(" ")[0], jobsNamespace),
    );
    routers.push(router);
    await router.waitFor(async () => (await router.call("/readyz")).status === 200, 60_000);
    targets.push([target, router]);
  }
  for (const concurrency of CONCURRENCY) {
    for (const [target, router] of targets) {
      const result = await runLoad({
        url: `${router.url}/publish/job${PUBLISH.query}`,
        body: PUBLISH.body,
        headers: PUBLISH.headers,
        concurrency,
        warmupMs: quick ? 200 : 1000,
        durationMs: quick ? 1000 : 5000,
        maxRequests: 50_000,
      });
      rows.push({ target, result });
      progress(
        `${target}, ${concurrency} callers: ${result.perSecond}/s, p50 ${result.p50Ms} ms, ` +
          `p99 ${result.p99Ms} ms` + (result.errors ? `, ${result.errors} errors` : ""),
      );
    }
  }
  await deleteNamespace(cluster, namespace);
} finally {
  await Promise.all(routers.map((router) => router.stop()));
  await sim.stop();
  await git.close();
  await cluster.stop();
  await Deno.remove(work, { recursive: true }).catch(() => undefined);
}

console.log("| API server | callers | publishes /s | p50 / p99 ms | errors |");
console.log("| --- | --- | --- | --- | --- |");
for (const { target, result } of rows) {
  console.log(
    `| ${target} | ${result.concurrency} | ${result.perSecond} | ${result.p50Ms} / ` +
      `${result.p99Ms} | ${result.errors} |`,
  );
}
