/**
 * The resource registry behind discovery: built-in kinds plus the kinds that
 * CustomResourceDefinitions add while the simulator runs.
 *
 * @module
 */

import type { JsonObject } from "./patch.ts";

/** One served resource (one version of it). */
export interface ResourceDef {
  /** API group, `""` for the core group. */
  group: string;
  /** API version within the group, e.g. `v1`. */
  version: string;
  /** `v1` or `batch/v1`. */
  apiVersion: string;
  /** Plural name used in URLs. */
  plural: string;
  /** Singular name (lowercase kind). */
  singular: string;
  /** Kind, e.g. `Job`. */
  kind: string;
  /** Kind of lists, e.g. `JobList`. */
  listKind: string;
  /** Namespaced (true) or cluster-scoped. */
  namespaced: boolean;
  /** kubectl short names. */
  shortNames: string[];
  /** Categories such as `all`. */
  categories: string[];
  /** Has a `/status` subresource, so main-resource writes leave `.status` alone. */
  hasStatus: boolean;
  /** Served from a CustomResourceDefinition (unstructured: list items keep apiVersion/kind). */
  custom: boolean;
  /** Storage is shared by every version of a resource: `group/plural`. */
  storageKey: string;
}

const allVerbs = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];

interface BuiltIn {
  apiVersion: string;
  plural: string;
  kind: string;
  namespaced?: boolean;
  shortNames?: string[];
  status?: boolean;
  all?: boolean;
}

const builtIns: BuiltIn[] = [
  { apiVersion: "v1", plural: "configmaps", kind: "ConfigMap", shortNames: ["cm"] },
  { apiVersion: "v1", plural: "events", kind: "Event", shortNames: ["ev"] },
  {
    apiVersion: "v1",
    plural: "namespaces",
    kind: "Namespace",
    namespaced: false,
    shortNames: ["ns"],
    status: true,
  },
  {
    apiVersion: "v1",
    plural: "persistentvolumeclaims",
    kind: "PersistentVolumeClaim",
    shortNames: ["pvc"],
    status: true,
  },
  {
    apiVersion: "v1",
    plural: "persistentvolumes",
    kind: "PersistentVolume",
    namespaced: false,
    shortNames: ["pv"],
    status: true,
  },
  { apiVersion: "v1", plural: "pods", kind: "Pod", shortNames: ["po"], status: true, all: true },
  { apiVersion: "v1", plural: "secrets", kind: "Secret" },
  { apiVersion: "v1", plural: "serviceaccounts", kind: "ServiceAccount", shortNames: ["sa"] },
  {
    apiVersion: "v1",
    plural: "services",
    kind: "Service",
    shortNames: ["svc"],
    status: true,
    all: true,
  },
  {
    apiVersion: "apps/v1",
    plural: "daemonsets",
    kind: "DaemonSet",
    shortNames: ["ds"],
    status: true,
    all: true,
  },
  {
    apiVersion: "apps/v1",
    plural: "deployments",
    kind: "Deployment",
    shortNames: ["deploy"],
    status: true,
    all: true,
  },
  {
    apiVersion: "apps/v1",
    plural: "replicasets",
    kind: "ReplicaSet",
    shortNames: ["rs"],
    status: true,
    all: true,
  },
  {
    apiVersion: "apps/v1",
    plural: "statefulsets",
    kind: "StatefulSet",
    shortNames: ["sts"],
    status: true,
    all: true,
  },
  {
    apiVersion: "batch/v1",
    plural: "cronjobs",
    kind: "CronJob",
    shortNames: ["cj"],
    status: true,
    all: true,
  },
  { apiVersion: "batch/v1", plural: "jobs", kind: "Job", status: true, all: true },
  { apiVersion: "coordination.k8s.io/v1", plural: "leases", kind: "Lease" },
  {
    apiVersion: "policy/v1",
    plural: "poddisruptionbudgets",
    kind: "PodDisruptionBudget",
    shortNames: ["pdb"],
    status: true,
  },
  {
    apiVersion: "networking.k8s.io/v1",
    plural: "ingresses",
    kind: "Ingress",
    shortNames: ["ing"],
    status: true,
  },
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    plural: "clusterrolebindings",
    kind: "ClusterRoleBinding",
    namespaced: false,
  },
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    plural: "clusterroles",
    kind: "ClusterRole",
    namespaced: false,
  },
  { apiVersion: "rbac.authorization.k8s.io/v1", plural: "rolebindings", kind: "RoleBinding" },
  { apiVersion: "rbac.authorization.k8s.io/v1", plural: "roles", kind: "Role" },
  {
    apiVersion: "apiextensions.k8s.io/v1",
    plural: "customresourcedefinitions",
    kind: "CustomResourceDefinition",
    namespaced: false,
    shortNames: ["crd", "crds"],
    status: true,
  },
];

