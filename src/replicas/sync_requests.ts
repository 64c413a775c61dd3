/**
 * Push fan-out through the API server: the replica that receives a verified webhook records the
 * pushed revision as an annotation on one shared ConfigMap, and every replica watches that
 * object and syncs until it serves that commit (or a later one) — how Argo CD's refresh
 * annotation and Flux's `reconcile.fluxcd.io/requestedAt` reach every replica. A replica that
 * starts later reads the annotation with its first list.
 * @module
 */

import type { KubeConnection } from "../kube/connection.ts";
import { statusError } from "../kube/errors.ts";
import { resourcePath } from "../kube/paths.ts";
import { listAndWatch } from "../kube/watch.ts";

/** The shared object, in the router's own namespace. */
export const SYNC_OBJECT = "gitfaas-sync";

/** Annotation keys on the shared object. */
export const SYNC_ANNOTATIONS = {
  revision: "gitfaas.io/requested-revision",
  at: "gitfaas.io/requested-at",
  by: "gitfaas.io/requested-by",
} as const;

/** A recorded sync request. */
export interface SyncRequest {
  revision: string;
  /** ISO time it was recorded. */
  at: string;
  /** The replica that recorded it. */
  by: string;
}

/** Records `request` on the shared object (created on first use), server-side apply. */
export async function recordSyncRequest(
  kube: KubeConnection,
  request: SyncRequest,
  options: { namespace: string; signal?: AbortSignal },
): Promise<void> {
  const body = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: SYNC_OBJECT,
      namespace: options.namespace,
      labels: { "app.kubernetes.io/managed-by": "gitfaas" },
      annotations: {
        [SYNC_ANNOTATIONS.revision]: request.revision,
        [SYNC_ANNOTATIONS.at]: request.at,
        [SYNC_ANNOTATIONS.by]: request.by,
      },
    },
  };
  const response = await kube.request(
    "PATCH",
    `${configMaps(options.namespace)}/${SYNC_OBJECT}?fieldManager=gitfaas-sync&force=true`,
    {
      body: JSON.stringify(body),
      contentType: "application/apply-patch+yaml",
      signal: options.signal,
    },
  );
  if (response.status >= 300) throw statusError(response);
}

/**
 * Watches the shared object until `options.signal` aborts, calling `onRequest` with every
 * recorded request it sees (the current one first). Resolves after the first list.
 */
export function watchSyncRequests(
  kube: KubeConnection,
  options: {
    namespace: string;
    signal: AbortSignal;
    /** `listed`: read at a (re)list, not seen as a change. */
    onRequest: (request: SyncRequest, listed: boolean) => void;
    onError?: (error: Error) => void;
  },
): Promise<void> {
  type ConfigMap = {
    metadata: { name: string; annotations?: Record<string, string> };
  };
  const seen = (object: ConfigMap, listed: boolean) => {
    const annotations = object.metadata.annotations ?? {};
    const revision = annotations[SYNC_ANNOTATIONS.revision];
    if (!revision) return;
    options.onRequest({
      revision,
      at: annotations[SYNC_ANNOTATIONS.at] ?? "",
      by: annotations[SYNC_ANNOTATIONS.by] ?? "",
    }, listed);
  };
  return listAndWatch<ConfigMap>(kube, configMaps(options.namespace), {
    fieldSelector: `metadata.name=${SYNC_OBJECT}`,
    signal: options.signal,
    handlers: {
      onList: (items) => items.forEach((item) => seen(item, true)),
      onEvent: (type, object) => {
        if (type !== "DELETED") seen(object, false);
      },
      onError: options.onError,
    },
  });
}

function configMaps(namespace: string): string {
  return resourcePath("v1", "configmaps", { namespace });
}
