/**
 * What the router may apply, checked on parsed objects (never on text): kinds that are denied,
 * namespaces that are allowed, and cluster-scoped kinds, which are refused unless listed.
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
  return undefined;
}

/** A policy that allows everything (tests, and tools that only render). */
export const OPEN_POLICY: Policy = {
  deniedKinds: [],
  allowedNamespaces: "*",
  allowedClusterKinds: [{ kind: "*", group: "*" }],
};
