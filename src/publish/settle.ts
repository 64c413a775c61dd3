/**
 * The settle step of a publish: how each object is served (discovery, or the list of
 * well-known cluster-scoped kinds when there is no cluster), then its namespace and name. Both
 * paths settle through {@linkcode settleObject}, so a render-only publish shows what the cluster path
 * would apply, and the Kubernetes layer gets objects whose names are already decided.
 * @module
 */

import { discoverResource, type KubeApiError, type ResolvedObject } from "../kube/apply.ts";
import type { KubeConnection } from "../kube/connection.ts";
import { isKnownClusterKind } from "../policy/policy.ts";
import type { Rendered } from "./render.ts";
import { failure, type ObjectReport, skipped } from "./report.ts";
import { generatedName } from "./values.ts";

/** What settling an object needs to know. */
export interface SettleOptions {
  /** Namespace for namespaced objects that name none. */
  namespace: string;
  /** The publish's REQUEST_UUID, the seed of derived names. */
  requestUuid: string;
}

/**
 * Settles `item.object` in place: a namespaced object without a namespace gets
 * `options.namespace`, a cluster-scoped one loses any it has, and an object written with
 * `generateName` gets its derived name. Returns whether it must be created (never updated).
 */
export function settleObject(item: Rendered, namespaced: boolean, options: SettleOptions): boolean {
  const metadata = item.object.metadata ??= {};
  if (namespaced) metadata.namespace ??= options.namespace;
  else delete metadata.namespace;
  const create = !metadata.name && !!metadata.generateName;
  if (create) {
    metadata.name = generatedName(options.requestUuid, metadata.generateName!, item.where);
    delete metadata.generateName;
  }
  return create;
}

/** Without a cluster: settles every object, taking the scope from the well-known kinds. */
export function settleLocally(rendered: Rendered[], options: SettleOptions): boolean[] {
  return rendered.map((item) => {
    const namespaced = !isKnownClusterKind(item.object.apiVersion, item.object.kind);
    settleObject(item, namespaced, options);
    return namespaced;
  });
}

/** Options for {@linkcode settleInCluster}: the publish's time budget and retry hook. */
export interface ClusterSettleOptions extends SettleOptions {
  deadline: AbortSignal;
  remainingMs: () => number;
  onRetry?: (error: KubeApiError) => void;
}

/**
 * Discovers and settles every object, in order. When any object cannot be discovered, the
 * answer is the report instead: that object failed and the others were skipped, so nothing of
 * a publish is applied unless all of it can be.
 */
export async function settleInCluster(
  kube: KubeConnection,
  rendered: Rendered[],
  options: ClusterSettleOptions,
): Promise<{ settled: ResolvedObject[] } | { failed: ObjectReport[] }> {
  const outcomes: (ResolvedObject | ObjectReport)[] = [];
  for (const item of rendered) {
    try {
      const resource = await discoverResource(kube, item.object, options);
      const create = settleObject(item, resource.namespaced, options);
      outcomes.push({ object: item.object, resource, create });
    } catch (error) {
      outcomes.push(failure(item, error));
    }
  }
  if (!outcomes.some((o) => "outcome" in o)) return { settled: outcomes as ResolvedObject[] };
  return {
    failed: outcomes.map((o, i) =>
      "outcome" in o
        ? o
        : skipped(rendered[i], "another object of this publish could not be resolved")
    ),
  };
}
