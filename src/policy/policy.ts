/**
 * What the router may apply, checked on parsed objects (never on text): kinds that are denied,
 * namespaces that are allowed, cluster-scoped kinds, which are refused unless listed, and
 * objects that would run as the router or read its Secret.
 * @module
 */

/** A kind in an API group; `group` is `""` for the core group and `"*"` for any group. */
export interface KindRule {
  kind: string;
  group: string;
}

/** The policy in force. */
export interface Policy {
  deniedKinds: readonly KindRule[];
  /** Namespaces objects may be applied in; `"*"` allows any. */
  allowedNamespaces: ReadonlySet<string> | "*";
  allowedClusterKinds: readonly KindRule[];
  /**
   * The router's own identity. Its ServiceAccount may read the router's Secret (the Git token,
   * the webhook secret, the publish token), and so may any pod in its namespace that mounts it:
   * no object may name that ServiceAccount, nor read a Secret in that namespace.
   */
  router?: RouterIdentity;
}

/** Who the router runs as. */
export interface RouterIdentity {
  /** ROUTER_SERVICE_ACCOUNT. */
  serviceAccount: string;
  /** The namespace the router runs in, when known (in a cluster); its Secret lives there. */
  namespace?: string;
}

/** The default `DENIED_KINDS`: what grants permissions, holds credentials or exposes services. */
export const DEFAULT_DENIED_KINDS =
  "Role.rbac.authorization.k8s.io,RoleBinding.rbac.authorization.k8s.io," +
  "ClusterRole.rbac.authorization.k8s.io,ClusterRoleBinding.rbac.authorization.k8s.io," +
  "ServiceAccount,Secret,Ingress.networking.k8s.io,Ingress.extensions";

/** A kind list that cannot be read. */
export class PolicySyntaxError extends Error {
  override name = "PolicySyntaxError";
}

const KIND = /^[A-Za-z][A-Za-z0-9]*$/;
const GROUP = /^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$/;

/**
 * Reads a comma-separated kind list: `Kind` is the core group, `Kind.group` that group,
 * `Kind.*` any group; `none` (or nothing) is the empty list.
 */
export function parseKindList(text: string): KindRule[] {
  const trimmed = text.trim();
  if (trimmed === "" || trimmed.toLowerCase() === "none") return [];
  return trimmed.split(",").map((item) => item.trim()).filter(Boolean).map((item) => {
    const dot = item.indexOf(".");
    const kind = dot === -1 ? item : item.slice(0, dot);
    const group = dot === -1 ? "" : item.slice(dot + 1);
    if (!KIND.test(kind) || (group !== "" && !GROUP.test(group))) {
      throw new PolicySyntaxError(
        `"${item}" is not a kind: write Kind (core group), Kind.group or Kind.*`,
      );
    }
    return { kind, group };
  });
}

/** The API group of an apiVersion: `batch/v1` → `batch`, `v1` → `""`. */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash === -1 ? "" : apiVersion.slice(0, slash);
}

function matches(rules: readonly KindRule[], group: string, kind: string): boolean {
  return rules.some((r) =>
    (r.kind === "*" || r.kind === kind) && (r.group === "*" || r.group === group)
  );
}

/** A kind as people write it: `Job.batch`, or `Secret` for the core group. */
export function kindName(apiVersion: string, kind: string): string {
  const group = groupOf(apiVersion);
  return group ? `${kind}.${group}` : kind;
}

/**
 * Kinds known to be cluster-scoped, so the index build can flag them before any API server
 * is asked; at publish, discovery decides.
 */
const KNOWN_CLUSTER_KINDS = parseKindList(
  "Namespace,Node,PersistentVolume,ClusterRole.rbac.authorization.k8s.io," +
    "ClusterRoleBinding.rbac.authorization.k8s.io,StorageClass.storage.k8s.io," +
    "CSIDriver.storage.k8s.io,PriorityClass.scheduling.k8s.io," +
    "CustomResourceDefinition.apiextensions.k8s.io,APIService.apiregistration.k8s.io," +
    "ValidatingWebhookConfiguration.admissionregistration.k8s.io," +
    "MutatingWebhookConfiguration.admissionregistration.k8s.io,IngressClass.networking.k8s.io," +
    "RuntimeClass.node.k8s.io",
);

/** Whether `kind` is one of the well-known cluster-scoped kinds (used where no API server is asked). */
export function isKnownClusterKind(apiVersion: string, kind: string): boolean {
  return matches(KNOWN_CLUSTER_KINDS, groupOf(apiVersion), kind);
}

