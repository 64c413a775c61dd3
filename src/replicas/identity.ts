/**
 * Who this replica is: its pod name and namespace from the downward API (`POD_NAME`,
 * `POD_NAMESPACE`), or outside a cluster the host name plus process id and the router's
 * namespace, made safe for an object name.
 * @module
 */

/** A replica's name and the namespace its shared objects live in. */
export interface ReplicaIdentity {
  name: string;
  namespace: string;
}

/** The identity from the environment, falling back to host name, pid and `namespace`. */
export function replicaIdentity(
  env: { POD_NAME?: string; POD_NAMESPACE?: string },
  fallback: { hostname: string; pid: number; namespace: string },
): ReplicaIdentity {
  const name = env.POD_NAME?.trim() || `${fallback.hostname}-${fallback.pid}`;
  return {
    name: objectNamePart(name),
    namespace: env.POD_NAMESPACE?.trim() || fallback.namespace,
  };
}

/** Lowercase letters, digits and `-`, at most 40 characters (it becomes part of a name). */
function objectNamePart(text: string): string {
  const cleaned = text.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  return (cleaned || "replica").slice(0, 40).replace(/-+$/, "");
}
