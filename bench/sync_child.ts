/**
 * One index build in a process of its own, so its peak memory (`VmHWM`) is the build's alone.
 *
 * - `cold <dir>`: an empty cache: the first sync through the real `Syncer` and `GitSource`
 *   (ask the branch tip, fetch, build the index), then polls when nothing changed.
 * - `warm <dir>`: the cache of a `cold` run: build the index of the remembered commit from the
 *   cached objects, compiling every template (a restart whose DATA_DIR has no compiled
 *   templates), then build again in the same process.
 * - `stored <dir>`: the same build taking compiled templates from the file the `cold` run kept,
 *   as a restart with a warm DATA_DIR does after its one request.
 * - `fetch <dir>`: the cache of a `cold` run, after a push: fetch the new branch tip (what a
 *   sync after a push downloads: bytes, requests, objects in the new pack).
 * - `large <dir>`: a first sync that may be refused (a repository holding a large file): its
 *   outcome and peak RSS.
 *
 * Reads GIT_URL, GIT_USER_NAME, GIT_PERSONAL_TOKEN, and GIT_MAX_FETCH_BYTES and
 * GIT_MAX_BLOB_BYTES when set; prints one JSON line and exits.
 * Run: `deno run -A bench/sync_child.ts cold|warm|stored|fetch|large <dir>`.
 * @module
 */

import process from "node:process";
import { GitSource } from "../src/git/git_source.ts";
import { DEFAULTS } from "../src/settings/settings.ts";
import { Syncer } from "../src/sync/syncer.ts";
import { FileTemplateStore } from "../src/topics/template_store.ts";
import { buildTopicIndex } from "../src/topics/topic_index.ts";
import { benchBuildOptions } from "./lib/build_options.ts";
import { reply } from "./lib/child.ts";
import { memoryOf } from "./lib/proc.ts";
import { median, round } from "./lib/stats.ts";

const [mode, dir] = Deno.args;
const POLLS = 20;
const options = benchBuildOptions();
const before = memoryOf();
const limit = (name: string, fallback: number) => {
  const value = Deno.env.get(name);
  return value ? Number(value) : fallback;
};
const source = new GitSource({
  url: Deno.env.get("GIT_URL")!,
  branch: "main",
  user: Deno.env.get("GIT_USER_NAME"),
  token: Deno.env.get("GIT_PERSONAL_TOKEN"),
  maxFetchBytes: limit("GIT_MAX_FETCH_BYTES", DEFAULTS.gitMaxFetchBytes),
  maxBlobBytes: limit("GIT_MAX_BLOB_BYTES", DEFAULTS.gitMaxBlobBytes),
  dir,
});

const templateStore = new FileTemplateStore(`${dir}/gitfaas-templates.json`, {
  onError: (error) => {
    throw error;
  },
});