function splitApiVersion(apiVersion: string): [string, string] {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? ["", apiVersion] : [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
}

function fromBuiltIn(b: BuiltIn): ResourceDef {
  const [group, version] = splitApiVersion(b.apiVersion);
  return {
    group,
    version,
    apiVersion: b.apiVersion,
    plural: b.plural,
    singular: b.kind.toLowerCase(),
    kind: b.kind,
    listKind: `${b.kind}List`,
    namespaced: b.namespaced ?? true,
    shortNames: b.shortNames ?? [],
    categories: b.all ? ["all"] : [],
    hasStatus: b.status ?? false,
    custom: false,
    storageKey: `${group}/${b.plural}`,
  };
}

/** Built-in and custom resources, indexed for O(1) routing. */
export class ResourceRegistry {
  #byPath = new Map<string, ResourceDef>();
  #byKind = new Map<string, ResourceDef>();
  #crdResources = new Map<string, ResourceDef[]>();
  /** Bumped on every change so cached OpenAPI documents get a new hash. */
  revision = 1;

  constructor() {
    for (const b of builtIns) this.#add(fromBuiltIn(b));
  }

  #add(def: ResourceDef): void {
    this.#byPath.set(`${def.apiVersion}/${def.plural}`, def);
    this.#byKind.set(`${def.apiVersion}/${def.kind}`, def);
  }

  /** The resource served at `/apis/<apiVersion>/<plural>`. */
  byPath(apiVersion: string, plural: string): ResourceDef | undefined {
    return this.#byPath.get(`${apiVersion}/${plural}`);
  }

  /** The resource of a kind in an API version. */
  byKind(apiVersion: string, kind: string): ResourceDef | undefined {
    return this.#byKind.get(`${apiVersion}/${kind}`);
  }

  /** Every served resource. */
  all(): ResourceDef[] {
    return [...this.#byPath.values()];
  }

  /** Served group versions, in discovery order (core first). */
  groupVersions(): string[] {
    return [...new Set(this.all().map((d) => d.apiVersion))];
  }

  /** Serves (or re-serves, after an update) the kinds a CustomResourceDefinition declares. */
  registerCrd(crd: JsonObject): void {
    this.unregisterCrd(crd.metadata.name);
    const spec = crd.spec ?? {};
    const names = spec.names ?? {};
    const defs: ResourceDef[] = [];
    for (const v of spec.versions ?? []) {
      if (v?.served === false || typeof v?.name !== "string") continue;
      const def: ResourceDef = {
        group: spec.group,
        version: v.name,
        apiVersion: `${spec.group}/${v.name}`,
        plural: names.plural,
        singular: names.singular ?? names.kind.toLowerCase(),
        kind: names.kind,
        listKind: names.listKind ?? `${names.kind}List`,
        namespaced: spec.scope !== "Cluster",
        shortNames: names.shortNames ?? [],
        categories: names.categories ?? [],
        hasStatus: v.subresources?.status !== undefined,
        custom: true,
        storageKey: `${spec.group}/${names.plural}`,
      };
      if (this.#byPath.has(`${def.apiVersion}/${def.plural}`)) continue;
      defs.push(def);
      this.#add(def);
    }
    this.#crdResources.set(crd.metadata.name, defs);
    this.revision++;
  }

  /** Stops serving a CRD's kinds; returns the storage key they used, if any. */
  unregisterCrd(name: string): string | undefined {
    const defs = this.#crdResources.get(name);
    if (!defs) return undefined;
    for (const d of defs) {
      this.#byPath.delete(`${d.apiVersion}/${d.plural}`);
      this.#byKind.delete(`${d.apiVersion}/${d.kind}`);
    }
    this.#crdResources.delete(name);
    this.revision++;
    return defs[0]?.storageKey;
  }

  /** `GET /api`. */
  apiVersions(serverAddress: string): JsonObject {
    return {
      kind: "APIVersions",
      versions: ["v1"],
      serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
    };
  }

  #groups(): Map<string, string[]> {
    const groups = new Map<string, string[]>();
    for (const d of this.all()) {
      if (d.group === "") continue;
      const versions = groups.get(d.group) ?? [];
      if (!versions.includes(d.version)) versions.push(d.version);
      groups.set(d.group, versions);
    }
    return groups;
  }

  /** `GET /apis/<group>`, or undefined when the group is not served. */
  apiGroup(name: string): JsonObject | undefined {
    const versions = this.#groups().get(name);
    if (!versions) return undefined;
    return { kind: "APIGroup", apiVersion: "v1", ...groupBody(name, versions) };
  }

  /** `GET /apis`. */
  apiGroupList(): JsonObject {
    const groups = [...this.#groups()].map(([name, versions]) => groupBody(name, versions));
    return { kind: "APIGroupList", apiVersion: "v1", groups };
  }

  /** `GET /api/v1` or `/apis/<group>/<version>`, or undefined when not served. */
  apiResourceList(apiVersion: string): JsonObject | undefined {
    const defs = this.all().filter((d) => d.apiVersion === apiVersion);
    if (defs.length === 0) return undefined;
    const resources: JsonObject[] = [];
    for (const d of defs) {
      const r: JsonObject = {
        name: d.plural,
        singularName: d.singular,
        namespaced: d.namespaced,
        kind: d.kind,
        verbs: d.plural === "namespaces"
          ? allVerbs.filter((v) => v !== "deletecollection")
          : allVerbs,
      };
      if (d.shortNames.length) r.shortNames = d.shortNames;
      if (d.categories.length) r.categories = d.categories;
      resources.push(r);
      if (d.hasStatus) {
        resources.push({
          name: `${d.plural}/status`,
          singularName: "",
          namespaced: d.namespaced,
          kind: d.kind,
          verbs: ["get", "patch", "update"],
        });
      }
    }
    return { kind: "APIResourceList", apiVersion: "v1", groupVersion: apiVersion, resources };
  }

  /**
   * `GET /openapi/v3`: one entry per group version. kubectl only needs these
   * documents to learn that PATCH accepts `fieldValidation` (see openApiV3).
   */
  openApiV3Root(): JsonObject {
    const paths: JsonObject = {};
    for (const gv of this.groupVersions()) {
      const key = gv.includes("/") ? `apis/${gv}` : `api/${gv}`;
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${this.revision.toString(16)}` };
    }
    return { paths };
  }

  /**
   * `GET /openapi/v3/apis/<group>/<version>`: a skeleton without schemas.
   *
   * kubectl `create`/`apply` default to `--validate=strict`, which asks the
   * OpenAPI v3 document whether the server validates fields itself (a PATCH
   * operation tagged with the kind's GVK and a `fieldValidation` query
   * parameter). When it does, kubectl skips client-side schema validation and
   * sends `fieldValidation=Strict`; without these documents kubectl fails with
   * "failed to download openapi" unless run with `--validate=false`.
   */
  openApiV3(apiVersion: string): JsonObject | undefined {
    const defs = this.all().filter((d) => d.apiVersion === apiVersion);
    if (defs.length === 0) return undefined;
    const root = apiVersion.includes("/") ? "/apis" : "/api";
    const query = (name: string) => ({ name, in: "query", schema: { type: "string" } });
    const patchParams = ["dryRun", "fieldManager", "fieldValidation", "force"].map(query);
    const paths: JsonObject = {};
    for (const d of defs) {
      const ns = d.namespaced ? "/namespaces/{namespace}" : "";
      const gvk = { group: d.group, version: d.version, kind: d.kind };
      const opId = `patch${d.kind}`;
      paths[`${root}/${apiVersion}${ns}/${d.plural}/{name}`] = {
        parameters: [
          { name: "name", in: "path", required: true, schema: { type: "string" } },
          ...(d.namespaced
            ? [{ name: "namespace", in: "path", required: true, schema: { type: "string" } }]
            : []),
          query("pretty"),
        ],
        patch: {
          operationId: opId,
          parameters: patchParams,
          responses: { "200": { description: "OK" } },
          "x-kubernetes-action": "patch",
          "x-kubernetes-group-version-kind": gvk,
        },
      };
    }
    return {
      openapi: "3.0.0",
      info: { title: "Kubernetes", version: "v1.32.0" },
      paths,
      components: { schemas: {} },
    };
  }
}

function groupBody(name: string, versions: string[]): JsonObject {
  const list = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: list, preferredVersion: list[0] };
}
