/**
 * Starts following runs on a cluster connection: the watched view of the router's Jobs and
 * pods, the runs service over it, and what the rest of the router takes from it (the parent
 * lookup for publishes, a warning and metrics when a Job ends).
 * @module
 */

import type { KubeConnection } from "../kube/connection.ts";
import type { Logger } from "../log/logger.ts";
import { LABELS } from "../publish/labels.ts";
import { templateKinds } from "../topics/checks.ts";
import type { TopicIndex } from "../topics/topic_index.ts";
import { ClusterView, type WatchScope } from "./cluster_view.ts";
import { type KindRef, Runs } from "./runs.ts";
import type { RunView } from "./run_view.ts";
import { isFinal, type ObjectStatus } from "./status.ts";

/** What {@linkcode startRuns} needs. */
export interface StartRunsOptions {
  /** Where objects go: NAMESPACE, or ALLOWED_NAMESPACES. */
  scope: WatchScope;
  /** The live index (for the kinds its templates create). */
  index: () => TopicIndex | null;
  maxWaiters: number;
  logger: Logger;
  /** Called when a Job is seen to end (metrics). */
  onJobFinished?: (topic: string, status: ObjectStatus) => void;
  /** Called when the end of a Job ends its run (metrics). */
  onRunFinished?: (run: RunView) => void;
  /** Called once the first list of Jobs and pods is in (its garbage can then be given back). */
  onListed?: () => void;
}

/** The runs service, its view, and how to stop it. */
export interface RunsFollower {
  runs: Runs;
  view: ClusterView;
  close(): void;
}

/**
 * Starts the watch in the background (the router serves at once; reads before the first list
 * fall back to the API server) and returns the runs service.
 */
export function startRuns(kube: KubeConnection, options: StartRunsOptions): RunsFollower {
  const { logger } = options;
  let failing = false;
  const view = new ClusterView(kube, options.scope, {
    onError: (error) => {
      // One line when the watch starts failing, not one per retry.
      if (!failing) {
        logger.warn("cannot watch Jobs and pods; runs may lag", { error: error.message });
      }
      failing = true;
    },
    onJobFinished: (job, status) => {
      failing = false;
      const labels = job.metadata.labels ?? {};
      const topic = labels[LABELS.topic] ?? "";
      options.onJobFinished?.(topic, status);
      const run = labels[LABELS.runId] ? runs.run(labels[LABELS.runId]) : undefined;
      if (run && isFinal(run.status)) options.onRunFinished?.(run);
      if (status.status !== "failed") return;
      logger.warn("a published Job failed", {
        runId: labels[LABELS.runId],
        requestUuid: labels[LABELS.requestUuid],
        topic,
        job: `${job.metadata.namespace}/${job.metadata.name}`,
        reason: status.reason,
        ...(status.message ? { detail: status.message } : {}),
      });
    },
  });
  const namespaces = options.scope === "*" ? [] : [...options.scope];
  const runs = new Runs({
    kube,
    view,
    namespaces,
    otherKinds: () => kindsOf(options.index()),
    maxWaiters: options.maxWaiters,
  });
  view.start().then(() => options.onListed?.(), () => undefined);
  return { runs, view, close: () => view.close() };
}

/** The kinds the index's templates create (cached per index: an index never changes). */
const kindCache = new WeakMap<TopicIndex, KindRef[]>();
function kindsOf(index: TopicIndex | null): KindRef[] {
  if (!index) return [];
  let kinds = kindCache.get(index);
  if (!kinds) {
    const all = new Map<string, KindRef>();
    for (const topic of index.topics.values()) {
      for (const manifest of topic.manifests) {
        for (const kind of templateKinds(manifest.template)) {
          all.set(`${kind.apiVersion} ${kind.kind}`, kind);
        }
      }
    }
    kinds = [...all.values()];
    kindCache.set(index, kinds);
  }
  return kinds;
}
