/**
 * Requests and runs rebuilt from the cluster alone: the objects a publish applied carry its
 * labels (topic, request, run, parent, revision), and so do the pods of its Jobs. Grouping them
 * gives every request with its live status, and every run as a tree. Pure: the caller lists the
 * objects; every replica given the same objects answers the same.
 * @module
 */

import { LABELS } from "../publish/labels.ts";
import {
  appliedStatus,
  type JobLike,
  jobStatus,
  type ObjectStatus,
  type PodLike,
  requestStatus,
  runStatus,
  type Status,
} from "./status.ts";

/** An object as listed from the API server (the fields a view reads). */
export interface ListedObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    creationTimestamp?: string;
  };
  spec?: unknown;
  status?: unknown;
}

/** A listed pod, with its labels (a Job's pods carry the request's labels). */
export type ListedPod = PodLike & {
  metadata?: PodLike["metadata"] & { labels?: Record<string, string> };
};

/** One object of a request and its live state. */
export type ObjectView = {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
} & ObjectStatus;

/** A request as `GET /requests/<uuid>` shows it. */
export interface RequestView {
  requestUuid: string;
  topic: string;
  runId: string | null;
  parent: string | null;
  children: string[];
  revision: string | null;
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  status: Status;
  /** Why it failed or waits, from the object that decided its status. */
  reason?: string;
  objects: ObjectView[];
}

/** A run as `GET /runs/<runId>` shows it. */
export interface RunView {
  runId: string;
  status: Status;
  /** The topic of the run's first request. */
  topic: string;
  createdAt: string | null;
  finishedAt: string | null;
  /** Seconds from the first request's creation to the last one's end; null while running. */
  durationSeconds: number | null;
  requests: RequestView[];
}

/** Groups listed objects and pods into requests, newest first. */
export function requestViews(
  objects: readonly ListedObject[],
  pods: readonly ListedPod[] = [],
): RequestView[] {
  const podsByJob = new Map<string, ListedPod[]>();
  for (const pod of pods) {
    const labels = pod.metadata?.labels ?? {};
    const job = labels["batch.kubernetes.io/job-name"] ?? labels["job-name"];
    const uuid = labels[LABELS.requestUuid];
    if (!job || !uuid) continue;
    const key = `${uuid}/${job}`;
    podsByJob.set(key, [...podsByJob.get(key) ?? [], pod]);
  }
  const byUuid = new Map<string, RequestView>();
  for (const object of objects) {
    const labels = object.metadata.labels ?? {};
    const uuid = labels[LABELS.requestUuid];
    if (!uuid) continue;
    let view = byUuid.get(uuid);
    if (!view) {
      view = emptyView(uuid, labels);
      byUuid.set(uuid, view);
    }
    const state = object.kind === "Job"
      ? jobStatus(object as JobLike, podsByJob.get(`${uuid}/${object.metadata.name}`))
      : appliedStatus();
    view.objects.push({
      apiVersion: object.apiVersion,
      kind: object.kind,
      ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
      name: object.metadata.name,
      ...state,
    });
    view.createdAt = earliest(view.createdAt, object.metadata.creationTimestamp);
  }
  const views = [...byUuid.values()];
  for (const view of views) settle(view);
  linkChildren(views);
  return views.sort(newestFirst);
}

/**
 * Groups requests into runs, newest first. A parent named by a child but no longer in the
 * cluster (its objects removed by a TTL or a cancel) appears as a `deleted` request, so the tree
 * stays whole.
 */
export function runViews(requests: readonly RequestView[]): RunView[] {
  const byRun = new Map<string, RequestView[]>();
  for (const request of requests) {
    if (!request.runId) continue;
    byRun.set(request.runId, [...byRun.get(request.runId) ?? [], request]);
  }
  const runs: RunView[] = [];
  for (const [runId, members] of byRun) runs.push(runView(runId, members));
  return runs.sort(newestFirst);
}

