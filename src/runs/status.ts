/**
 * Status from what the cluster says, with no state of our own: a Job's conditions and its pods
 * give one status per object, objects give one per request, requests one per run. Pure functions
 * over the API server's own objects, so every replica computes the same answer.
 * @module
 */

/** The status of an object, a request or a run. */
export type Status = "pending" | "running" | "succeeded" | "failed" | "deleted";

/** A pod as the status reads it (a subset of `v1.Pod`: nothing else of it is read). */
export interface PodLike {
  metadata?: { name?: string; creationTimestamp?: string };
  status?: {
    phase?: string;
    reason?: string;
    containerStatuses?: ContainerStatusLike[];
    initContainerStatuses?: ContainerStatusLike[];
  };
}

/** A container's status as the status reads it (a subset of `v1.ContainerStatus`). */
export interface ContainerStatusLike {
  state?: ContainerStateLike;
  lastState?: ContainerStateLike;
}

/** A container's state as the status reads it (a subset of `v1.ContainerState`). */
export interface ContainerStateLike {
  waiting?: { reason?: string };
  terminated?: { reason?: string; exitCode?: number };
}

/** A Job as the status reads it (a subset of `batch/v1` Job: nothing else of it is read). */
export interface JobLike {
  spec?: { suspend?: boolean };
  status?: {
    conditions?: JobConditionLike[];
    startTime?: string;
    completionTime?: string;
  };
}

/** A Job condition as the status reads it. */
export interface JobConditionLike {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/**
 * The true conditions that decide a Job's status, each the first of its kind in the Job's
 * order: `Failed` before `FailureTarget`, `Complete` before `SuccessCriteriaMet`. The status
 * reads no other condition.
 */
export function decidingConditions(job: JobLike): {
  failed?: JobConditionLike;
  complete?: JobConditionLike;
  suspended?: JobConditionLike;
} {
  return {
    failed: condition(job, "Failed") ?? condition(job, "FailureTarget"),
    complete: condition(job, "Complete") ?? condition(job, "SuccessCriteriaMet"),
    suspended: condition(job, "Suspended"),
  };
}

/** One pod of a Job, as a request's report shows it. */
export interface PodState {
  name: string;
  phase: string;
  /** Why it waits or why it ended: `ImagePullBackOff`, `OOMKilled`, `Error`… */
  reason?: string;
  exitCode?: number;
}

/** The live state of one object of a request. */
export interface ObjectStatus {
  status: Status;
  /** Why it failed or waits: `BackoffLimitExceeded`, `DeadlineExceeded`, `ImagePullBackOff`… */
  reason?: string;
  message?: string;
  /** The exit code of the last container that ended in failure. */
  exitCode?: number;
  startedAt?: string;
  finishedAt?: string;
  pods?: PodState[];
}

/** Reasons a waiting container will not get past on its own. */
const STUCK_WAITING = new Set([
  "ImagePullBackOff",
  "ErrImagePull",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
  "CrashLoopBackOff",
]);

/** The status of a Job from its conditions, with details from its pods. */
export function jobStatus(job: JobLike, pods: readonly PodLike[] = []): ObjectStatus {
  const podStates = pods.map(podState).sort((a, b) => a.name.localeCompare(b.name));
  const base = {
    ...(job.status?.startTime ? { startedAt: job.status.startTime } : {}),
    ...(podStates.length > 0 ? { pods: podStates } : {}),
  };
  const { failed, complete, suspended } = decidingConditions(job);
  if (failed) {
    const pod = lastFailedPod(pods);
    return {
      ...base,
      status: "failed",
      reason: failed.reason ?? "Failed",
      ...(failed.message ? { message: failed.message } : {}),
      ...(pod?.exitCode !== undefined ? { exitCode: pod.exitCode } : {}),
      ...(pod?.reason ? { message: messageWithPod(failed.message, pod) } : {}),
      ...finishedAt(failed.lastTransitionTime),
    };
  }
  if (complete) {
    return {
      ...base,
      status: "succeeded",
      ...finishedAt(job.status?.completionTime ?? complete.lastTransitionTime),
    };
  }
  if (job.spec?.suspend || suspended) {
    return { ...base, status: "pending", reason: "Suspended" };
  }
  const stuck = podStates.find((p) => p.reason && STUCK_WAITING.has(p.reason));
  if (podStates.some((p) => p.phase === "Running") && !stuck) return { ...base, status: "running" };
  if (stuck) return { ...base, status: "pending", reason: stuck.reason };
  const waiting = podStates.find((p) => p.phase === "Pending" && p.reason);
  return { ...base, status: "pending", ...(waiting ? { reason: waiting.reason } : {}) };
}

/** The status of an object that is not a Job: it did its work when it was applied. */
export function appliedStatus(): ObjectStatus {
  return { status: "succeeded" };
}

/** The status of an object the cluster no longer has: removed by its TTL or a cancel. */
export function deletedStatus(): ObjectStatus {
  return { status: "deleted" };
}

/**
 * One status for a request from its objects' statuses: failed if any failed, else running if any
 * runs, else pending if any waits, else deleted if any is gone (a Job removed by its TTL no longer
 * says how it ended), else succeeded.
 */
export function requestStatus(statuses: readonly Status[]): Status {
  for (const status of ["failed", "running", "pending", "deleted"] as const) {
    if (statuses.includes(status)) return status;
  }
  return statuses.length > 0 ? "succeeded" : "deleted";
}

/**
 * One status for a run from its requests': failed as soon as one failed; running while any is
 * pending or running; succeeded when all are done (a step removed by its TTL counts as done when
 * another step succeeded); deleted when nothing of it is left.
 */
export function runStatus(statuses: readonly Status[]): Status {
  if (statuses.includes("failed")) return "failed";
  if (statuses.includes("running") || statuses.includes("pending")) return "running";
  if (statuses.includes("succeeded")) return "succeeded";
  return "deleted";
}

/** True once a status can no longer change (what `?wait` waits for). */
export function isFinal(status: Status): boolean {
  return status === "succeeded" || status === "failed" || status === "deleted";
}

function condition(job: JobLike, type: string): JobConditionLike | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === "True");
}

