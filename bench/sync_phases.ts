/**
 * The phases of one sync after a push, timed apart, in a process of its own that nothing else
 * runs in: ask the remote where the branch points (one request), fetch the commit into the bare
 * cache, build the index (reusing the templates of unchanged blobs, as the router does), record
 * the serving revision; then the cache's pruning, which the router runs in the background after
 * the index goes live. Says how many packs the cache holds, since each fetch adds one.
 *
 * Prints `{ready, revision}` after a first full sync into `<dir>`, then answers each `sync`
 * line on standard input with one JSON line of phase times (ms).
 * Reads GIT_URL, GIT_USER_NAME, GIT_PERSONAL_TOKEN.
 * Run: `deno run -A bench/sync_phases.ts <dir>` (from `bench/fanout.ts`).
 * @module
 */

import { GitSource } from "../src/git/git_source.ts";
import { DEFAULTS } from "../src/settings/settings.ts";
import { buildTopicIndex, type TopicIndex } from "../src/topics/topic_index.ts";
import { benchBuildOptions } from "./lib/build_options.ts";
import { commands, reply } from "./lib/child.ts";
import { round } from "./lib/stats.ts";

const [dir] = Deno.args;
const options = benchBuildOptions();
const source = new GitSource({
  url: Deno.env.get("GIT_URL")!,
  branch: "main",
  user: Deno.env.get("GIT_USER_NAME"),
  token: Deno.env.get("GIT_PERSONAL_TOKEN"),
  maxFetchBytes: DEFAULTS.gitMaxFetchBytes,
  maxBlobBytes: DEFAULTS.gitMaxBlobBytes,
  dir,
});

let index: TopicIndex | undefined;

/** One sync as the Syncer runs it, each phase timed. */
async function sync(): Promise<Record<string, number | string>> {
  const t0 = performance.now();
  const revision = await source.head();
  const t1 = performance.now();
  const files = await source.load(revision);
  const t2 = performance.now();
  index = await buildTopicIndex(files, { ...options, previous: index ?? null });
  const t3 = performance.now();
  await source.remember(files.revision);
  const t4 = performance.now();
  await source.settled();
  const t5 = performance.now();
  const packs = [...Deno.readDirSync(`${dir}/objects/pack`)]
    .filter((e) => e.name.endsWith(".pack")).length;
  return {
    revision: files.revision,
    headMs: round(t1 - t0),
    fetchMs: round(t2 - t1),
    buildMs: round(t3 - t2),
    rememberMs: round(t4 - t3),
    totalMs: round(t4 - t0),
    pruneMs: round(t5 - t4),
    packs,
    compiled: index.templates.compiled,
  };
}

reply({ ready: true, ...(await sync()) });
for await (const line of commands()) {
  if (line.trim() === "sync") reply(await sync());
  else reply({ error: `unknown command ${line}` });
}
