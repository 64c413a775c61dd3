/**
 * In-memory object storage and the semantics of each verb (create, get, list,
 * update, patch, apply, delete), independent of HTTP.
 *
 * Storage is `storageKey -> namespace -> name -> object` so every single-object
 * operation is O(1); lists sort at read time like etcd's key order.
 *
 * @module
 */

import { parse as parseYaml } from "yaml";
import { applyDefaults } from "./defaults.ts";
import {
  nowTime,
  type OwnershipContext,
  recordUpdate,
  type Scope,
  serverSideApply,
} from "./fields.ts";
import { deepEqual, isObject, type JsonObject, jsonPatch, mergePatch } from "./patch.ts";
import type { ResourceDef, ResourceRegistry } from "./resources.ts";
import type { Matcher } from "./selectors.ts";
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  notFound,
  type QualifiedNames,
  unsupportedPatch,
} from "./status.ts";
import { validateObject } from "./validation.ts";

/** A change, as delivered to watchers. */
export interface Change {
  /** Watch event type. */
  type: "ADDED" | "MODIFIED" | "DELETED";
  /** Resource the object belongs to. */
  def: ResourceDef;
  /** The object after the change (before it, for deletions). */
  object: JsonObject;
}

/** Per-request options of a write. */
export interface WriteContext {
  /** Validate and answer, but store nothing. */
  dryRun: boolean;
  /** `fieldManager` query parameter, or the manager derived from the User-Agent. */
  manager: string;
  /** `force=true` on apply: take over conflicting fields. */
  force?: boolean;
}

/** A page of a list. */
export interface ListOptions {
  /** Label/field selector filter. */
  match?: Matcher;
  /** Page size (0 or absent: everything). */
  limit?: number;
  /** `continue` token of the previous page. */
  continueToken?: string | null;
}

const generateAlphabet = "bcdfghjklmnpqrstvwxz2456789";
const patchTypes = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/apply-patch+yaml",
  "application/strategic-merge-patch+json",
];
/** Resources whose DELETE answers with the object rather than a Status. */
const returnsDeletedObject = new Set([
  "/pods",
  "/namespaces",
  "/services",
  "apiextensions.k8s.io/customresourcedefinitions",
]);

const names = (def: ResourceDef): QualifiedNames => ({
  group: def.group,
  plural: def.plural,
  kind: def.kind,
});

/** Keys of `metadata` that the server owns. */
const systemMetadata = [
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "managedFields",
];

function randomSuffix(): string {
  let out = "";
  for (let i = 0; i < 5; i++) {
    out += generateAlphabet[Math.floor(Math.random() * generateAlphabet.length)];
  }
  return out;
}

/** Fields that do not count towards `metadata.generation`. */
function specPart(obj: JsonObject): JsonObject {
  const { metadata: _m, status: _s, ...rest } = obj;
  return rest;
}

/** Object storage plus verb semantics. */
export class ObjectStore {
  #registry: ResourceRegistry;
  #data = new Map<string, Map<string, Map<string, JsonObject>>>();
  #rv = 0;
  #listeners = new Set<(change: Change) => void>();

  /**
   * Creates an empty store.
   *
   * @param registry Resolves kinds; CRD writes register and unregister resources in it.
   */
  constructor(registry: ResourceRegistry) {
    this.#registry = registry;
  }

  /** The latest resourceVersion handed out. */
  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Subscribes to committed changes; returns the unsubscribe function. */
  subscribe(listener: (change: Change) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #bucket(def: ResourceDef, ns: string, create: boolean): Map<string, JsonObject> | undefined {
    let byNs = this.#data.get(def.storageKey);
    if (!byNs) {
      if (!create) return undefined;
      this.#data.set(def.storageKey, byNs = new Map());
    }
    let bucket = byNs.get(ns);
    if (!bucket && create) byNs.set(ns, bucket = new Map());
    return bucket;
  }

