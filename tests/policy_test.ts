import { assertEquals, assertThrows } from "./support/assert.ts";
import {
  DEFAULT_DENIED_KINDS,
  parseKindList,
  type Policy,
  PolicySyntaxError,
  policyViolation,
} from "../src/policy/policy.ts";

const policy: Policy = {
  deniedKinds: parseKindList(DEFAULT_DENIED_KINDS),
  allowedNamespaces: new Set(["jobs"]),
  allowedClusterKinds: parseKindList("PriorityClass.scheduling.k8s.io"),
};

Deno.test("kind lists name the group: Kind is core, Kind.group that group, Kind.* any", () => {
  assertEquals(parseKindList("Secret, Role.rbac.authorization.k8s.io,Widget.*"), [
    { kind: "Secret", group: "" },
    { kind: "Role", group: "rbac.authorization.k8s.io" },
    { kind: "Widget", group: "*" },
  ]);
  assertEquals(parseKindList("none"), []);
  assertThrows(() => parseKindList("Secret,bad kind"), PolicySyntaxError, '"bad kind"');
  assertThrows(() => parseKindList("Role.RBAC"), PolicySyntaxError);
});

Deno.test("denied kinds are matched on group and kind", () => {
  const v = (apiVersion: string, kind: string) =>
    policyViolation(policy, { apiVersion, kind, namespace: "jobs", namespaced: true });
  assertEquals(
    v("rbac.authorization.k8s.io/v1", "Role"),
    "Role.rbac.authorization.k8s.io is a denied kind (DENIED_KINDS)",
  );
  assertEquals(v("v1", "Secret"), "Secret is a denied kind (DENIED_KINDS)");
  assertEquals(
    v("networking.k8s.io/v1", "Ingress"),
    "Ingress.networking.k8s.io is a denied kind (DENIED_KINDS)",
  );
  // Same kind name in another group is another kind.
  assertEquals(v("example.com/v1", "Role"), undefined);
  assertEquals(v("batch/v1", "Job"), undefined);
});

Deno.test("namespaces outside ALLOWED_NAMESPACES are refused", () => {
  assertEquals(
    policyViolation(policy, {
      apiVersion: "batch/v1",
      kind: "Job",
      namespace: "kube-system",
      namespaced: true,
    }),
    'namespace "kube-system" is not allowed (ALLOWED_NAMESPACES: jobs)',
  );
  assertEquals(
    policyViolation({ ...policy, allowedNamespaces: "*" }, {
      apiVersion: "batch/v1",
      kind: "Job",
      namespace: "kube-system",
      namespaced: true,
    }),
    undefined,
  );
});

Deno.test("cluster-scoped kinds are refused unless listed, by discovery or by name", () => {
  assertEquals(
    policyViolation(policy, { apiVersion: "v1", kind: "Namespace", namespaced: false }),
    "Namespace is cluster-scoped and not listed in ALLOWED_CLUSTER_KINDS",
  );
  // Before discovery (index build), well-known cluster kinds are recognised by name.
  assertEquals(
    policyViolation(policy, { apiVersion: "v1", kind: "Namespace" }),
    "Namespace is cluster-scoped and not listed in ALLOWED_CLUSTER_KINDS",
  );
  assertEquals(
    policyViolation(policy, {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      namespaced: false,
    }),
    undefined,
  );
  assertEquals(
    policyViolation(policy, { apiVersion: "example.com/v1", kind: "Widget", namespaced: false }),
    "Widget.example.com is cluster-scoped and not listed in ALLOWED_CLUSTER_KINDS",
  );
});

/** A Job whose pod spec is `pod`, in `namespace`. */
function job(namespace: string, pod: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "j", namespace },
    spec: { template: { spec: { restartPolicy: "Never", ...pod } } },
  };
}

const container = (extra: Record<string, unknown>) => ({
  containers: [{ name: "c", image: "busybox", ...extra }],
});