function finishedAt(time: string | undefined) {
  return time ? { finishedAt: time } : {};
}

function podState(pod: PodLike): PodState {
  const phase = pod.status?.phase ?? "Pending";
  const containers = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  const waiting = containers.find((c) => c.state?.waiting?.reason)?.state?.waiting;
  const terminated = containers
    .map((c) => c.state?.terminated ?? c.lastState?.terminated)
    .find((t) => t && (t.exitCode ?? 0) !== 0);
  const reason = phase === "Failed"
    ? terminated?.reason ?? pod.status?.reason ?? "Failed"
    : waiting?.reason ?? (phase === "Pending" ? pod.status?.reason : undefined);
  return {
    name: pod.metadata?.name ?? "",
    phase,
    ...(reason ? { reason } : {}),
    ...(terminated?.exitCode !== undefined ? { exitCode: terminated.exitCode } : {}),
  };
}

function lastFailedPod(pods: readonly PodLike[]): PodState | undefined {
  const failed = pods.filter((p) => p.status?.phase === "Failed");
  failed.sort((a, b) =>
    (a.metadata?.creationTimestamp ?? "").localeCompare(b.metadata?.creationTimestamp ?? "")
  );
  const last = failed.at(-1);
  return last ? podState(last) : undefined;
}

function messageWithPod(message: string | undefined, pod: PodState): string {
  const detail = `last pod ${pod.name}: ${pod.reason}` +
    (pod.exitCode !== undefined ? ` (exit code ${pod.exitCode})` : "");
  return message ? `${message}; ${detail}` : detail;
}