if (mode === "cold") {
  const syncer = new Syncer(source, { ...options, templateStore });
  let t0 = performance.now();
  const first = await syncer.sync();
  const firstSyncMs = performance.now() - t0;
  const afterSync = memoryOf();
  const firstStats = { ...source.stats };
  // The compiled templates are written in the background after the first build; the polls
  // below measure a router at rest, so they start once the write is done.
  t0 = performance.now();
  await templateStore.settled();
  const templatesWriteMs = performance.now() - t0;
  const polls: { ms: number; requests: number; bytes: number }[] = [];
  for (let i = 0; i < POLLS; i++) {
    const { requests, bytesReceived } = source.stats;
    t0 = performance.now();
    const result = await syncer.sync();
    const ms = performance.now() - t0;
    if (result.changed) throw new Error("a poll found a change where there was none");
    polls.push({
      ms,
      requests: source.stats.requests - requests,
      bytes: source.stats.bytesReceived - bytesReceived,
    });
  }
  reply({
    mode,
    revision: first.revision,
    topics: syncer.index?.topics.size,
    firstSyncMs: round(firstSyncMs),
    firstSyncRequests: firstStats.requests,
    firstSyncBytes: firstStats.bytesReceived,
    rssBeforeMB: before.rssMB,
    peakRssMB: afterSync.peakRssMB,
    poll: {
      count: POLLS,
      requests: Math.max(...polls.map((p) => p.requests)),
      bytes: Math.max(...polls.map((p) => p.bytes)),
      medianMs: round(median(polls.map((p) => p.ms)), 2),
      maxMs: round(Math.max(...polls.map((p) => p.ms)), 2),
    },
    templatesWriteMs: round(templatesWriteMs),
    templatesFileMB: await syncer.stop().then(() =>
      Deno.stat(`${dir}/gitfaas-templates.json`).then((s) => round(s.size / 1e6, 1), () => 0)
    ),
  });
} else if (mode === "warm") {
  const commit = await source.remembered();
  if (!commit) throw new Error(`no remembered commit in ${dir}`);
  const cpu0 = process.cpuUsage();
  let t0 = performance.now();
  const index = await buildTopicIndex(source.files(commit), options);
  const buildMs = performance.now() - t0;
  const { user, system } = process.cpuUsage(cpu0);
  const afterBuild = memoryOf();
  t0 = performance.now();
  await buildTopicIndex(source.files(commit), options);
  const rebuildMs = performance.now() - t0;
  reply({
    mode,
    topics: index.topics.size,
    buildMs: round(buildMs),
    // CPU of the whole process during the build (garbage collection threads included): on a
    // shared machine, wall time says as much about the load as about the build.
    buildCpuMs: round((user + system) / 1000),
    rebuildMs: round(rebuildMs),
    rssBeforeMB: before.rssMB,
    peakRssMB: afterBuild.peakRssMB,
    peakRssAfterRebuildMB: memoryOf().peakRssMB,
  });
} else if (mode === "stored") {
  const commit = await source.remembered();
  if (!commit) throw new Error(`no remembered commit in ${dir}`);
  const t0 = performance.now();
  const stored = await templateStore.load();
  const loadMs = performance.now() - t0;
  const index = await buildTopicIndex(source.files(commit), { ...options, stored });
  const buildMs = performance.now() - t0;
  reply({
    mode,
    topics: index.topics.size,
    templates: index.templates,
    loadMs: round(loadMs),
    buildMs: round(buildMs),
    rssBeforeMB: before.rssMB,
    peakRssMB: memoryOf().peakRssMB,
  });
} else if (mode === "fetch") {
  const packsBefore = await packs(dir);
  const t0 = performance.now();
  const head = await source.head();
  await source.load(head);
  const fetchMs = performance.now() - t0;
  const added = [...await packs(dir)].filter((p) => !packsBefore.has(p));
  let storedObjects = 0;
  for (const pack of added) storedObjects += await packObjects(`${dir}/objects/pack/${pack}`);
  reply({
    mode,
    revision: head,
    fetchMs: round(fetchMs),
    requests: source.stats.requests,
    bytes: source.stats.bytesReceived,
    // Objects in the pack received; the stored pack adds the bases of its deltas (a thin pack).
    objects: source.stats.objectsReceived,
    storedObjects,
    rssBeforeMB: before.rssMB,
    peakRssMB: memoryOf().peakRssMB,
  });
} else if (mode === "large") {
  const syncer = new Syncer(source, options);
  const t0 = performance.now();
  const outcome = await syncer.sync().then(
    (result) => ({ revision: result.revision }),
    (error: Error) => ({ error: error.message }),
  );
  reply({
    mode,
    ...outcome,
    syncMs: round(performance.now() - t0),
    bytes: source.stats.bytesReceived,
    rssBeforeMB: before.rssMB,
    peakRssMB: memoryOf().peakRssMB,
  });
  await syncer.stop();
} else throw new Error(`usage: sync_child.ts cold|warm|stored|fetch|large <dir>, got ${mode}`);

/** The pack files in a cache. */
async function packs(cache: string): Promise<Set<string>> {
  const names = new Set<string>();
  for await (const entry of Deno.readDir(`${cache}/objects/pack`)) {
    if (entry.name.endsWith(".pack")) names.add(entry.name);
  }
  return names;
}

/** The number of objects a pack file's header declares. */
async function packObjects(path: string): Promise<number> {
  const file = await Deno.open(path);
  try {
    const header = new Uint8Array(12);
    await file.read(header);
    return new DataView(header.buffer).getUint32(8);
  } finally {
    file.close();
  }
}
