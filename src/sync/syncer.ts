/**
 * Keeps the live topic index in step with the followed branch. One sync runs at a time; a sync
 * asked for while one runs is served by a single follow-up sync, so the newest commit is always
 * picked up without a pile of fetches. A sync that fails for any reason leaves the last good
 * index serving.
 * @module
 */

import { backoffDelay, delay } from "../lib/async.ts";
import { type Logger, silentLogger } from "../log/logger.ts";
import type { TemplateLookup, TemplateStore } from "../topics/template_store.ts";
import type { BuildJournal } from "./build_journal.ts";
import {
  type BuildOptions,
  buildTopicIndex,
  IndexBuildError,
  indexBuildError,
  type TopicIndex,
} from "../topics/topic_index.ts";
import type { RevisionSource } from "./source.ts";

/** The answer to a sync. */
export interface SyncResult {
  revision: string;
  changed: boolean;
}

/** What `/status` shows about syncing. */
export interface SyncStatus {
  revision: string | null;
  indexBuiltAt: string | null;
  topics: number;
  lastSync: {
    time: string;
    outcome: "changed" | "unchanged" | "failed";
    durationMs: number;
    revision?: string;
    error?: string;
    problems?: string[];
  } | null;
  lastGoodSyncAt: string | null;
  consecutiveFailures: number;
}

/** Options for {@linkcode Syncer}: how to build indexes, and hooks. */
export interface SyncerOptions extends BuildOptions {
  logger?: Logger;
  /**
   * Compiled templates kept across restarts: the first build of the process takes what it can
   * from there, and every new index is offered to it.
   */
  templateStore?: TemplateStore;
  /**
   * Records each build under way, so that a commit whose build stops the process is not built
   * again by the next one.
   */
  buildJournal?: BuildJournal;
  /** Called after every sync with its result or error (metrics, tests). */
  onSync?: (event: { result?: SyncResult; error?: Error; durationMs: number }) => void;
}