function runView(runId: string, members: RequestView[]): RunView {
  const known = new Set(members.map((r) => r.requestUuid));
  const requests = [...members];
  for (const request of members) {
    if (request.parent && !known.has(request.parent)) {
      known.add(request.parent);
      requests.push({ ...emptyView(request.parent, {}), runId, status: "deleted" });
    }
  }
  linkChildren(requests);
  requests.splice(0, requests.length, ...treeOrder(requests));
  const status = runStatus(requests.map((r) => r.status));
  const root = requests.find((r) => r.parent === null) ?? requests[0];
  const createdAt = requests.reduce<string | null>((t, r) => earliest(t, r.createdAt), null);
  const finishedAt = status === "running"
    ? null
    : requests.reduce<string | null>((t, r) => latest(t, r.finishedAt), null);
  return {
    runId,
    status,
    topic: root.topic,
    createdAt,
    finishedAt,
    durationSeconds: createdAt && finishedAt
      ? Math.max(0, (Date.parse(finishedAt) - Date.parse(createdAt)) / 1000)
      : null,
    requests,
  };
}

function emptyView(uuid: string, labels: Record<string, string>): RequestView {
  return {
    requestUuid: uuid,
    topic: labels[LABELS.topic] ?? "",
    runId: labels[LABELS.runId] ?? null,
    parent: labels[LABELS.parent] ?? null,
    children: [],
    revision: labels[LABELS.revision] ?? null,
    createdAt: null,
    startedAt: null,
    finishedAt: null,
    status: "deleted",
    objects: [],
  };
}

/** Fills a request's status, reason and timings from its objects. */
function settle(view: RequestView): void {
  view.objects.sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
  view.status = requestStatus(view.objects.map((o) => o.status));
  const decisive = view.objects.find((o) => o.status === view.status && o.reason);
  if (decisive?.reason) view.reason = decisive.reason;
  for (const object of view.objects) {
    view.startedAt = earliest(view.startedAt, object.startedAt);
  }
  if (view.status === "succeeded" || view.status === "failed") {
    const ends = view.objects.map((o) => o.finishedAt ?? view.createdAt);
    view.finishedAt = ends.reduce<string | null>((t, e) => latest(t, e ?? undefined), null);
  }
}

function linkChildren(views: RequestView[]): void {
  const byUuid = new Map(views.map((v) => [v.requestUuid, v]));
  for (const view of views) view.children = [];
  for (const view of [...views].sort(oldestFirst)) {
    if (view.parent) byUuid.get(view.parent)?.children.push(view.requestUuid);
  }
}

function earliest(a: string | null, b: string | undefined | null): string | null {
  if (!b) return a;
  return a === null || b < a ? b : a;
}

function latest(a: string | null, b: string | undefined | null): string | null {
  if (!b) return a;
  return a === null || b > a ? b : a;
}

/**
 * A run's requests parent before child, siblings oldest first: creation times have a resolution
 * of one second, so a tree walk (not a sort by time) is what every replica agrees on.
 */
function treeOrder(requests: RequestView[]): RequestView[] {
  const byUuid = new Map(requests.map((r) => [r.requestUuid, r]));
  const roots = requests.filter((r) => !r.parent || !byUuid.has(r.parent)).sort(oldestFirst);
  const ordered: RequestView[] = [];
  const visit = (request: RequestView) => {
    ordered.push(request);
    for (const child of request.children) {
      const view = byUuid.get(child);
      if (view && view !== request) visit(view);
    }
  };
  roots.forEach(visit);
  return ordered;
}

type Dated = { createdAt: string | null; requestUuid?: string; runId?: string | null };

/** Newest first; the same order on every replica (ties broken by id). */
function newestFirst(a: Dated, b: Dated): number {
  return (b.createdAt ?? "").localeCompare(a.createdAt ?? "") || idOf(b).localeCompare(idOf(a));
}

function oldestFirst(a: Dated, b: Dated): number {
  return -newestFirst(a, b);
}

function idOf(item: Dated): string {
  return item.requestUuid ?? item.runId ?? "";
}
