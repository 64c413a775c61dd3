/**
 * The labels that mark what the router made, so `kubectl get -l` finds every object of a topic
 * or of one request, on the objects and on the pods their controllers start.
 * @module
 */

import type { KubeObject } from "../kube/apply.ts";
import { isRecord } from "../lib/objects.ts";

/** Label keys the router sets. */
export const LABELS = {
  managedBy: "app.kubernetes.io/managed-by",
  topic: "gitfaas.io/topic",
  requestUuid: "gitfaas.io/request-uuid",
  /** The run (W3C trace id) the request belongs to. */
  runId: "gitfaas.io/run-id",
  /** The `requestUuid` of the request that published this one; absent on a run's first. */
  parent: "gitfaas.io/parent",
  /** The commit whose templates rendered the object. */
  revision: "gitfaas.io/revision",
  /** The `FUNCTION_UID` of the manifest file the object came from (upstream's `/response`). */
  functionUid: "gitfaas.io/function-uid",
} as const;

/** Annotation keys the router sets. */
export const ANNOTATIONS = {
  /**
   * The digest of the request (topic, body, query values) that applied the object, on every
   * object of a publish with an Idempotency-Key: a later request with the same key and another
   * digest is refused, with this object as the cluster's memory of the first.
   */
  requestDigest: "gitfaas.io/request-digest",
} as const;

/** Sets `annotations` on `object`'s own metadata (not on its pod template), in place. */
export function addAnnotations(object: KubeObject, annotations: Record<string, string>): void {
  const metadata = (object.metadata = isRecord(object.metadata) ? object.metadata : {});
  const current = isRecord(metadata.annotations) ? metadata.annotations : {};
  metadata.annotations = { ...current, ...annotations };
}

/** Paths to the pod template of the kinds that have one. */
const POD_TEMPLATE_PATHS: Record<string, string[]> = {
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
};

/** What the labels of one request's objects say. */
export interface RequestLabels {
  topic: string;
  requestUuid: string;
  /** The run, when the request has one (every publish does; tests may leave it out). */
  runId?: string;
  parent?: string | null;
  revision?: string;
  functionUid?: string;
}

/**
 * Sets the router's labels on `object` (and its pod template, so its pods carry them too), in
 * place: the runs API rebuilds every request and run from these labels alone.
 */
export function addLabels(object: KubeObject, labels: RequestLabels): void {
  const set: Record<string, string> = {
    [LABELS.managedBy]: "gitfaas",
    [LABELS.topic]: labels.topic,
    [LABELS.requestUuid]: labels.requestUuid,
    ...(labels.runId ? { [LABELS.runId]: labels.runId } : {}),
    ...(labels.parent ? { [LABELS.parent]: labels.parent } : {}),
    ...(labels.revision ? { [LABELS.revision]: labels.revision } : {}),
    ...(labels.functionUid ? { [LABELS.functionUid]: labels.functionUid } : {}),
  };
  object.metadata = withLabels(object.metadata, set);
  const path = POD_TEMPLATE_PATHS[object.kind];
  if (!path) return;
  if (object.kind === "CronJob") {
    const jobTemplate = dig(object, ["spec", "jobTemplate"]);
    if (jobTemplate) jobTemplate.metadata = withLabels(jobTemplate.metadata, set);
  }
  const template = dig(object, path);
  if (template) template.metadata = withLabels(template.metadata, set);
}

type Metadata = KubeObject["metadata"];

function withLabels(metadata: unknown, labels: Record<string, string>): NonNullable<Metadata> {
  const meta = (isRecord(metadata) ? metadata : {}) as NonNullable<Metadata>;
  meta.labels = { ...(isRecord(meta.labels) ? meta.labels : {}), ...labels };
  return meta;
}

function dig(object: unknown, path: string[]): Record<string, unknown> | undefined {
  let at: unknown = object;
  for (const key of path) {
    if (!isRecord(at)) return undefined;
    at = at[key];
  }
  return isRecord(at) ? at : undefined;
}
