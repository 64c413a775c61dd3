/**
 * Sync costs for repositories of 10, 1,000 and 10,000 manifests (one topic each, every file
 * different): the first sync from an empty cache, the index build alone from a warm cache,
 * each in a fresh process with its peak RSS, what a poll costs when nothing changed, and what
 * a fetch downloads after a one-file push and after a force-push of a rewritten commit. And a
 * repository holding a 100 MB file: the outcome and peak RSS of its first sync.
 * @module
 */

import { manyManifests } from "../tests/support/fixtures.ts";
import type { TestRepo } from "../tests/support/git_server.ts";
import { BenchChild } from "./lib/child.ts";
import type { BenchContext } from "./lib/context.ts";

export const SIZES = [10, 1_000, 10_000];

/** Results for one repository size. */
export interface SyncResult {
  manifests: number;
  /** Seconds `git` took to make and push the repository (set-up, not measured). */
  setupSeconds: number;
  cold: Record<string, unknown>;
  warm: Record<string, unknown>;
  stored: Record<string, unknown>;
  /** The fetch after a one-file push. */
  push: Record<string, unknown>;
  /** The fetch after a force-push that rewrites the last commit (another file changed). */
  forcePush: Record<string, unknown>;
}

/** A first sync of a repository holding a large file, with the default caps and above them. */
export interface LargeFileResult {
  fileMB: number;
  defaults: Record<string, unknown>;
  raised: Record<string, unknown>;
}

/** Makes (once) the repository `sync-<size>` and returns its name. */
export async function manyManifestsRepo(context: BenchContext, size: number): Promise<string> {
  const name = `sync-${size}`;
  if (!made.has(name)) {
    made.set(name, await context.git.createRepo(name, { files: manyManifests(size) }));
  }
  return name;
}
const made = new Map<string, TestRepo>();

/** Runs the sync measurements. */
export async function runSyncBench(context: BenchContext): Promise<SyncResult[]> {
  const results: SyncResult[] = [];
  for (const size of SIZES) {
    const t0 = performance.now();
    const repo = await manyManifestsRepo(context, size);
    const setupSeconds = Math.round(performance.now() - t0) / 1000;
    const dir = `${context.work}/sync-cache-${size}`;
    const env = {
      GIT_URL: context.git.repoUrl(repo),
      GIT_USER_NAME: context.git.user,
      GIT_PERSONAL_TOKEN: context.git.token,
    };
    const run = async (mode: string) => {
      const child = await BenchChild.start("sync_child.ts", [mode, dir], {
        env,
        timeoutMs: 180_000,
      });
      await child.finished();
      return child.ready;
    };
    const cold = await run("cold");
    const warm = await run("warm");
    const stored = await run("stored");
    const testRepo = made.get(repo)!;
    const edit = async (path: string, from: string, to: string) => {
      const text = await Deno.readTextFile(`${testRepo.workDir}/${path}`);
      await testRepo.write({ [path]: text.replace(from, to) });
      await testRepo.commit(`edit ${path}`);
    };
    await edit("jobs/0/job-0.yaml", "job-0-{{RANDOM}}", "pushed-{{RANDOM}}");
    await testRepo.push();
    const push = await run("fetch");
    await testRepo.resetHard("HEAD~1");
    await edit("jobs/0/job-1.yaml", "job-1-{{RANDOM}}", "rewritten-{{RANDOM}}");
    await testRepo.push({ force: true });
    const forcePush = await run("fetch");
    // The next sections find the repository as it was made.
    await testRepo.resetHard("HEAD~1");
    await testRepo.push({ force: true });
    results.push({ manifests: size, setupSeconds, cold, warm, stored, push, forcePush });
    context.progress(
      `sync ${size} manifests: first sync ${cold.firstSyncMs} ms (peak RSS ${cold.peakRssMB} MB), ` +
        `build from cache ${warm.buildMs} ms (peak RSS ${warm.peakRssMB} MB), ` +
        `with kept templates ${stored.buildMs} ms (peak RSS ${stored.peakRssMB} MB), ` +
        `no-change poll ${JSON.stringify(cold.poll)}; fetch after a push ` +
        `${JSON.stringify(push)}, after a force-push ${JSON.stringify(forcePush)}`,
    );
  }
  return results;
}

/** Size of the large file, in MB (10^6 bytes) of zeros. */
const LARGE_FILE_MB = 100;

/**
 * A first sync of a repository whose pipeline is one topic and which also holds a 100 MB file
 * of zeros (a few hundred kilobytes on the wire): with the default caps, and with caps above
 * the file's size.
 */
export async function runLargeFileBench(context: BenchContext): Promise<LargeFileResult> {
  const name = "large-file";
  await context.git.createRepo(name, {
    files: {
      ...manyManifests(1),
      "assets/zeros.bin": "\0".repeat(LARGE_FILE_MB * 1e6),
    },
  });
  const run = async (limits: Record<string, string>, label: string) => {
    const child = await BenchChild.start("sync_child.ts", [
      "large",
      `${context.work}/large-${label}`,
    ], {
      env: {
        GIT_URL: context.git.repoUrl(name),
        GIT_USER_NAME: context.git.user,
        GIT_PERSONAL_TOKEN: context.git.token,
        ...limits,
      },
      timeoutMs: 180_000,
    });
    await child.finished();
    return child.ready;
  };
  const defaults = await run({}, "defaults");
  const raised = await run({
    GIT_MAX_BLOB_BYTES: String(2 ** 30),
    GIT_MAX_FETCH_BYTES: String(2 ** 30),
  }, "raised");
  context.progress(
    `large file (${LARGE_FILE_MB} MB of zeros): default caps ${JSON.stringify(defaults)}; ` +
      `caps raised ${JSON.stringify(raised)}`,
  );
  return { fileMB: LARGE_FILE_MB, defaults, raised };
}
