/**
 * Sync costs for repositories of 10, 1,000 and 10,000 manifests (one topic each, every file
 * different): the first sync from an empty cache, the index build alone from a warm cache,
 * each in a fresh process with its peak RSS, and what a poll costs when nothing changed.
 * @module
 */

import { manyManifests } from "../tests/support/fixtures.ts";
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
}

/** Makes (once) the repository `sync-<size>` and returns its name. */
export async function manyManifestsRepo(context: BenchContext, size: number): Promise<string> {
  const name = `sync-${size}`;
  if (!made.has(name)) {
    await context.git.createRepo(name, { files: manyManifests(size) });
    made.add(name);
  }
  return name;
}
const made = new Set<string>();

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
    results.push({ manifests: size, setupSeconds, cold, warm, stored });
    context.progress(
      `sync ${size} manifests: first sync ${cold.firstSyncMs} ms (peak RSS ${cold.peakRssMB} MB), ` +
        `build from cache ${warm.buildMs} ms (peak RSS ${warm.peakRssMB} MB), ` +
        `with kept templates ${stored.buildMs} ms (peak RSS ${stored.peakRssMB} MB), ` +
        `no-change poll ${JSON.stringify(cold.poll)}`,
    );
  }
  return results;
}