Deno.test("no object may run as the router's ServiceAccount, in any namespace or at any depth", () => {
  const guarded: Policy = {
    ...policy,
    router: { serviceAccount: "gitfaas", namespace: "gitfaas" },
  };
  const check = (object: Record<string, unknown>, namespace = "jobs") =>
    policyViolation(guarded, {
      apiVersion: String(object.apiVersion),
      kind: String(object.kind),
      namespace,
      namespaced: true,
      object,
    });
  const expected =
    `serviceAccountName "gitfaas" is the router's own ServiceAccount (ROUTER_SERVICE_ACCOUNT), ` +
    `which can read the router's Secret`;
  assertEquals(check(job("jobs", { serviceAccountName: "gitfaas", ...container({}) })), expected);
  // The deprecated alias, a CronJob's pod template, a custom resource that carries a pod spec.
  assertEquals(
    check(job("jobs", { serviceAccount: "gitfaas", ...container({}) }))?.startsWith(
      `serviceAccount "gitfaas" is the router's own ServiceAccount`,
    ),
    true,
  );
  const cron = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "c" },
    spec: { schedule: "@daily", jobTemplate: job("jobs", { serviceAccountName: "gitfaas" }) },
  };
  assertEquals(check(cron), expected);
  const workflow = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Workflow",
    metadata: { name: "w" },
    spec: { serviceAccountName: "gitfaas", entrypoint: "main" },
  };
  assertEquals(check(workflow), expected);
  // Under a `__proto__` key, which JSON and YAML make an own property like any other.
  const hidden = JSON.parse(
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},' +
      '"data":{"__proto__":{"serviceAccountName":"gitfaas"}}}',
  );
  assertEquals(check(hidden), expected);
  // Another account, or no router identity configured: allowed.
  assertEquals(check(job("jobs", { serviceAccountName: "reporter", ...container({}) })), undefined);
  assertEquals(
    policyViolation(policy, {
      apiVersion: "batch/v1",
      kind: "Job",
      namespace: "jobs",
      object: job("jobs", { serviceAccountName: "gitfaas" }),
    }),
    undefined,
  );
});

Deno.test("no object in the router's own namespace may read a Secret there", () => {
  const guarded: Policy = {
    ...policy,
    allowedNamespaces: "*",
    router: { serviceAccount: "gitfaas", namespace: "gitfaas" },
  };
  const check = (namespace: string, pod: Record<string, unknown>) =>
    policyViolation(guarded, {
      apiVersion: "batch/v1",
      kind: "Job",
      namespace,
      namespaced: true,
      object: job(namespace, pod),
    });
  const reads = (key: string) =>
    `${key} reads Secret "gitfaas-secrets" in the router's own namespace "gitfaas", where its ` +
    `credentials are: run Jobs in a namespace of their own (NAMESPACE)`;
  const env = container({
    env: [{
      name: "T",
      valueFrom: { secretKeyRef: { name: "gitfaas-secrets", key: "GIT_PERSONAL_TOKEN" } },
    }],
  });
  assertEquals(check("gitfaas", env), reads("secretKeyRef"));
  assertEquals(
    check("gitfaas", container({ envFrom: [{ secretRef: { name: "gitfaas-secrets" } }] })),
    reads("secretRef"),
  );
  const volume = { name: "v", secret: { secretName: "gitfaas-secrets" } };
  assertEquals(check("gitfaas", { ...container({}), volumes: [volume] }), reads("secret"));
  const projected = {
    name: "v",
    projected: { sources: [{ secret: { name: "gitfaas-secrets" } }] },
  };
  assertEquals(check("gitfaas", { ...container({}), volumes: [projected] }), reads("secret"));
  // The same references in another namespace name that namespace's Secrets: allowed.
  assertEquals(check("jobs", env), undefined);
  // A pod in the router's namespace that reads no Secret: allowed.
  assertEquals(check("gitfaas", container({ args: ["hello"] })), undefined);
});
