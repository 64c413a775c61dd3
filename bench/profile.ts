/**
 * CPU profiles of the router, to see where its time goes before optimising.
 *
 * - `publish [topic] [callers] [seconds] [--http]`: the router runs as `deno task start` does,
 *   plus `--cpu-prof`, against the simulator process (over HTTPS through its TLS front, or
 *   over plain HTTP with `--http`), under the publish load of the benchmark, the load
 *   generator in its own process (default: topic `job`, 16 callers, 5 s); it is stopped with
 *   SIGTERM, which writes the profile. Only the samples from the first publish to the last
 *   count, so start-up is left out.
 * - `build [manifests]`: the index build from a warm cache (`sync_child.ts warm`) under
 *   `--cpu-prof` (default 1,000 manifests).
 *
 * Prints, for the busy share of the profile (idle samples left out): the time per bucket (router
 * code by folder, the `node:http` server, the `fetch` client, the runtime, GC, native work;
 * `bucketOf` in `cpuprofile_top.ts`) and the top functions by self time, each as a share of the
 * busy time and in µs per publish; the router's CPU per publish from `/proc` over the same load;
 * then the profile's path.
 * Run: `deno run -A bench/profile.ts publish|build ...`.
 * @module
 */

import { startTreeRouter } from "./lib/tree_router.ts";
import { GitServer } from "../tests/support/git_server.ts";
import { busyProfile, busyReport, type CpuProfile, windowOf } from "./cpuprofile_top.ts";
import { BenchChild } from "./lib/child.ts";
import type { BenchContext } from "./lib/context.ts";
import { routerEnv } from "./lib/context.ts";
import type { LoadOptions, LoadResult } from "./lib/load.ts";
import { cpuMsOf } from "./lib/proc.ts";
import { FILES, PUBLISH } from "./lib/templates.ts";
import { manyManifestsRepo } from "./sync.ts";

const flags = Deno.args.filter((arg) => arg.startsWith("--"));
const [what = "publish", ...rest] = Deno.args.filter((arg) => !arg.startsWith("--"));
const http = flags.includes("--http");
const work = await Deno.makeTempDir({ prefix: "gitfaas-profile-" });
const profiles = `${work}/profiles`;
const git = await GitServer.start();
const context: BenchContext = {
  git,
  sim: undefined as unknown as BenchChild,
  work,
  quick: false,
  progress: (message) => console.error(message),
};

try {
  let load: { requests: number; cpuUsPerRequest: number } | undefined;
  if (what === "publish") {
    load = await profilePublish(rest[0] ?? "job", Number(rest[1] ?? 16), Number(rest[2] ?? 5));
  } else if (what === "build") await profileBuild(Number(rest[0] ?? 1000));
  else throw new Error(`usage: profile.ts publish|build, got ${what}`);
  // The main thread's profile: workers (the kubeconfig login, the template compiler) write
  // their own `*.worker-N.cpuprofile` files next to it.
  const [file] = [...Deno.readDirSync(profiles)].filter((e) =>
    e.name.endsWith(".cpuprofile") && !e.name.includes(".worker-")
  );
  const path = `${profiles}/${file.name}`;
  const profile = JSON.parse(await Deno.readTextFile(path)) as CpuProfile;
  // A publish profile counts from the first publish to the last: not the start-up.
  const window = what === "publish" ? windowOf(profile, "src/http/routes/publish.ts") : undefined;
  console.log(`\n${busyReport(busyProfile(profile, window), load)}`);
  console.log(`\nprofile: ${path} (bench/cpuprofile_top.ts reads it)`);
} finally {
  await git.close();
}

async function profilePublish(
  topic: string,
  concurrency: number,
  seconds: number,
): Promise<{ requests: number; cpuUsPerRequest: number }> {
  const sim = await BenchChild.start("sim_server.ts", [work]);
  context.sim = sim;
  await git.createRepo("publish", { files: FILES });
  const router = await startTreeRouter({
    denoFlags: ["--cpu-prof", `--cpu-prof-dir=${profiles}`],
    env: {
      ...routerEnv(context, "publish", `${work}/data`),
      ...(http ? { KUBECONFIG: String(sim.ready.httpKubeconfig) } : {}),
    },
  });
  const url = router.origin;
  const load = await BenchChild.start("load_child.ts");
  const options: LoadOptions = {
    url: `${url}/publish/${topic}${PUBLISH.query}`,
    body: PUBLISH.body,
    headers: PUBLISH.headers,
    concurrency,
    durationMs: seconds * 1000,
    maxRequests: 1_000_000,
    warmupMs: 500,
  };
  const cpuBefore = cpuMsOf(router.pid);
  const result = await load.command(JSON.stringify(options), seconds * 1000 + 60_000) as unknown as
    & LoadResult
    & { error?: string };
  const cpuMs = cpuMsOf(router.pid) - cpuBefore;
  await load.stop();
  if (result.error) throw new Error(`the load generator failed: ${result.error}`);
  console.log(
    `${topic}, ${concurrency} callers, ${http ? "HTTP" : "HTTPS"} to the API server: ` +
      `${result.perSecond}/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ` +
      `${result.errors} errors; router CPU (/proc, all threads) ` +
      `${(cpuMs / result.answered).toFixed(3)} ms per publish over ${result.answered} publishes`,
  );
  // SIGTERM: the router writes its profile as it stops.
  await router.stop();
  await sim.stop();
  return { requests: result.answered, cpuUsPerRequest: (1000 * cpuMs) / result.answered };
}

async function profileBuild(size: number) {
  const repo = await manyManifestsRepo(context, size);
  const env = {
    GIT_URL: git.repoUrl(repo),
    GIT_USER_NAME: git.user,
    GIT_PERSONAL_TOKEN: git.token,
  };
  const dir = `${work}/cache`;
  const cold = await BenchChild.start("sync_child.ts", ["cold", dir], { env, timeoutMs: 180_000 });
  await cold.finished();
  const warm = await BenchChild.start("sync_child.ts", ["warm", dir], {
    env,
    timeoutMs: 180_000,
    denoFlags: ["--cpu-prof", `--cpu-prof-dir=${profiles}`],
  });
  await warm.finished();
  console.log(JSON.stringify(warm.ready));
}
