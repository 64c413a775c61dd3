/**
 * `GET /status`: where the index comes from, how the router runs (mode, namespace, poll
 * interval), how the last syncs went, which topics cannot be
 * used and why, and what the webhook receiver saw last.
 * @module
 */

import type { SyncStatus } from "../../sync/syncer.ts";
import type { TopicIndex } from "../../topics/topic_index.ts";
import { json } from "../json.ts";
import { nextTick } from "../../schedule/schedule.ts";
import { readRoute } from "../read_route.ts";
import type { Route } from "../route.ts";

/** How the router runs, as `/status` says beside the sync status. */
export interface RuntimeStatus {
  /** `apply`: publishes go to the cluster; `render-only`: they are rendered and checked only. */
  mode: "apply" | "render-only";
  /** Namespace for objects that name none. */
  namespace: string;
  /** Seconds between polls of the source; null when a folder is watched instead. */
  pollIntervalSeconds: number | null;
}

/** What `/status` reports on. */
export interface StatusOptions {
  /** The live index, or null before the first good sync. */
  index: () => TopicIndex | null;
  syncStatus: () => SyncStatus;
  /** Where the index comes from (no credentials). */
  source: Record<string, unknown>;
  /** How the router runs: mode, namespace, poll interval. */
  runtime?: RuntimeStatus;
  /** The webhook receiver's `status()`, when webhooks are on. */
  webhookStatus?: () => unknown;
  /** The live replicas (read from their Leases), when the router runs against a cluster. */
  replicas?: () => Promise<unknown>;
}

/** The `/status` route. */
export function statusRoute(options: StatusOptions): Route {
  return readRoute("/status", async () => {
    const index = options.index();
    const unusable = index
      ? Object.fromEntries(
        [...index.topics.values()].filter((t) => t.problems.length > 0)
          .map((t) => [t.name, t.problems]),
      )
      : {};
    return json({
      source: options.source,
      ...options.runtime,
      ...options.syncStatus(),
      unusableTopics: unusable,
      schedules: index ? nextTicks(index, new Date()) : {},
      webhook: options.webhookStatus?.() ?? { enabled: false },
      ...(options.replicas ? { replicas: await replicasOrError(options.replicas) } : {}),
    });
  });
}

/** Each scheduled topic's schedule and next tick. */
export function nextTicks(
  index: TopicIndex,
  now: Date,
): Record<string, { schedule: string; nextTick: string }> {
  const ticks: Record<string, { schedule: string; nextTick: string }> = {};
  for (const topic of index.topics.values()) {
    const schedule = topic.schedule?.schedule;
    if (!schedule) continue;
    ticks[topic.name] = {
      schedule: schedule.kind === "every" ? schedule.text : schedule.expression,
      nextTick: nextTick(schedule, now).toISOString(),
    };
  }
  return ticks;
}

/** The replicas, or why they cannot be listed (the rest of `/status` still answers). */
async function replicasOrError(read: () => Promise<unknown>): Promise<unknown> {
  try {
    return await read();
  } catch (error) {
    return { error: `cannot list the replicas: ${(error as Error).message}` };
  }
}
