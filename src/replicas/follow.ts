/**
 * Sync until a requested revision serves: a Git server may answer with the old branch head for
 * a moment after a push, so one sync is not enough. Newer requests replace older ones; a
 * revision that fails to build, or that is still not served after the deadline, is left to the
 * poller.
 * @module
 */

import { backoffDelay, delay } from "../lib/async.ts";
import type { Logger } from "../log/logger.ts";
import { IndexBuildError } from "../topics/topic_index.ts";

/** What the follower syncs. */
export interface FollowedSyncer {
  readonly index: { readonly revision: string } | null;
  sync(): Promise<unknown>;
}

/** Syncs `syncer` until the newest requested revision serves. */
export class RevisionFollower {
  #target: string | undefined;
  #loop: Promise<void> | undefined;
  #stopped = new AbortController();

  /** A follower over `syncer`; each revision is followed for at most `deadlineMs`. */
  constructor(
    readonly syncer: FollowedSyncer,
    readonly options: { deadlineMs?: number; logger?: Logger } = {},
  ) {}

  /** Makes `revision` the one to bring live (no-op when it already serves). */
  follow(revision: string): void {
    if (this.syncer.index?.revision === revision || this.#target === revision) return;
    this.#target = revision;
    this.#loop ??= this.#run().finally(() => this.#loop = undefined);
  }

  /** Stops following; resolves when the current sync is done. */
  async stop(): Promise<void> {
    this.#stopped.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stopped.signal;
    while (this.#target !== undefined && !signal.aborted) {
      const target = this.#target;
      const deadline = Date.now() + (this.options.deadlineMs ?? 10_000);
      for (let attempt = 0; this.#target === target && !signal.aborted; attempt++) {
        const error = await this.syncer.sync().then(() => undefined, (e) => e);
        if (this.syncer.index?.revision === target) break;
        if (error instanceof IndexBuildError && error.revision === target) break;
        if (Date.now() >= deadline) {
          this.options.logger?.warn(
            "requested revision not live in time; the poller keeps trying",
            {
              revision: target,
            },
          );
          break;
        }
        await delay(backoffDelay(attempt, { minTimeout: 100, maxTimeout: 2000 }), { signal })
          .catch(() => undefined);
      }
      if (this.#target === target) this.#target = undefined;
    }
  }
}
