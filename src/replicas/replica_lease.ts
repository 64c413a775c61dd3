/**
 * Replicas visible to each other: each keeps a Lease in the router's namespace, renewed every
 * few seconds, whose annotations say which revision it serves, when it last synced and whether
 * it is healthy. Any replica lists the Leases to answer "which replicas are live, and do they
 * agree?"; a replica that dies stops renewing and drops out when its Lease expires.
 * @module
 */

import type { KubeConnection } from "../kube/connection.ts";
import { statusError } from "../kube/errors.ts";
import { resourcePath } from "../kube/paths.ts";

/** The Leases of `namespace`, or one of them. */
function leasePath(namespace: string, name?: string): string {
  return resourcePath("coordination.k8s.io/v1", "leases", { namespace, name });
}
const ROLE_LABEL = "gitfaas.io/role";
const ANNOTATIONS = {
  revision: "gitfaas.io/serving-revision",
  lastSync: "gitfaas.io/last-sync",
  healthy: "gitfaas.io/healthy",
  error: "gitfaas.io/last-error",
} as const;

/** What a replica says about itself. */
export interface ReplicaState {
  revision: string | null;
  /** ISO time of its last sync attempt. */
  lastSync: string | null;
  healthy: boolean;
  /** Its last sync error, if the last sync failed. */
  error?: string;
}

/** A live replica as `/status` lists it. */
export interface ReplicaInfo extends ReplicaState {
  name: string;
  /** ISO time of its last renewal. */
  renewedAt: string;
}

/** The Lease name of replica `name`. */
export function leaseName(name: string): string {
  return `gitfaas-replica-${name}`;
}

/** Writes (creates or renews) replica `name`'s Lease with `state`. */
export async function renewLease(
  kube: KubeConnection,
  state: ReplicaState,
  options: {
    namespace: string;
    name: string;
    durationSeconds: number;
    now?: Date;
    signal?: AbortSignal;
  },
): Promise<void> {
  const now = (options.now ?? new Date()).toISOString().replace(/Z$/, "000Z");
  const body = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: leaseName(options.name),
      namespace: options.namespace,
      labels: { "app.kubernetes.io/managed-by": "gitfaas", [ROLE_LABEL]: "replica" },
      annotations: {
        [ANNOTATIONS.revision]: state.revision ?? "",
        [ANNOTATIONS.lastSync]: state.lastSync ?? "",
        [ANNOTATIONS.healthy]: String(state.healthy),
        [ANNOTATIONS.error]: (state.error ?? "").slice(0, 1024),
      },
    },
    spec: {
      holderIdentity: options.name,
      leaseDurationSeconds: options.durationSeconds,
      renewTime: now,
    },
  };
  const response = await kube.request(
    "PATCH",
    `${
      leasePath(options.namespace, leaseName(options.name))
    }?fieldManager=gitfaas-replica&force=true`,
    {
      body: JSON.stringify(body),
      contentType: "application/apply-patch+yaml",
      signal: options.signal,
    },
  );
  if (response.status >= 300) throw statusError(response);
}

/** Removes replica `name`'s Lease (at shutdown, so it leaves the list at once). */
export async function dropLease(
  kube: KubeConnection,
  options: { namespace: string; name: string },
): Promise<void> {
  const response = await kube.request(
    "DELETE",
    leasePath(options.namespace, leaseName(options.name)),
  );
  if (response.status >= 300 && response.status !== 404) throw statusError(response);
}

/** The replicas whose Lease has not expired at `now`, by name. */
export async function liveReplicas(
  kube: KubeConnection,
  options: { namespace: string; now?: Date; signal?: AbortSignal },
): Promise<ReplicaInfo[]> {
  const response = await kube.request(
    "GET",
    `${leasePath(options.namespace)}?labelSelector=${encodeURIComponent(`${ROLE_LABEL}=replica`)}`,
    { signal: options.signal },
  );
  if (response.status !== 200) throw statusError(response);
  type Lease = {
    metadata: { annotations?: Record<string, string> };
    spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
  };
  const now = (options.now ?? new Date()).getTime();
  const replicas: ReplicaInfo[] = [];
  for (const lease of (JSON.parse(response.text) as { items?: Lease[] }).items ?? []) {
    const renewed = Date.parse(lease.spec?.renewTime ?? "");
    const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    if (!(renewed + duration > now) || !lease.spec?.holderIdentity) continue;
    const a = lease.metadata.annotations ?? {};
    replicas.push({
      name: lease.spec.holderIdentity,
      renewedAt: new Date(renewed).toISOString(),
      revision: a[ANNOTATIONS.revision] || null,
      lastSync: a[ANNOTATIONS.lastSync] || null,
      healthy: a[ANNOTATIONS.healthy] === "true",
      ...(a[ANNOTATIONS.error] ? { error: a[ANNOTATIONS.error] } : {}),
    });
  }
  return replicas.sort((x, y) => x.name.localeCompare(y.name));
}

/** Whether every live replica serves the same revision. */
export function replicasAgree(replicas: readonly ReplicaInfo[]): boolean {
  return new Set(replicas.map((r) => r.revision)).size <= 1;
}
