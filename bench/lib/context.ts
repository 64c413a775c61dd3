/**
 * What every benchmark section gets from `run.ts`: the loopback Git server, the API server
 * simulator process, a scratch folder, and how long to measure.
 * @module
 */

import type { GitServer } from "../../tests/support/git_server.ts";
import type { BenchChild } from "./child.ts";

/** Shared set-up of one benchmark run. */
export interface BenchContext {
  git: GitServer;
  /** `sim_server.ts`: its ready line has `url`, `token`, `caFile`, `kubeconfig`. */
  sim: BenchChild;
  /** Scratch folder, removed at the end. */
  work: string;
  /** Shorter measurements (a smoke run). */
  quick: boolean;
  /** Progress line on standard error. */
  progress(message: string): void;
}

/** The router environment every section uses (LOG_LEVEL info: one line per publish). */
export function routerEnv(
  context: Pick<BenchContext, "git" | "sim">,
  repo: string,
  dataDir: string,
): Record<string, string> {
  return {
    GIT_URL: context.git.repoUrl(repo),
    GIT_USER_NAME: context.git.user,
    GIT_PERSONAL_TOKEN: context.git.token,
    KUBECONFIG: String(context.sim.ready.kubeconfig),
    DATA_DIR: dataDir,
    GIT_POLL_INTERVAL: "3600",
    LOG_LEVEL: "info",
    // As deployed: lines wait up to 5 ms to be written together.
    LOG_FLUSH_INTERVAL: "0.005",
  };
}