/** An object's identity as far as the policy cares. */
export interface PolicySubject {
  apiVersion: string;
  kind: string;
  /** The namespace it will be applied in (after defaulting); undefined when not known yet. */
  namespace?: string;
  /** Whether the kind is namespaced; undefined when not known (index build). */
  namespaced?: boolean;
  /** The object itself (rendered), for the checks of what it runs as and what it reads. */
  object?: unknown;
}

/** Why `subject` may not be applied, or undefined when it may. */
export function policyViolation(policy: Policy, subject: PolicySubject): string | undefined {
  const group = groupOf(subject.apiVersion);
  const name = kindName(subject.apiVersion, subject.kind);
  if (matches(policy.deniedKinds, group, subject.kind)) {
    return `${name} is a denied kind (DENIED_KINDS)`;
  }
  const clusterScoped = subject.namespaced === false ||
    (subject.namespaced === undefined && matches(KNOWN_CLUSTER_KINDS, group, subject.kind));
  if (clusterScoped) {
    if (!matches(policy.allowedClusterKinds, group, subject.kind)) {
      return `${name} is cluster-scoped and not listed in ALLOWED_CLUSTER_KINDS`;
    }
    return undefined;
  }
  if (
    subject.namespace !== undefined && policy.allowedNamespaces !== "*" &&
    !policy.allowedNamespaces.has(subject.namespace)
  ) {
    const allowed = [...policy.allowedNamespaces].join(", ");
    return `namespace "${subject.namespace}" is not allowed (ALLOWED_NAMESPACES: ${allowed})`;
  }
  return policy.router && subject.object !== undefined
    ? routerViolation(policy.router, subject.namespace, subject.object)
    : undefined;
}

/** Keys whose value names a ServiceAccount to run as: pod specs, and CRDs that copy them. */
const SERVICE_ACCOUNT_KEYS = new Set(["serviceAccountName", "serviceAccount"]);
/**
 * Keys whose value references a Secret by `name` or `secretName`: env `secretKeyRef`, envFrom
 * `secretRef`, `secret` volumes and projected sources, CSI and other volume plugins' refs.
 */
const SECRET_KEYS = new Set(["secretKeyRef", "secretRef", "secret", "nodePublishSecretRef"]);

/**
 * Why an object would run as the router or read its Secret: it names the router's
 * ServiceAccount anywhere, or, in the router's own namespace, references any Secret. Every key
 * of the object is visited, so the check holds for pod templates at any depth and for custom
 * resources that carry a pod spec.
 */
function routerViolation(
  router: RouterIdentity,
  namespace: string | undefined,
  object: unknown,
): string | undefined {
  const inRouterNamespace = router.namespace !== undefined && namespace === router.namespace;
  const pending: unknown[] = [object];
  while (pending.length > 0) {
    const node = pending.pop();
    if (typeof node !== "object" || node === null) continue;
    if (Array.isArray(node)) {
      pending.push(...node);
      continue;
    }
    // Keys, not `Object.entries`: no pair array per key (objects here are plain, from JSON or
    // the render, so `for…in` sees only their own keys; an own `__proto__` reads as itself).
    for (const key in node) {
      const value = (node as Record<string, unknown>)[key];
      if (SERVICE_ACCOUNT_KEYS.has(key) && value === router.serviceAccount) {
        return `${key} "${value}" is the router's own ServiceAccount (ROUTER_SERVICE_ACCOUNT), ` +
          `which can read the router's Secret`;
      }
      if (inRouterNamespace && SECRET_KEYS.has(key)) {
        const name = secretName(value);
        if (name !== undefined) {
          return `${key} reads Secret "${name}" in the router's own namespace "${namespace}", ` +
            `where its credentials are: run Jobs in a namespace of their own (NAMESPACE)`;
        }
      }
      pending.push(value);
    }
  }
  return undefined;
}

function secretName(reference: unknown): string | undefined {
  if (typeof reference !== "object" || reference === null) return undefined;
  const { name, secretName } = reference as { name?: unknown; secretName?: unknown };
  const found = typeof secretName === "string" ? secretName : name;
  return typeof found === "string" ? found : undefined;
}

/** A policy that allows everything (tests, and tools that only render). */
export const OPEN_POLICY: Policy = {
  deniedKinds: [],
  allowedNamespaces: "*",
  allowedClusterKinds: [{ kind: "*", group: "*" }],
};
