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