/** Owns the live index and every change to it. */
export class Syncer {
  readonly #source: RevisionSource;
  readonly #options: SyncerOptions;
  readonly #logger: Logger;
  #index: TopicIndex | null = null;
  #running: Promise<SyncResult> | undefined;
  #next: Promise<SyncResult> | undefined;
  #failedRevision: { revision: string; error: IndexBuildError } | undefined;
  /** Why the source could not be asked, when the revision came from the cache instead. */
  #headError: Error | undefined;
  #status: SyncStatus = {
    revision: null,
    indexBuiltAt: null,
    topics: 0,
    lastSync: null,
    lastGoodSyncAt: null,
    consecutiveFailures: 0,
  };
  /** Aborts when polling stops. */
  #polling = new AbortController();
  /** What the template store held at start, until the first index is built. */
  #stored: Promise<TemplateLookup> | undefined;
  #crashRecalled = false;

  /** Prepares a syncer; nothing happens until {@linkcode sync} or {@linkcode startPolling}. */
  constructor(source: RevisionSource, options: SyncerOptions) {
    this.#source = source;
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** The live index, or null before the first good sync. */
  get index(): TopicIndex | null {
    return this.#index;
  }

  /** A copy of the sync status. */
  status(): SyncStatus {
    return structuredClone(this.#status);
  }

  /** Syncs now, or joins the follow-up of the sync under way. */
  sync(): Promise<SyncResult> {
    if (!this.#running) return this.#start();
    if (!this.#next) {
      this.#next = this.#running.catch(() => undefined).then(() => {
        this.#next = undefined;
        // Someone may have started a sync in the gap; theirs began after ours was asked for.
        return this.#running ?? this.#start();
      });
    }
    return this.#next;
  }

  /**
   * Syncs now, then every `intervalMs` (0: never again once an index is loaded), retrying
   * failures sooner with exponential backoff capped at the interval.
   */
  startPolling(intervalMs: number): void {
    const polling = this.#polling = new AbortController();
    (async () => {
      while (!polling.signal.aborted) {
        await this.sync().catch(() => undefined);
        const wait = this.#nextPollMs(intervalMs);
        if (wait === undefined) return; // polling off: webhooks and /refresh only
        await delay(wait, { signal: polling.signal }).catch(() => undefined);
      }
    })();
  }

  /** Stops polling and waits for a sync under way. */
  async stop(): Promise<void> {
    this.#polling.abort();
    await this.#next?.catch(() => undefined);
    await this.#running?.catch(() => undefined);
    await this.#options.templateStore?.settled();
    await this.#source.settled?.();
  }

  /** The wait before the next poll, or undefined when polling is off and the last sync was good. */
  #nextPollMs(intervalMs: number): number | undefined {
    const failures = this.#status.consecutiveFailures;
    if (failures > 0) {
      const cap = intervalMs > 0 ? Math.max(intervalMs, 1000) : 60_000;
      return backoffDelay(failures - 1, { minTimeout: 1000, maxTimeout: cap });
    }
    return intervalMs > 0 ? intervalMs : undefined;
  }

  #start(): Promise<SyncResult> {
    const run = this.#syncOnce().finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    this.#running = run;
    return run;
  }

  async #syncOnce(): Promise<SyncResult> {
    const started = performance.now();
    const time = new Date().toISOString();
    let revision: string | undefined;
    try {
      await this.#recallCrash();
      revision = await this.#head();
      let result: SyncResult;
      if (this.#index?.revision === revision) {
        result = { revision, changed: false };
      } else if (this.#failedRevision?.revision === revision) {
        // A broken commit stays broken: report it again without refetching or rebuilding.
        await this.#fallBack(revision);
        throw this.#failedRevision.error;
      } else {
        const failing = revision;
        revision = await this.#loadAndBuild(revision).catch(async (error) => {
          await this.#fallBack(failing);
          throw error;
        });
        result = { revision, changed: true };
      }
      // Serving from the cache is a way through an outage, not a good sync: say so, retry soon.
      const headError = this.#headError;
      this.#headError = undefined;
      if (headError) throw headError;
      this.#succeeded(result, time, performance.now() - started);
      return result;
    } catch (error) {
      this.#failed(error as Error, revision, time, performance.now() - started);
      throw error;
    }
  }

  /**
   * Fetches and builds `revision` (or the newer commit the fetch brings) and makes its index
   * live; returns the revision built. `fallback`: the revision served before a restart, built
   * while the branch's commit cannot be: it is recorded already and does not clear the failure.
   */
  async #loadAndBuild(revision: string, fallback = false): Promise<string> {
    await this.#journal(revision);
    let index: TopicIndex;
    try {
      const loading = performance.now();
      const files = await this.#source.load(revision);
      this.#logger.debug("building the topic index", {
        revision: files.revision,
        loadMs: Math.round(performance.now() - loading),
      });
      if (files.revision !== revision) {
        revision = files.revision;
        if (this.#failedRevision?.revision === revision) throw this.#failedRevision.error;
        await this.#journal(revision);
      }
      try {
        const previous = this.#index;
        const stored = previous ? undefined : await this.#storedTemplates();
        index = await buildTopicIndex(files, { ...this.#options, previous, stored });
      } catch (error) {
        if (error instanceof IndexBuildError && !fallback) {
          this.#failedRevision = { revision, error };
        }
        throw error;
      }
      if (!fallback) {
        await this.#source.remember?.(revision).catch((error) =>
          this.#logger.warn("cannot record the serving revision", { error: String(error) })
        );
      }
    } finally {
      await this.#journal(undefined);
    }
    // Live only now, with every record written: from here nothing awaits until the sync's
    // outcome is in /status (and the metrics), so /readyz and /status never disagree.
    this.#index = index;
    if (!fallback) this.#failedRevision = undefined;
    this.#stored = undefined;
    if (index.templatesByBlob) this.#options.templateStore?.keep(index.templatesByBlob);
    return revision;
  }

  /**
   * When nothing serves yet (a restart) and the branch's commit cannot be used, serves the
   * revision served before the restart instead: the commit's failure is still what the sync
   * reports, but the last good index keeps serving, across restarts too.
   */
  async #fallBack(failing: string): Promise<void> {
    if (this.#index) return;
    const remembered = await this.#source.remembered?.().catch(() => undefined);
    if (!remembered || remembered === failing) return;
    try {
      await this.#loadAndBuild(remembered, true);
      this.#logger.warn("the branch's commit cannot be used: serving the revision served before", {
        revision: remembered,
        failedRevision: failing,
      });
    } catch (error) {
      this.#logger.warn("the revision served before cannot be served either", {
        revision: remembered,
        error: (error as Error).message,
      });
    }
  }

  /** Once, before the first build: a commit whose build stopped the last process is bad. */
  async #recallCrash(): Promise<void> {
    if (this.#crashRecalled) return;
    this.#crashRecalled = true;
    const journal = this.#options.buildJournal;
    const crashed = await journal?.crashed().catch((error) => {
      this.#logger.warn("cannot read the build record in DATA_DIR", { error: String(error) });
      return undefined;
    });
    if (!crashed) return;
    const error = indexBuildError(crashed, [
      "the router stopped while fetching or building this commit (out of memory, or killed), " +
      "so it is not built again; the next commit on the branch is built as usual " +
      '(README "Limits")',
    ]);
    this.#failedRevision = { revision: crashed, error };
    this.#logger.error("a commit stopped the previous router process: it is not built again", {
      revision: crashed,
    });
  }

  /** Records the build of `revision` under way, or (undefined) that none is. */
  async #journal(revision: string | undefined): Promise<void> {
    const journal = this.#options.buildJournal;
    try {
      if (revision) await journal?.begin(revision);
      else await journal?.end();
    } catch (error) {
      this.#logger.warn("cannot record the build under way in DATA_DIR", { error: String(error) });
    }
  }

  #storedTemplates(): Promise<TemplateLookup> | undefined {
    const store = this.#options.templateStore;
    return store && (this.#stored ??= store.load());
  }

  /**
   * The revision to serve. Before any index is loaded, a source that cannot be reached falls
   * back to the revision served before a restart, so a warm cache serves through a Git outage.
   */
  async #head(): Promise<string> {
    this.#headError = undefined;
    try {
      return await this.#source.head();
    } catch (error) {
      const fallback = this.#index ? undefined : await this.#source.remembered?.();
      if (!fallback) throw error;
      this.#logger.warn("Git is unreachable: serving the revision cached before the restart", {
        revision: fallback,
        error: (error as Error).message,
      });
      this.#headError = error as Error;
      return fallback;
    }
  }

  #succeeded(result: SyncResult, time: string, durationMs: number) {
    const index = this.#index!;
    this.#status = {
      revision: index.revision,
      indexBuiltAt: index.builtAt.toISOString(),
      topics: index.topics.size,
      lastSync: {
        time,
        outcome: result.changed ? "changed" : "unchanged",
        durationMs: Math.round(durationMs),
        revision: result.revision,
      },
      lastGoodSyncAt: time,
      consecutiveFailures: 0,
    };
    if (result.changed) {
      this.#logger.info("topic index updated", {
        revision: result.revision,
        topics: index.topics.size,
        templatesCompiled: index.templates.compiled,
        templatesReused: index.templates.reused,
        durationMs: Math.round(durationMs),
      });
    } else this.#logger.debug("no change", { revision: result.revision });
    this.#options.onSync?.({ result, durationMs });
  }

  #failed(error: Error, revision: string | undefined, time: string, durationMs: number) {
    if (this.#index) {
      this.#status.revision = this.#index.revision;
      this.#status.indexBuiltAt = this.#index.builtAt.toISOString();
      this.#status.topics = this.#index.topics.size;
    }
    this.#status.lastSync = {
      time,
      outcome: "failed",
      durationMs: Math.round(durationMs),
      revision,
      error: error.message,
      problems: error instanceof IndexBuildError ? error.problems : undefined,
    };
    this.#status.consecutiveFailures++;
    // Before the first good sync there is nothing to fall back on: say so, not "keeps serving".
    const message = this.#index
      ? "sync failed; the last good index keeps serving"
      : "sync failed; no index yet: publishes answer 503 until a sync succeeds";
    this.#logger.warn(message, {
      revision,
      servingRevision: this.#index?.revision ?? null,
      error: error.message,
    });
    this.#options.onSync?.({ error, durationMs });
  }
}
