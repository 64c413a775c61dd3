/**
 * Request results kept in the cluster: one Secret per request, owned by the request's Job so the
 * garbage collector removes it with the Job. Secrets hold bytes (base64 `data`), so a result
 * round-trips byte for byte whatever its content type, and any replica can read what another
 * stored.
 * @module
 */

import { Buffer } from "node:buffer";
import type { KubeConnection } from "../kube/connection.ts";
import { FIELD_MANAGER } from "../kube/apply.ts";
import { statusError } from "../kube/errors.ts";
import { resourcePath } from "../kube/paths.ts";
import { LABELS } from "../publish/labels.ts";

/** A stored result. */
export interface Result {
  contentType: string;
  body: Uint8Array;
}

/** The object a result belongs to, so it goes when that object goes. */
export interface ResultOwner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

const CONTENT_TYPE = "gitfaas.io/content-type";

/** The name of a request's result Secret. */
export function resultName(requestUuid: string): string {
  return `gitfaas-result-${requestUuid}`;
}

/** Stores (or replaces) the result of `requestUuid` in `namespace`. */
export async function putResult(
  kube: KubeConnection,
  result: Result,
  options: { namespace: string; requestUuid: string; runId?: string; owner?: ResultOwner },
): Promise<void> {
  const name = resultName(options.requestUuid);
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace: options.namespace,
      labels: {
        [LABELS.managedBy]: "gitfaas",
        [LABELS.requestUuid]: options.requestUuid,
        ...(options.runId ? { [LABELS.runId]: options.runId } : {}),
      },
      annotations: { [CONTENT_TYPE]: result.contentType },
      ...(options.owner
        ? {
          ownerReferences: [{
            ...options.owner,
            blockOwnerDeletion: false,
            controller: false,
          }],
        }
        : {}),
    },
    type: "Opaque",
    data: { result: Buffer.from(result.body).toString("base64") },
  };
  const path = resourcePath("v1", "secrets", { namespace: options.namespace, name }) +
    `?fieldManager=${FIELD_MANAGER}&force=true`;
  const response = await kube.request("PATCH", path, {
    body: JSON.stringify(secret),
    contentType: "application/apply-patch+yaml",
  });
  if (response.status >= 300) throw statusError(response);
}

/** The result of `requestUuid`, or undefined when none was posted (or it was removed). */
export async function getResult(
  kube: KubeConnection,
  options: { namespace: string; requestUuid: string },
): Promise<Result | undefined> {
  const path = resourcePath("v1", "secrets", {
    namespace: options.namespace,
    name: resultName(options.requestUuid),
  });
  const response = await kube.request("GET", path);
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw statusError(response);
  const secret = JSON.parse(response.text) as {
    metadata?: { annotations?: Record<string, string> };
    data?: { result?: string };
  };
  return {
    contentType: secret.metadata?.annotations?.[CONTENT_TYPE] ?? "application/octet-stream",
    body: new Uint8Array(Buffer.from(secret.data?.result ?? "", "base64")),
  };
}
