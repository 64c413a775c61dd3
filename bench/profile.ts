/**
 * CPU profiles of the router, to see where its time goes before optimising.
 *
 * - `publish [topic] [callers] [seconds]`: the router runs as `deno task start` does, plus
 *   `--cpu-prof`, against the simulator process, under the publish load of the benchmark
 *   (default: topic `job`, 16 callers, 5 s); it is stopped with SIGTERM, which writes the
 *   profile.
 * - `build [manifests]`: the index build from a warm cache (`sync_child.ts warm`) under
 *   `--cpu-prof` (default 1,000 manifests).
 *
 * Prints the hottest functions and the profile's path.
 * Run: `deno run -A bench/profile.ts publish|build ...`.
 * @module
 */

import { GitServer } from "../tests/support/git_server.ts";
import { hotFunctions, hotModules } from "./cpuprofile_top.ts";
import { BenchChild } from "./lib/child.ts";
import type { BenchContext } from "./lib/context.ts";
import { routerEnv } from "./lib/context.ts";
import { runLoad } from "./lib/load.ts";
import { FILES, PUBLISH } from "./lib/templates.ts";
import { manyManifestsRepo } from "./sync.ts";

const ROOT = new URL("../", import.meta.url);
const [what = "publish", ...rest] = Deno.args;
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
  if (what === "publish") {
    await profilePublish(rest[0] ?? "job", Number(rest[1] ?? 16), Number(rest[2] ?? 5));
  } else if (what === "build") await profileBuild(Number(rest[0] ?? 1000));
  else throw new Error(`usage: profile.ts publish|build, got ${what}`);
  const [file] = [...Deno.readDirSync(profiles)].filter((e) => e.name.endsWith(".cpuprofile"));
  const path = `${profiles}/${file.name}`;
  const rows = hotFunctions(JSON.parse(await Deno.readTextFile(path)));
  const print = (title: string, list: typeof rows, field: "selfPercent" | "totalPercent") => {
    console.log(`\n${title}`);
    for (const r of list.slice(0, 30)) {
      console.log(`${String(r[field]).padStart(5)} %  ${r.name}  ${r.location}`);
    }
  };
  print("self time", [...rows].sort((a, b) => b.selfMs - a.selfMs), "selfPercent");
  console.log("\nself time by file");
  for (const m of hotModules(rows).slice(0, 20)) {
    console.log(`${String(m.selfPercent).padStart(5)} %  ${m.module}`);
  }
  print(
    "total time, router code",
    rows.filter((r) => /^(src|main\.ts)/.test(r.location)).sort((a, b) => b.totalMs - a.totalMs),
    "totalPercent",
  );
  console.log(`\nprofile: ${path} (bench/cpuprofile_top.ts reads it)`);
} finally {
  await git.close();
}

async function profilePublish(topic: string, concurrency: number, seconds: number) {
  const sim = await BenchChild.start("sim_server.ts", [work]);
  context.sim = sim;
  await git.createRepo("publish", { files: FILES });
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const [, run, ...flags] = (config.tasks.start as string).split(/\s+/);
  const child = new Deno.Command(Deno.execPath(), {
    args: [run, "--cpu-prof", `--cpu-prof-dir=${profiles}`, ...flags],
    cwd: ROOT,
    env: { PORT: "0", ...routerEnv(context, "publish", `${work}/data`) },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let port = 0;
  let text = "";
  while (!port) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`the router exited:\n${text}`);
    text += value;
    const match = /"gitfaas listening".*?"port":(\d+)/.exec(text);
    if (match) port = Number(match[1]);
  }
  const drain = (async () => {
    while (!(await lines.read()).done) { /* the publish log lines are not needed */ }
  })();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ready = await fetch(`${url}/readyz`);
    await ready.body?.cancel();
    if (ready.ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const result = await runLoad({
    url: `${url}/publish/${topic}${PUBLISH.query}`,
    body: PUBLISH.body,
    headers: PUBLISH.headers,
    concurrency,
    durationMs: seconds * 1000,
    maxRequests: 1_000_000,
    warmupMs: 500,
  });
  console.log(
    `${topic}, ${concurrency} callers: ${result.perSecond}/s, p50 ${result.p50Ms} ms, ` +
      `p99 ${result.p99Ms} ms, ${result.errors} errors`,
  );
  child.kill("SIGTERM");
  await child.status;
  await drain;
  await sim.stop();
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