  #nsKey(def: ResourceDef, ns: string | undefined): string {
    return def.namespaced ? ns ?? "" : "";
  }

  /** The stored object, or undefined. Never mutate the result. */
  find(def: ResourceDef, ns: string | undefined, name: string): JsonObject | undefined {
    return this.#bucket(def, this.#nsKey(def, ns), false)?.get(name);
  }

  /** Whether a namespace exists. */
  namespaceExists(ns: string): boolean {
    return this.#data.get("/namespaces")?.get("")?.has(ns) ?? false;
  }

  /** Every stored object (never mutate them). */
  *objects(): Generator<JsonObject> {
    for (const byNs of this.#data.values()) {
      for (const bucket of byNs.values()) yield* bucket.values();
    }
  }

  /** The object as served by `def` (custom resources may be read through another version). */
  present(def: ResourceDef, obj: JsonObject): JsonObject {
    return obj.apiVersion === def.apiVersion ? obj : { ...obj, apiVersion: def.apiVersion };
  }

  #emit(type: Change["type"], def: ResourceDef, object: JsonObject): void {
    for (const listener of this.#listeners) listener({ type, def, object });
  }

  #commit(def: ResourceDef, obj: JsonObject, type: "ADDED" | "MODIFIED"): JsonObject {
    obj.metadata.resourceVersion = String(++this.#rv);
    this.#bucket(def, this.#nsKey(def, obj.metadata.namespace), true)!.set(obj.metadata.name, obj);
    if (def.storageKey === "apiextensions.k8s.io/customresourcedefinitions") {
      this.#registry.registerCrd(obj);
    }
    this.#emit(type, def, obj);
    return obj;
  }

  /** GET one object; throws 404. */
  get(def: ResourceDef, ns: string | undefined, name: string): JsonObject {
    const obj = this.find(def, ns, name);
    if (!obj) throw notFound(names(def), name);
    return this.present(def, obj);
  }

  /** LIST, optionally across namespaces (`ns` undefined), in key order. */
  list(def: ResourceDef, ns: string | undefined, options: ListOptions = {}): JsonObject {
    const byNs = this.#data.get(def.storageKey);
    let keyed: [string, JsonObject][] = [];
    if (byNs) {
      const buckets = def.namespaced && ns !== undefined
        ? [[ns, byNs.get(ns)] as const]
        : [...byNs.entries()];
      for (const [space, bucket] of buckets) {
        if (!bucket) continue;
        for (const [name, obj] of bucket) {
          if (!options.match || options.match(obj)) keyed.push([`${space}/${name}`, obj]);
        }
      }
    }
    keyed.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    const metadata: JsonObject = { resourceVersion: this.resourceVersion };
    if (options.continueToken) {
      let after: string;
      try {
        after = JSON.parse(atob(options.continueToken)).after;
      } catch {
        throw badRequest("continue key is not valid: illegal base64 data at input byte 0");
      }
      keyed = keyed.filter(([key]) => key > after);
    }
    if (options.limit && options.limit > 0 && keyed.length > options.limit) {
      const remaining = keyed.length - options.limit;
      keyed = keyed.slice(0, options.limit);
      metadata.continue = btoa(JSON.stringify({ after: keyed[keyed.length - 1][0] }));
      metadata.remainingItemCount = remaining;
    }
    const items = keyed.map(([, obj]) => {
      if (def.custom) return this.present(def, obj);
      // Typed lists in the real apiserver carry no per-item apiVersion/kind.
      const { apiVersion: _a, kind: _k, ...rest } = obj;
      return rest;
    });
    return { kind: def.listKind, apiVersion: def.apiVersion, metadata, items };
  }

  /** Checks apiVersion/kind in a body against the endpoint, filling them in when absent. */
  #checkType(def: ResourceDef, body: unknown, required: boolean): JsonObject {
    if (!isObject(body)) {
      throw badRequest(
        `the object provided is unrecognized (must be of type ${def.kind}): ${
          JSON.stringify(body)?.slice(0, 30)
        }`,
      );
    }
    if (required && (!body.apiVersion || !body.kind)) {
      throw badRequest(`invalid object type: ${body.apiVersion ?? ""}, Kind=${body.kind ?? ""}`);
    }
    if (body.kind !== undefined && body.kind !== def.kind) {
      const version = String(body.apiVersion ?? "").split("/").pop();
      throw badRequest(
        `${body.kind} in version "${version}" cannot be handled as a ${def.kind}: the kind in the data does not match the endpoint`,
      );
    }
    if (body.apiVersion !== undefined) {
      const sameGroup = String(body.apiVersion).includes("/")
        ? String(body.apiVersion).split("/")[0] === def.group
        : def.group === "";
      const served = this.#registry.byKind(String(body.apiVersion), def.kind);
      if (!sameGroup || !served) {
        throw badRequest(
          `the API version in the data (${body.apiVersion}) does not match the expected API version (${def.apiVersion})`,
        );
      }
    }
    if (body.metadata !== undefined && !isObject(body.metadata)) {
      throw badRequest(
        `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: json: cannot unmarshal into Go struct field ${def.kind}.metadata of type v1.ObjectMeta`,
      );
    }
    return body;
  }

  #checkNamespace(def: ResourceDef, obj: JsonObject, ns: string | undefined): void {
    if (!def.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    if (obj.metadata.namespace && obj.metadata.namespace !== ns) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    obj.metadata.namespace = ns;
  }

  #requireNamespace(def: ResourceDef, ns: string | undefined): void {
    if (def.namespaced && !this.namespaceExists(ns!)) {
      throw notFound({ group: "", plural: "namespaces", kind: "Namespace" }, ns!);
    }
  }

  /** Metadata in the order the apiserver prints it, with server fields set. */
  #metadataFor(def: ResourceDef, meta: JsonObject, existing: JsonObject | undefined): JsonObject {
    const out: JsonObject = { name: meta.name };
    if (meta.generateName) out.generateName = meta.generateName;
    if (def.namespaced) out.namespace = meta.namespace;
    out.uid = existing?.metadata.uid ?? crypto.randomUUID();
    out.resourceVersion = existing?.metadata.resourceVersion;
    out.generation = existing?.metadata.generation ?? 1;
    out.creationTimestamp = existing?.metadata.creationTimestamp ?? nowTime();
    for (const [k, v] of Object.entries(meta)) {
      if (!(k in out) && !systemMetadata.includes(k)) out[k] = v;
    }
    if (out.resourceVersion === undefined) delete out.resourceVersion;
    return out;
  }

  #ownership(def: ResourceDef, ctx: WriteContext, scope: Scope): OwnershipContext {
    return { manager: ctx.manager, apiVersion: def.apiVersion, scope, hasStatus: def.hasStatus };
  }

  /** Builds a new object from a create body (shared by POST and apply-create). */
  #newObject(def: ResourceDef, ns: string | undefined, body: JsonObject): JsonObject {
    const meta: JsonObject = { ...body.metadata };
    const obj: JsonObject = { apiVersion: def.apiVersion, kind: def.kind, ...body, metadata: meta };
    obj.apiVersion = def.apiVersion;
    obj.kind = def.kind;
    this.#checkNamespace(def, obj, ns);
    if (!meta.name && meta.generateName) {
      let name = String(meta.generateName) + randomSuffix();
      // The apiserver retries generated names that collide.
      for (let i = 0; i < 7 && this.find(def, ns, name); i++) {
        name = String(meta.generateName) + randomSuffix();
      }
      meta.name = name;
    }
    obj.metadata = this.#metadataFor(def, meta, undefined);
    if (def.hasStatus) obj.status = {};
    applyDefaults(def, obj, undefined);
    return obj;
  }

  /** POST. */
  create(def: ResourceDef, ns: string | undefined, body: unknown, ctx: WriteContext): JsonObject {
    const checked = this.#checkType(def, body, false);
    if (checked.metadata?.resourceVersion) {
      throw new ApiError(
        500,
        "InternalError",
        "resourceVersion should not be set on objects to be created",
      );
    }
    const obj = this.#newObject(def, ns, checked);
    this.#requireNamespace(def, ns);
    validateObject(def, obj);
    if (this.find(def, ns, obj.metadata.name)) throw alreadyExists(names(def), obj.metadata.name);
    obj.metadata.managedFields = recordUpdate(undefined, obj, this.#ownership(def, ctx, "main"));
    if (obj.metadata.managedFields.length === 0) delete obj.metadata.managedFields;
    return ctx.dryRun ? obj : this.#commit(def, obj, "ADDED");
  }

  #existing(def: ResourceDef, ns: string | undefined, name: string): JsonObject {
    const existing = this.find(def, ns, name);
    if (!existing) throw notFound(names(def), name);
    return existing;
  }

  /**
   * The object that results from writing `body` over `existing` through the
   * main resource or the status subresource (which each ignore the other part).
   */
  #merged(def: ResourceDef, existing: JsonObject, body: JsonObject, scope: Scope): JsonObject {
    if (scope === "status") {
      return { ...existing, metadata: { ...existing.metadata }, status: body.status ?? {} };
    }
    const next: JsonObject = { apiVersion: def.apiVersion, kind: def.kind, ...body };
    next.apiVersion = existing.apiVersion;
    next.kind = def.kind;
    if (def.hasStatus) next.status = existing.status;
    return next;
  }

  /** Shared tail of update and non-apply patch: checks, ownership, generation, commit. */
  #write(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    existing: JsonObject,
    body: JsonObject,
    ctx: WriteContext,
    scope: Scope,
  ): JsonObject {
    const meta: JsonObject = isObject(body.metadata) ? { ...body.metadata } : {};
    if ((meta.name ?? "") !== name) {
      throw badRequest(
        `the name of the object (${meta.name ?? ""}) does not match the name on the URL (${name})`,
      );
    }
    const rv = meta.resourceVersion;
    if (rv !== undefined && rv !== "" && rv !== existing.metadata.resourceVersion) {
      throw conflict(names(def), name);
    }
    const next = this.#merged(def, existing, { ...body, metadata: meta }, scope);
    this.#checkNamespace(def, next, ns);
    next.metadata = this.#metadataFor(
      def,
      scope === "status" ? existing.metadata : next.metadata,
      existing,
    );
    applyDefaults(def, next, existing);
    validateObject(def, next);
    if (!deepEqual(specPart(existing), specPart(next))) {
      next.metadata.generation = existing.metadata.generation + 1;
    }
    next.metadata.managedFields = recordUpdate(existing, next, this.#ownership(def, ctx, scope));
    if (next.metadata.managedFields.length === 0) delete next.metadata.managedFields;
    // Like etcd3's GuaranteedUpdate, an identical object is not written again.
    if (deepEqual(existing, next)) return this.present(def, existing);
    return ctx.dryRun ? next : this.#commit(def, next, "MODIFIED");
  }

  /** PUT (main resource or `/status`). */
  update(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    body: unknown,
    ctx: WriteContext,
    scope: Scope = "main",
  ): JsonObject {
    const checked = this.#checkType(def, body, false);
    const existing = this.#existing(def, ns, name);
    return this.#write(def, ns, name, existing, checked, ctx, scope);
  }

  /**
   * PATCH with any supported content type. Returns the object and whether it
   * was created (server-side apply of an absent object answers 201).
   */
  patch(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    contentType: string,
    text: string,
    ctx: WriteContext,
    scope: Scope = "main",
  ): { object: JsonObject; created: boolean } {
    const accepted = def.custom ? patchTypes.filter((t) => !t.includes("strategic")) : patchTypes;
    if (!accepted.includes(contentType)) throw unsupportedPatch(accepted);
    if (contentType === "application/apply-patch+yaml") {
      return this.#apply(def, ns, name, text, ctx, scope);
    }
    let patch: unknown;
    try {
      patch = JSON.parse(text);
    } catch (error) {
      throw badRequest(`error decoding patch: ${(error as Error).message}`);
    }
    const existing = this.#existing(def, ns, name);
    const base = this.present(def, existing);
    const patched = contentType === "application/json-patch+json"
      ? jsonPatch(base, patch)
      : mergePatch(base, this.#checkMergePatch(patch));
    const body = this.#checkType(def, patched, false);
    // A patch that does not mention resourceVersion must not trip the precondition check.
    const rvInPatch = isObject(patch) ? (patch as JsonObject).metadata?.resourceVersion : undefined;
    const meta = { ...body.metadata };
    if (contentType !== "application/json-patch+json" && rvInPatch === undefined) {
      delete meta.resourceVersion;
    }
    if (
      contentType === "application/json-patch+json" &&
      meta.resourceVersion === existing.metadata.resourceVersion
    ) {
      delete meta.resourceVersion;
    }
    return {
      object: this.#write(def, ns, name, existing, { ...body, metadata: meta }, ctx, scope),
      created: false,
    };
  }

  #checkMergePatch(patch: unknown): unknown {
    if (!isObject(patch)) {
      throw badRequest(
        "json: cannot unmarshal array into Go value of type map[string]interface {}",
      );
    }
    return patch;
  }

  #apply(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    text: string,
    ctx: WriteContext,
    scope: Scope,
  ): { object: JsonObject; created: boolean } {
    let config: unknown;
    try {
      config = parseYaml(text);
    } catch (error) {
      throw badRequest(`error decoding YAML: ${(error as Error).message}`);
    }
    const body = this.#checkType(def, config, true);
    const meta: JsonObject = { ...body.metadata };
    if ((meta.name ?? name) !== name) {
      throw badRequest(
        `the name of the object (${meta.name}) does not match the name on the URL (${name})`,
      );
    }
    if (def.namespaced && meta.namespace && meta.namespace !== ns) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    const ownership = { ...this.#ownership(def, ctx, scope), force: ctx.force ?? false };
    const existing = this.find(def, ns, name);
    if (!existing) {
      if (scope === "status") throw notFound(names(def), name);
      const applied = serverSideApply(
        undefined,
        { ...body, metadata: { ...meta, name } },
        ownership,
      );
      const obj = this.#newObject(def, ns, {
        ...applied.object,
        metadata: { ...applied.object.metadata, name },
      });
      obj.metadata.managedFields = applied.object.metadata.managedFields;
      this.#requireNamespace(def, ns);
      validateObject(def, obj);
      return { object: ctx.dryRun ? obj : this.#commit(def, obj, "ADDED"), created: true };
    }
    const base = this.present(def, existing);
    const { object, changed } = serverSideApply(base, { ...body, metadata: meta }, ownership);
    if (!changed) return { object: base, created: false };
    object.apiVersion = existing.apiVersion;
    object.metadata = {
      ...this.#metadataFor(def, object.metadata, existing),
      managedFields: object.metadata.managedFields,
    };
    applyDefaults(def, object, existing);
    validateObject(def, object);
    if (!deepEqual(specPart(existing), specPart(object))) {
      object.metadata.generation = existing.metadata.generation + 1;
    }
    return { object: ctx.dryRun ? object : this.#commit(def, object, "MODIFIED"), created: false };
  }

  /** DELETE one object; answers the object or a success Status like the real registry. */
  delete(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    ctx: WriteContext,
    options?: unknown,
  ): JsonObject {
    const existing = this.#existing(def, ns, name);
    const pre = isObject(options) && isObject(options.preconditions) ? options.preconditions : {};
    if (pre.resourceVersion && pre.resourceVersion !== existing.metadata.resourceVersion) {
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${
          def.group ? `${def.plural}.${def.group}` : def.plural
        } "${name}": ` +
          `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${existing.metadata.resourceVersion}). The object might have been modified`,
        { name, group: def.group, kind: def.plural },
      );
    }
    if (pre.uid && pre.uid !== existing.metadata.uid) {
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${
          def.group ? `${def.plural}.${def.group}` : def.plural
        } "${name}": ` +
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid}`,
        { name, group: def.group, kind: def.plural },
      );
    }
    let answer = this.present(def, existing);
    if (def.storageKey === "/namespaces") {
      answer = {
        ...answer,
        metadata: { ...answer.metadata, deletionTimestamp: nowTime() },
        status: { phase: "Terminating" },
      };
    }
    if (!ctx.dryRun) this.#remove(def, existing);
    if (returnsDeletedObject.has(def.storageKey) || def.custom) return answer;
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: {
        name,
        ...(def.group ? { group: def.group } : {}),
        kind: def.plural,
        uid: existing.metadata.uid,
      },
    };
  }

  #remove(def: ResourceDef, obj: JsonObject): void {
    const ns = this.#nsKey(def, obj.metadata.namespace);
    this.#bucket(def, ns, false)?.delete(obj.metadata.name);
    const gone = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.#rv) } };
    this.#emit("DELETED", def, gone);
    if (def.storageKey === "/namespaces") {
      // The namespace controller would empty it; do that at once.
      for (const [key, byNs] of this.#data) {
        const bucket = byNs.get(obj.metadata.name);
        if (!bucket || key === "/namespaces") continue;
        for (const child of [...bucket.values()]) {
          const childDef = this.#registry.byKind(child.apiVersion, child.kind);
          if (childDef) this.#remove(childDef, child);
          else bucket.delete(child.metadata.name);
        }
      }
    }
    if (def.storageKey === "apiextensions.k8s.io/customresourcedefinitions") {
      const storageKey = this.#registry.unregisterCrd(obj.metadata.name);
      if (storageKey) this.#data.delete(storageKey);
    }
  }

  /** DELETE on a collection. */
  deleteCollection(
    def: ResourceDef,
    ns: string | undefined,
    ctx: WriteContext,
    match?: Matcher,
  ): JsonObject {
    const list = this.list(def, ns, { match });
    if (!ctx.dryRun) {
      for (const item of list.items) {
        const obj = this.find(def, item.metadata.namespace, item.metadata.name);
        if (obj) this.#remove(def, obj);
      }
    }
    return list;
  }

  /** Creates a namespace directly (test setup, no request). */
  addNamespace(name: string): void {
    const def = this.#registry.byPath("v1", "namespaces")!;
    if (this.find(def, undefined, name)) return;
    this.create(def, undefined, { metadata: { name } }, { dryRun: false, manager: "kube-sim" });
  }
}
