/**
 * What the runs view keeps of each watched Job and pod: the fields the runs API reads, and
 * nothing else. The API server sends a Job as ~4 KB of JSON (managed fields, spec, pod template)
 * and a pod as ~5 KB; a replica holds every Job the router made that the cluster still has
 * (Jobs without `ttlSecondsAfterFinished` stay), so whole objects would make the router's heap,
 * and each old-generation collection, grow with the cluster's history.
 *
 * A slim object is a subset of the API object, in its shape: `status.ts` and `run_view.ts`
 * compute the same answers from either. Pure.
 * @module
 */

import { LABELS } from "../publish/labels.ts";
import {
  type ContainerStateLike,
  type ContainerStatusLike,
  decidingConditions,
  type JobConditionLike,
  type JobLike,
  type PodLike,
} from "./status.ts";

/** The metadata the runs API reads of a Job or a pod. */
export interface SlimMetadata {
  name: string;
  /** Jobs only: where cancel and results go. */
  namespace?: string;
  /** Jobs only: owner of a result Secret, and the key a Job's end is reported once under. */
  uid?: string;
  creationTimestamp?: string;
  /** Only the labels in {@linkcode JOB_LABELS} or {@linkcode POD_LABELS}. */
  labels?: Record<string, string>;
}

/** A watched Job as the view keeps it. */
export interface SlimJob extends JobLike {
  apiVersion: "batch/v1";
  kind: "Job";
  metadata: SlimMetadata;
}

/** A watched pod as the view keeps it. */
export interface SlimPod extends PodLike {
  metadata: SlimMetadata;
}

/** The labels of a Job the runs API reads (what a request and its run are). */
export const JOB_LABELS: readonly string[] = [
  LABELS.requestUuid,
  LABELS.topic,
  LABELS.runId,
  LABELS.parent,
  LABELS.revision,
  LABELS.functionUid,
];

/**
 * The labels of a pod the runs API reads (whose request and Job it is). The Job's name is read
 * from `job-name` only when `batch.kubernetes.io/job-name` is missing (before Kubernetes 1.27).
 */
export const POD_LABELS: readonly string[] = [
  LABELS.requestUuid,
  "batch.kubernetes.io/job-name",
  "job-name",
];
const SHADOWED_LABELS: Readonly<Record<string, string>> = {
  "job-name": "batch.kubernetes.io/job-name",
};

/** The slim copy of a Job as listed or watched. */
export function slimJob(object: unknown): SlimJob {
  const job = object as ApiObject & JobLike;
  const status = job.status;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: slimMetadata(job.metadata, JOB_LABELS, true),
    ...(job.spec?.suspend === true ? { spec: { suspend: true } } : {}),
    ...(status
      ? {
        status: {
          conditions: slimConditions(job),
          startTime: status.startTime,
          completionTime: status.completionTime,
        },
      }
      : {}),
  };
}

/** The slim copy of a pod as listed or watched. */
export function slimPod(object: unknown): SlimPod {
  const pod = object as ApiObject & PodLike;
  const status = pod.status;
  return {
    metadata: slimMetadata(pod.metadata, POD_LABELS, false),
    ...(status
      ? {
        status: {
          phase: pooled(status.phase),
          reason: pooled(status.reason),
          initContainerStatuses: slimContainers(status.initContainerStatuses),
          containerStatuses: slimContainers(status.containerStatuses),
        },
      }
      : {}),
  };
}

type ApiObject = {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
  };
};

function slimMetadata(
  metadata: ApiObject["metadata"],
  keys: readonly string[],
  job: boolean,
): SlimMetadata {
  const slim: SlimMetadata = { name: metadata.name };
  if (job && metadata.namespace) slim.namespace = pooled(metadata.namespace);
  if (job && metadata.uid) slim.uid = metadata.uid;
  if (metadata.creationTimestamp) slim.creationTimestamp = metadata.creationTimestamp;
  if (metadata.labels) {
    const labels: Record<string, string> = {};
    for (const key of keys) {
      const value = metadata.labels[key];
      const shadowedBy = SHADOWED_LABELS[key];
      if (value === undefined) continue;
      if (shadowedBy !== undefined && metadata.labels[shadowedBy] !== undefined) continue;
      // Topic and revision repeat across every Job of a topic: one copy of each.
      labels[key] = key === LABELS.topic || key === LABELS.revision ? pooled(value) : value;
    }
    slim.labels = labels;
  }
  return slim;
}

/**
 * The conditions `jobStatus` reads (the deciding ones), in the Job's order: of a finished Job
 * in Kubernetes ≥ 1.31, `Complete` and not the `SuccessCriteriaMet` it shadows.
 */
function slimConditions(job: JobLike): JobConditionLike[] | undefined {
  const deciding = new Set(Object.values(decidingConditions(job)));
  const kept = (job.status?.conditions ?? [])
    .filter((c) => deciding.has(c))
    .map((c) => ({
      type: pooled(c.type),
      status: "True",
      reason: pooled(c.reason),
      message: pooled(c.message),
      lastTransitionTime: c.lastTransitionTime,
    }));
  return kept.length > 0 ? kept : undefined;
}

/**
 * The containers that say something to `podState`: a waiting reason, or an end with a non-zero
 * exit code (the current state's, or the last state's when the current one has none).
 */
function slimContainers(
  containers: readonly ContainerStatusLike[] | undefined,
): ContainerStatusLike[] | undefined {
  const kept: ContainerStatusLike[] = [];
  for (const container of containers ?? []) {
    const waiting = container.state?.waiting?.reason;
    const ended = container.state?.terminated ?? container.lastState?.terminated;
    const failed = ended && (ended.exitCode ?? 0) !== 0;
    if (!waiting && !failed) continue;
    const state: ContainerStateLike = {};
    if (waiting) state.waiting = { reason: pooled(waiting) };
    const terminated = failed ? { reason: pooled(ended.reason), exitCode: ended.exitCode } : {};
    if (failed && container.state?.terminated) state.terminated = terminated;
    kept.push({
      state,
      ...(failed && !container.state?.terminated ? { lastState: { terminated } } : {}),
    });
  }
  return kept.length > 0 ? kept : undefined;
}

/** Strings longer than this are not pooled (rarely repeated, costly to hash). */
const MAX_POOLED_LENGTH = 128;
/** Entries the pool holds before it starts again, so distinct strings never grow it. */
const MAX_POOLED = 4_096;
const pool = new Map<string, string>();

/**
 * One copy of a string many objects repeat (a namespace, topic, revision, reason or message):
 * each parsed object otherwise holds its own.
 */
function pooled<T extends string | undefined>(text: T): T {
  if (text === undefined || text.length > MAX_POOLED_LENGTH) return text;
  const known = pool.get(text);
  if (known !== undefined) return known as T;
  if (pool.size >= MAX_POOLED) pool.clear();
  pool.set(text, text);
  return text;
}
